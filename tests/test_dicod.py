"""DICOD's algorithm with in-process workers (threads): no MPI needed.

The solutions are compared with the sequential solver and checked against the
optimality conditions, with events placed on the borders between workers.
"""
import warnings

import numpy as np
import pytest

import dicod
import dicod.worker as dicod_worker
from cdl import sparse_encode
from cdl._kernels.conv2d import correlate_2d, reconstruct_2d
from cdl.model.objective import compute_objective, correlate, lambda_max, reconstruct
from dicod import Segmentation, WorkerError

TIGHT = 1e-9


def signal_with_border_events(n_workers_list, n_channels=3, n_times=1200,
                              n_atoms=3, n_times_atom=16, seed=0):
    """1-D signal whose events straddle the borders of every segmentation."""
    rng = np.random.RandomState(seed)
    u = rng.randn(n_atoms, n_channels)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    t = np.linspace(0, 1, n_times_atom)
    v = np.array([np.sin(np.pi * (k + 1) * t) * np.hanning(n_times_atom)
                  for k in range(n_atoms)])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    uv = np.hstack([u, v])
    n_valid = n_times - n_times_atom + 1
    z = np.zeros((1, n_atoms, n_valid))
    for n_workers in n_workers_list:
        seg = Segmentation((n_valid,), (n_times_atom,), (n_workers,))
        for border in seg.bounds[1][1:-1]:
            for offset in (-n_times_atom + 2, -3, 0, 1, n_times_atom // 2):
                z[0, rng.randint(n_atoms), border + offset] = 1 + rng.rand()
    z[0][:, rng.choice(n_valid, 10)] += rng.rand(n_atoms, 10)
    X = reconstruct(z, uv, n_channels) + 0.05 * rng.randn(1, n_channels, n_times)
    return X, uv


def check_optimality_1d(X, uv, z, reg, positive=True, atol=1e-7):
    residual = X[0] - reconstruct(z, uv, X.shape[1])[0]
    corr = correlate(residual, uv)
    if positive:
        assert np.all(z >= 0)
        assert corr.max() <= reg + atol
        np.testing.assert_allclose(corr[z[0] > 0], reg, atol=atol)
    else:
        assert np.abs(corr).max() <= reg + atol
        nz = z[0] != 0
        np.testing.assert_allclose(corr[nz], reg * np.sign(z[0][nz]), atol=atol)


@pytest.fixture(scope="module")
def problem_1d():
    X, uv = signal_with_border_events([2, 3, 4])
    reg = 0.1 * lambda_max(X, uv)
    z_seq = sparse_encode(X, uv, reg, tol=TIGHT, max_iter=100000)
    return X, uv, reg, compute_objective(X, z_seq, uv, reg)


# Without soft locks, two workers may keep undoing each other's updates at a
# border (DICOD's interference, which soft locks prevent): at this tight tol
# about 1 run in 15 with 4 workers ends on max_iter. So 'none' is tested with
# one border only.
@pytest.mark.parametrize("n_workers, soft_lock", [
    (1, "border"), (2, "border"), (4, "border"), (2, "none")])
def test_1d_same_solution_as_sequential(problem_1d, n_workers, soft_lock):
    X, uv, reg, obj_seq = problem_1d
    z, info = dicod.dicod(X, uv, reg, n_workers=n_workers, tol=TIGHT,
                          soft_lock=soft_lock, backend="local", return_info=True)
    assert z.shape == (1, 3, X.shape[2] - 15)
    obj = compute_objective(X, z, uv, reg)
    assert abs(obj - obj_seq) / obj_seq < 1e-6
    assert abs(info["objective"] - obj) / obj < 1e-10  # workers' partial costs
    assert info["converged"] and len(info["n_updates"]) == n_workers
    if n_workers > 1:
        assert sum(info["n_messages"]) > 0  # events on the borders
    check_optimality_1d(X, uv, z, reg)


def test_1d_options_trials_warm_start_and_sign(problem_1d):
    X, uv, reg, _ = problem_1d
    X2 = np.concatenate([X, X[:, :, ::-1]])
    z_seq = sparse_encode(X2, uv, reg, tol=TIGHT, max_iter=100000)
    z = dicod.dicod(X2, uv, reg, n_workers=3, tol=TIGHT, backend="local")
    obj_seq = compute_objective(X2, z_seq, uv, reg)
    assert abs(compute_objective(X2, z, uv, reg) - obj_seq) / obj_seq < 1e-6
    # Warm start at the solution: (almost) nothing left to do.
    _, info = dicod.dicod(X2, uv, reg, n_workers=3, tol=1e-3, backend="local",
                          z0=z, return_info=True)
    assert sum(info["n_updates"]) < 10
    # Signed activations, full-rank atoms.
    D = uv[:, :3, None] * uv[:, None, 3:]
    z = dicod.dicod(X[0], D, reg, n_workers=2, tol=TIGHT, positive=False,
                    backend="local")
    check_optimality_1d(X, D, z, reg, positive=False)


def test_random_strategy():
    X, uv = signal_with_border_events([2], n_times=300, n_atoms=2,
                                      n_times_atom=8)
    reg = 0.1 * lambda_max(X, uv)
    z_seq = sparse_encode(X, uv, reg, tol=TIGHT, max_iter=100000)
    z, info = dicod.dicod(X, uv, reg, n_workers=2, tol=1e-2, backend="local",
                          strategy="random", random_state=0, return_info=True)
    assert info["converged"]
    obj_seq = compute_objective(X, z_seq, uv, reg)
    assert abs(compute_objective(X, z, uv, reg) - obj_seq) / obj_seq < 1e-3


def image_with_border_events(grid, n_channels=2, shape=(48, 54), atom=(5, 4),
                             n_atoms=2, seed=0):
    rng = np.random.RandomState(seed)
    D = rng.randn(n_atoms, n_channels, *atom)
    D /= np.linalg.norm(D.reshape(n_atoms, -1), axis=1)[:, None, None, None]
    valid = (shape[0] - atom[0] + 1, shape[1] - atom[1] + 1)
    z = np.zeros((n_atoms,) + valid)
    seg = Segmentation(valid, atom, grid)
    for bh in seg.bounds[0][1:-1] or [valid[0] // 2]:
        for bw in seg.bounds[1][1:-1] or [valid[1] // 2]:
            for dh, dw in [(0, 0), (-1, -2), (-3, 1), (2, -1)]:
                z[rng.randint(n_atoms), bh + dh, bw + dw] = 1 + rng.rand()
    mask = rng.rand(*z.shape) < 0.01
    z[mask] += rng.rand(mask.sum())
    X = reconstruct_2d(z, D) + 0.05 * rng.randn(n_channels, *shape)
    return X, D


def check_optimality_2d(X, D, z, reg, atol=1e-7):
    corr = correlate_2d(X - reconstruct_2d(z, D), D)
    assert corr.max() <= reg + atol
    np.testing.assert_allclose(corr[z > 0], reg, atol=atol)


@pytest.mark.parametrize("n_workers", [1, 2, 4])
@pytest.mark.parametrize("soft_lock", ["border", "corner"])
def test_2d_same_solution_on_a_grid(n_workers, soft_lock):
    X, D = image_with_border_events((2, 2))
    reg = 0.2 * np.abs(correlate_2d(X, D)).max()
    z1 = dicod.dicod(X, D, reg, n_workers=1, tol=TIGHT, backend="local")
    z, info = dicod.dicod(X, D, reg, n_workers=n_workers, tol=TIGHT,
                          soft_lock=soft_lock, backend="local", return_info=True)
    assert z.shape == (2, 44, 51)

    def objective(zz):
        residual = X - reconstruct_2d(zz, D)
        return 0.5 * np.sum(residual ** 2) + reg * zz.sum()
    assert abs(objective(z) - objective(z1)) / objective(z1) < 1e-6
    assert abs(info["objective"] - objective(z)) / objective(z) < 1e-10
    check_optimality_2d(X, D, z, reg)


def test_timeout_and_max_iter_stop_with_a_warning(problem_1d):
    X, uv, reg, _ = problem_1d
    with pytest.warns(RuntimeWarning, match="max_iter"):
        _, info = dicod.dicod(X, uv, reg, n_workers=2, tol=1e-12, max_iter=2,
                              backend="local", return_info=True)
    assert info["reason"] == "max_iter" and not info["converged"]
    with pytest.warns(RuntimeWarning, match="timeout"):
        dicod.dicod(X, uv, reg * 1e-3, n_workers=2, tol=0., timeout=0.,
                    backend="local")


def test_bad_inputs(problem_1d):
    X, uv, reg, _ = problem_1d
    with pytest.raises(ValueError, match="n_workers must be >= 1"):
        dicod.dicod(X, uv, reg, n_workers=0, backend="local")
    with pytest.raises(ValueError, match="shorter than 2 atom lengths"):
        dicod.dicod(X, uv, reg, n_workers=40, backend="local")
    with pytest.raises(ValueError, match="2-D atoms"):
        dicod.dicod(X[0], np.ones((2, 3, 4, 4)), reg, backend="local")
    with pytest.raises(ValueError, match="images"):
        dicod.dicod(np.ones((1, 3, 20, 20)), uv, reg, backend="local")
    with pytest.raises(ValueError, match="z0 must have shape"):
        dicod.dicod(X, uv, reg, z0=np.zeros((1, 3, 5)), backend="local")
    with pytest.raises(ValueError, match="strategy"):
        dicod.dicod(X, uv, reg, strategy="best", backend="local")
    with pytest.raises(ValueError, match="backend"):
        dicod.dicod(X, uv, reg, backend="threads")
    with pytest.raises(TypeError, match="n_workers must be an integer"):
        dicod.dicod(X, uv, reg, n_workers=2.5, backend="local")


def test_g_and_cost_by_blocks_of_columns(problem_1d, monkeypatch):
    """Long signals and wide images: g and the cost by blocks of columns."""
    X, uv, reg, _ = problem_1d
    X2, D2 = image_with_border_events((2, 2))
    reg2 = 0.2 * np.abs(correlate_2d(X2, D2)).max()
    results = []
    for block_size in (2 ** 20, 1):  # one block, blocks of 8 atom widths
        monkeypatch.setattr(dicod_worker, "BLOCK_SIZE", block_size)
        results.append([dicod.dicod(*args, n_workers=n_workers, tol=TIGHT,
                                    backend="local", return_info=True)
                        for args, n_workers in (((X, uv, reg), 2),
                                                ((X2, D2, reg2), 1))])
    for (z, info), (z_b, info_b) in zip(*results):
        assert info_b["objective"] == pytest.approx(info["objective"], rel=1e-10)
        np.testing.assert_allclose(z_b, z, atol=1e-8)


def test_worker_error_is_raised(problem_1d, monkeypatch):
    X, uv, reg, _ = problem_1d
    monkeypatch.setenv("DICOD_FAULT", "1:solve:raise")
    with pytest.raises(WorkerError, match="fault injected in worker 1"):
        dicod.dicod(X, uv, reg, n_workers=2, backend="local")
    monkeypatch.setenv("DICOD_FAULT", "0:solve:hang")
    with warnings.catch_warnings():
        with pytest.raises(WorkerError, match="did not answer for 1 s"):
            dicod.dicod(X, uv, reg, n_workers=2, backend="local",
                        worker_timeout=1.)
    # A long computation (3 s) is not silence: the pulse thread speaks.
    monkeypatch.setenv("DICOD_FAULT", "1:get_z:slow")
    z = dicod.dicod(X, uv, reg, n_workers=2, backend="local", worker_timeout=1.)
    assert z.shape == (1, 3, 1185)
    monkeypatch.setenv("DICOD_FAULT", "nonsense")
    with pytest.raises(ValueError, match="DICOD_FAULT"):
        dicod.dicod(X, uv, reg, n_workers=2, backend="local")


def test_distributed_encoder_matches_local_encoder(problem_1d):
    """Every method of the encoder protocol gives LocalEncoder's values."""
    from cdl.learn.local_encoder import LocalEncoder
    from dicod.encoder import DistributedEncoder
    X, uv, reg, _ = problem_1d
    X2 = np.concatenate([X, 2 * X[:, :, ::-1]])
    kwargs = dict(tol=1e-9, max_iter=100000)
    local = LocalEncoder(X2, 3, 16, solver_kwargs=kwargs)
    dist = DistributedEncoder(X2, 3, 16, n_workers=3, solver_kwargs=kwargs,
                              backend="local")
    with local, dist:
        for enc in (local, dist):
            enc.set_D(uv)
            enc.set_reg(np.full(3, reg))
        np.testing.assert_allclose(dist.lambda_max(per_atom=True),
                                   local.lambda_max(per_atom=True))
        assert dist.get_cost() == pytest.approx(local.get_cost())
        info_l, info_d = local.compute_z(), dist.compute_z()
        assert info_d["objective"] == pytest.approx(info_l["objective"], rel=1e-6)
        z = local.get_z_hat()
        dist.set_z(z)  # same activations: exact comparisons from here
        np.testing.assert_allclose(dist.get_z_hat(), z)
        for trials in (None, [1]):
            for a, b in zip(dist.get_sufficient_statistics(trials),
                            local.get_sufficient_statistics(trials)):
                np.testing.assert_allclose(a, b, atol=1e-10)
            assert dist.get_l1(trials) == pytest.approx(local.get_l1(trials))
        assert dist.get_cost() == pytest.approx(local.get_cost())
        np.testing.assert_allclose(dist.residual_window(16),
                                   local.residual_window(16), atol=1e-12)
        dist.add_atom()
        assert dist.n_atoms == 4 and dist.get_z_hat().shape == (2, 4, 1185)
        assert dist.XtX == pytest.approx(local.XtX)


def test_image_packing_is_exact():
    """The data fit of the packed statistics is the one of the images."""
    from cdl._kernels.conv2d import accumulate_ztX_box, accumulate_ztz_box
    from cdl.model.objective import data_fit_from_stats
    from dicod._images import pack, pack_stats, unpack
    rng = np.random.RandomState(0)
    D = rng.randn(3, 2, 4, 5)
    X = rng.randn(2, 20, 22)
    z = rng.rand(3, 17, 18) * (rng.rand(3, 17, 18) < 0.2)
    ztz, ztX = np.zeros((3, 3, 7, 9)), np.zeros((3, 2, 4, 5))
    box = np.array([0, 17, 0, 18], dtype=np.int64)
    accumulate_ztz_box(z, box, ztz)
    accumulate_ztX_box(z, box, X, np.zeros(2, dtype=np.int64), ztX)
    fit = data_fit_from_stats(pack(D), *pack_stats(ztz, ztX), float(np.sum(X ** 2)),
                              2)
    assert fit == pytest.approx(0.5 * np.sum((X - reconstruct_2d(z, D)) ** 2))
    np.testing.assert_array_equal(unpack(pack(D), (4, 5)), D)


def test_dicodile_on_an_image():
    from dicod._images import init_image_atoms
    from dicod.dicodile import dicodile
    X, D = image_with_border_events((2, 2), n_channels=1, shape=(40, 44))
    D_init = init_image_atoms(X[None], 2, (5, 4), random_state=0)
    D_hat, z_hat, result = dicodile(X, D_init, reg=0.1, n_workers=4, n_iter=8,
                                    backend="local")
    assert D_hat.shape == D.shape and z_hat.shape == (1, 2, 36, 41)
    assert np.all(np.linalg.norm(D_hat.reshape(2, -1), axis=1) <= 1 + 1e-10)
    pobj = result["pobj"]
    assert pobj[-1] < pobj[0] and np.all(np.diff(pobj) <= 1e-8 * pobj[0])


def test_a_change_equal_to_tol_in_float32_ends_the_solve():
    """The kernel compares changes with tol in float32; the worker must too.

    The only candidate change is 0.1, and tol (absolute) is 0.1: in float32
    both are 0.1000000015 > 0.1, so the kernel makes no update, and a worker
    that measured what is left against the float64 tol kept sweeping until
    max_iter (found in a BatchCDL fit: one z-step took 48 s).
    """
    X = np.zeros((1, 1, 100))
    X[0, 0, 37] = 0.1
    uv = np.array([[1., 1.]])  # one channel, atoms of one sample
    tol = 0.1 / X.std()  # dicod's tol is relative to the signal's std
    z, info = dicod.dicod(X, uv, 0., n_workers=1, tol=tol, max_iter=1000,
                          backend="local", return_info=True)
    assert info["converged"] and info["n_sweeps"][0] < 10
    assert not z.any()
