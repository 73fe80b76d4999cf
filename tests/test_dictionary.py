"""d-step (rank-1 and full rank), projections and initial dictionaries."""
import numpy as np
import pytest

from cdl._kernels import dstep, stats
from cdl.dictionary import (
    full_rank,
    init_dictionary,
    prox_D,
    prox_uv,
    update_D,
    update_uv,
)
from cdl.dictionary.init import _lagged_covariance
from cdl.model import objective, shapes

CONSTRAINTS = ["separate", "joint"]


def _atom_norms(uv, n_channels, uv_constraint):
    u, v = shapes.split_uv(uv, n_channels)
    if uv_constraint == "joint":
        return [np.linalg.norm(uv, axis=1)]
    return [np.linalg.norm(u, axis=1), np.linalg.norm(v, axis=1)]


def _true_atoms(n_atoms, n_channels, n_times_atom, rng, scale=1.):
    """Unit spatial patterns and smooth, distinct, unit waveforms."""
    u = rng.randn(n_atoms, n_channels)
    t = np.linspace(0, 1, n_times_atom)
    v = np.array([np.sin(np.pi * (k + 1) * t + k) * np.hanning(n_times_atom)
                  for k in range(n_atoms)]) + 0.1 * rng.randn(n_atoms, n_times_atom)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.concatenate([u, scale * v], axis=1)


def _problem(n_atoms=3, n_channels=5, n_times_atom=12, n_times=300, seed=0,
             density=0.05, noise=0.3, uv_true=None):
    """Sufficient statistics of a random (or known-dictionary) problem."""
    rng = np.random.RandomState(seed)
    n_times_valid = n_times - n_times_atom + 1
    z = rng.rand(2, n_atoms, n_times_valid)
    z *= rng.rand(*z.shape) < density
    if uv_true is None:
        uv_true = _true_atoms(n_atoms, n_channels, n_times_atom, rng, scale=2.)
    X = objective.reconstruct(z, uv_true, n_channels)
    X += noise * rng.randn(*X.shape)
    ztz = objective.compute_ztz(z, n_times_atom)
    ztX = objective.compute_ztX(z, X)
    return X, z, ztz, ztX, float(np.sum(X ** 2))


def _windowed(uv, n_channels, window):
    if window is None:
        return uv
    u, v = shapes.split_uv(uv, n_channels)
    return np.concatenate([u, v * window], axis=1)


def _tukey(n_times_atom):
    from scipy.signal.windows import tukey
    return tukey(n_times_atom)


# ----------------------------------------------------------------- projections


@pytest.mark.parametrize("uv_constraint", CONSTRAINTS)
def test_prox_uv(uv_constraint):
    rng = np.random.RandomState(0)
    uv = 5 * rng.randn(6, 4 + 7)
    uv[0] *= 1e-3  # already feasible: unchanged
    out = prox_uv(uv, 4, uv_constraint)
    for norms in _atom_norms(out, 4, uv_constraint):
        assert np.all(norms <= 1 + 1e-12)
        assert np.allclose(norms[1:], 1)
    np.testing.assert_array_equal(out[0], uv[0])
    assert not np.shares_memory(out, uv)
    with pytest.raises(ValueError, match="uv_constraint"):
        prox_uv(uv, 4, "both")


def test_prox_D():
    D = np.random.RandomState(0).randn(4, 3, 5)
    D[1] *= 1e-3
    out = prox_D(D)
    norms = np.linalg.norm(out, axis=(1, 2))
    assert np.allclose(norms[[0, 2, 3]], 1) and np.all(norms <= 1 + 1e-12)
    np.testing.assert_array_equal(out[1], D[1])


def test_correlate_waveforms_matches_reference():
    rng = np.random.RandomState(0)
    ztz, v = rng.randn(4, 4, 2 * 9 - 1), rng.randn(4, 9)
    ztz[0, 1, 3] = 0.  # the kernel skips zero lags
    W = np.zeros((4, 4, 9))
    dstep.correlate_waveforms(ztz, v, W)
    np.testing.assert_allclose(W, stats.ztz_times_waveforms(ztz, v), atol=1e-12)
    lags = np.arange(9)[:, None] - np.arange(9)[None, :] + 8
    W_np = np.einsum("klji,li->klj", ztz[:, :, lags], v)
    np.testing.assert_allclose(W, W_np, atol=1e-12)


def test_v_hessian_matches_gradient_differences():
    # The v-phase is a quadratic: H delta = grad(v + delta) - grad(v) exactly.
    n_channels, n_times_atom = 5, 12
    X, z, ztz, ztX, XtX = _problem(seed=1)
    rng = np.random.RandomState(0)
    uv, delta = rng.randn(3, n_channels + n_times_atom), rng.randn(3, n_times_atom)
    window = _tukey(n_times_atom) + 0.1
    u = uv[:, :n_channels]

    def grad_v(uv):
        return objective.gradient_uv(_windowed(uv, n_channels, window), ztz, ztX,
                                     n_channels)[1] * window

    shifted = uv.copy()
    shifted[:, n_channels:] += delta
    W_delta, h_delta = np.empty((3, 3, n_times_atom)), np.empty_like(delta)
    dstep._hessian_v(ztz, u @ u.T, window, delta, W_delta, h_delta)
    np.testing.assert_allclose(h_delta, grad_v(shifted) - grad_v(uv), atol=1e-10)
    np.testing.assert_allclose(W_delta, stats.ztz_times_waveforms(ztz, delta * window),
                               atol=1e-12)


# ------------------------------------------------------------ rank-1 d-step


@pytest.mark.parametrize("use_window", [False, True])
@pytest.mark.parametrize("uv_constraint", CONSTRAINTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_update_uv_is_monotone_and_feasible(seed, uv_constraint, use_window):
    n_channels, n_times_atom = 5, 12
    X, z, ztz, ztX, XtX = _problem(seed=seed, n_atoms=3 + seed)
    window = _tukey(n_times_atom) if use_window else None
    rng = np.random.RandomState(seed + 10)
    uv0 = prox_uv(rng.randn(3 + seed, n_channels + n_times_atom), n_channels,
                  uv_constraint)

    def f(uv):
        return objective.data_fit_from_stats(_windowed(uv, n_channels, window),
                                             ztz, ztX, XtX, n_channels)

    values = [f(uv0)]
    for max_iter in [*range(1, 41), 100]:  # every iterate
        uv = update_uv(uv0, ztz, ztX, n_channels, uv_constraint=uv_constraint,
                       max_iter=max_iter, tol=0, window=window)
        for norms in _atom_norms(uv, n_channels, uv_constraint):
            assert np.all(norms <= 1 + 1e-12)
        values.append(f(uv))
    assert np.all(np.diff(values) <= 1e-10 * abs(values[0])), values
    assert values[-1] < values[0] - 1e-3 * abs(values[0])


@pytest.mark.parametrize("uv_constraint", CONSTRAINTS)
def test_update_uv_recovers_true_atoms(uv_constraint):
    n_atoms, n_channels, n_times_atom = 3, 6, 16
    rng = np.random.RandomState(3)
    uv_true = _true_atoms(n_atoms, n_channels, n_times_atom, rng)
    if uv_constraint == "joint":
        uv_true /= np.sqrt(2)
    X, z, ztz, ztX, XtX = _problem(n_atoms, n_channels, n_times_atom, n_times=600,
                                   noise=0., uv_true=uv_true, density=0.03)
    uv0 = prox_uv(uv_true + 0.3 * rng.randn(*uv_true.shape), n_channels,
                  uv_constraint)
    uv = update_uv(uv0, ztz, ztX, n_channels, uv_constraint=uv_constraint,
                   max_iter=1000, tol=1e-12)
    for D_hat, D_true, D_0 in zip(*(shapes.to_full_rank(a, n_channels)
                                    for a in (uv, uv_true, uv0))):
        corr = np.sum(D_hat * D_true) / np.linalg.norm(D_hat) / np.linalg.norm(D_true)
        corr0 = np.sum(D_0 * D_true) / np.linalg.norm(D_0) / np.linalg.norm(D_true)
        assert corr > 0.99 > corr0 - 0.01
    # 'joint' converges sublinearly here: the true atoms sit where the ball touches
    # the set ||u_k|| ||v_k|| = 1/2, a degenerate optimum for projected gradient.
    rtol = 1e-10 if uv_constraint == "separate" else 1e-7
    assert objective.data_fit_from_stats(uv, ztz, ztX, XtX, n_channels) < rtol * XtX


def _gradient_mapping(uv, grad, step, n_channels, uv_constraint):
    """``||uv - prox(uv - step * grad)|| / step``: zero at a stationary point."""
    return np.linalg.norm(uv - prox_uv(uv - step * grad, n_channels,
                                       uv_constraint)) / step


@pytest.mark.parametrize("use_window", [False, True])
@pytest.mark.parametrize("uv_constraint", CONSTRAINTS)
def test_update_uv_reaches_a_fixed_point(uv_constraint, use_window):
    n_channels, n_times_atom = 5, 12
    X, z, ztz, ztX, XtX = _problem(seed=4, n_atoms=4)
    window = _tukey(n_times_atom) if use_window else None
    w = np.ones(n_times_atom) if window is None else window
    uv0 = prox_uv(np.random.RandomState(0).randn(4, n_channels + n_times_atom),
                  n_channels, uv_constraint)
    step = 1. / np.abs(ztz).sum(axis=2).sum(axis=1).max()

    def mapping(uv):
        # Gradient from cdl.model.objective (not the d-step kernels), chain rule on v.
        grad_u, grad_v = objective.gradient_uv(_windowed(uv, n_channels, window),
                                               ztz, ztX, n_channels)
        grad = np.concatenate([grad_u, grad_v * w], axis=1)
        return _gradient_mapping(uv, grad, step, n_channels, uv_constraint)

    uv = update_uv(uv0, ztz, ztX, n_channels, uv_constraint=uv_constraint,
                   max_iter=3000, tol=1e-13, window=window)
    assert mapping(uv) <= 1e-6 * mapping(uv0)


def test_update_uv_validates_and_keeps_dtype():
    X, z, ztz, ztX, XtX = _problem()
    uv0 = prox_uv(np.random.RandomState(0).randn(3, 17), 5)
    with pytest.raises(ValueError, match="window"):
        update_uv(uv0, ztz, ztX, 5, window=np.ones(11))
    with pytest.raises(ValueError, match="uv_constraint"):
        update_uv(uv0, ztz, ztX, 5, uv_constraint="auto")
    with pytest.raises(ValueError, match="ztz"):
        update_uv(uv0[:2], ztz, ztX, 5)
    with pytest.raises(ValueError, match="update_D"):
        update_uv(shapes.to_full_rank(uv0, 5), ztz, ztX, 5)
    with pytest.raises(ValueError, match="update_uv"):
        update_D(uv0, ztz, ztX)
    out = update_uv(uv0.astype(np.float32), ztz, ztX, 5, max_iter=3)
    assert out.dtype == np.float32 and out.shape == uv0.shape
    # No activations: nothing to learn, the (projected) start comes back.
    zeros = update_uv(uv0, np.zeros_like(ztz), np.zeros_like(ztX), 5)
    np.testing.assert_allclose(zeros, uv0)


# --------------------------------------------------------- full-rank d-step


@pytest.mark.parametrize("use_window", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_update_D_is_monotone_and_feasible(seed, use_window):
    # Dense activations: plain FISTA increases the objective on these problems.
    n_channels, n_times_atom = 5, 12
    X, z, ztz, ztX, XtX = _problem(seed=seed, density=0.3)
    window = _tukey(n_times_atom) if use_window else None
    D0 = prox_D(np.random.RandomState(seed).randn(3, n_channels, n_times_atom))
    w = 1. if window is None else window

    def f(D):
        return objective.data_fit_from_stats(D * w, ztz, ztX, XtX, n_channels)

    values = [f(D0)]
    for max_iter in [*range(1, 41), 100]:  # every iterate
        D = update_D(D0, ztz, ztX, max_iter=max_iter, tol=0, window=window)
        assert np.all(np.linalg.norm(D, axis=(1, 2)) <= 1 + 1e-12)
        values.append(f(D))
    assert np.all(np.diff(values) <= 1e-10 * abs(values[0])), values
    assert values[-1] < values[0] - 1e-3 * abs(values[0])


def _dense_operator(ztz):
    """``ztz_times_atoms`` as a matrix on one channel (columns: unit atoms)."""
    n_atoms, n_times_atom = ztz.shape[0], (ztz.shape[2] + 1) // 2
    basis = np.eye(n_atoms * n_times_atom).reshape(-1, n_atoms, 1, n_times_atom)
    return np.stack([stats.ztz_times_atoms(ztz, e).ravel() for e in basis], axis=1)


def test_update_D_matches_projected_gradient_reference():
    n_channels = 5
    X, z, ztz, ztX, XtX = _problem(seed=5)
    lipschitz = np.linalg.eigvalsh(_dense_operator(ztz)).max()
    D0 = prox_D(np.random.RandomState(0).randn(3, n_channels, 12))
    D_ref = D0
    for _ in range(20000):
        D_ref = prox_D(D_ref - objective.gradient_D(D_ref, ztz, ztX) / lipschitz)
    D = update_D(D0, ztz, ztX, max_iter=2000, tol=1e-14)

    def f(D):
        return objective.data_fit_from_stats(D, ztz, ztX, XtX, n_channels)

    assert np.all(np.linalg.norm(D_ref, axis=(1, 2)) > 1 - 1e-9)  # constraint active
    assert abs(f(D) - f(D_ref)) <= 1e-6 * abs(f(D_ref))
    assert abs(f(D) - f(D_ref)) <= 1e-6 * (f(D0) - f(D_ref))
    grad = objective.gradient_D(D, ztz, ztX)
    assert np.linalg.norm(D - prox_D(D - grad / lipschitz)) < 1e-7


def test_full_rank_operator_dense_and_kernel_agree(monkeypatch):
    X, z, ztz, ztX, XtX = _problem(seed=2)
    window = _tukey(12) + 0.1
    D = np.random.RandomState(0).randn(3, 5, 12)
    expected = window * stats.ztz_times_atoms(ztz, D * window)
    np.testing.assert_allclose(full_rank._full_rank_operator(ztz, window)(D),
                               expected, atol=1e-12)
    monkeypatch.setattr(full_rank, "DENSE_OPERATOR_MAX", 0)
    np.testing.assert_allclose(full_rank._full_rank_operator(ztz, window)(D),
                               expected, atol=1e-12)
    D_hat = update_D(prox_D(D), ztz, ztX, max_iter=2000, tol=1e-14, window=window)
    grad = window * objective.gradient_D(D_hat * window, ztz, ztX)
    assert np.linalg.norm(D_hat - prox_D(D_hat - 1e-2 * grad)) < 1e-9


def test_update_D_recovers_true_atoms():
    n_atoms, n_channels, n_times_atom = 3, 6, 16
    rng = np.random.RandomState(3)
    uv_true = _true_atoms(n_atoms, n_channels, n_times_atom, rng)
    X, z, ztz, ztX, XtX = _problem(n_atoms, n_channels, n_times_atom, n_times=600,
                                   noise=0., uv_true=uv_true, density=0.03)
    D_true = shapes.to_full_rank(uv_true, n_channels)
    D = update_D(prox_D(D_true + 0.1 * rng.randn(*D_true.shape)), ztz, ztX,
                 max_iter=2000, tol=1e-12)
    corr = np.sum(D * D_true, axis=(1, 2)) / np.linalg.norm(D, axis=(1, 2))
    assert np.all(corr > 0.99)


# ---------------------------------------------------------- initialisations


def _signal(seed=0, n_trials=2, n_channels=5, n_times=120, flat=None):
    X = np.random.RandomState(seed).randn(n_trials, n_channels, n_times)
    if flat is not None:
        X[:, flat] = 0.
    return X


INITS = ["random", "chunk", "greedy", "ssa"]


@pytest.mark.parametrize("uv_constraint", CONSTRAINTS)
@pytest.mark.parametrize("rank1", [True, False])
@pytest.mark.parametrize("D_init", INITS)
def test_init_shape_constraint_flat_channel(D_init, rank1, uv_constraint):
    X = _signal(flat=2)
    D = init_dictionary(X, 4, 10, D_init=D_init, rank1=rank1,
                        uv_constraint=uv_constraint, random_state=0)
    assert np.all(np.isfinite(D))
    if rank1:
        assert D.shape == (4, 5 + 10)
        for norms in _atom_norms(D, 5, uv_constraint):
            np.testing.assert_allclose(norms, 1.)
        assert np.all(D[:, 2] == 0.)  # flat channel: zero weight in u
    else:
        assert D.shape == (4, 5, 10)
        np.testing.assert_allclose(np.linalg.norm(D, axis=(1, 2)), 1.)
        assert np.all(D[:, 2] == 0.)


@pytest.mark.parametrize("rank1", [True, False])
@pytest.mark.parametrize("D_init", INITS)
def test_init_reproducible_without_global_state(D_init, rank1):
    X = _signal()
    state = np.random.get_state()
    D1 = init_dictionary(X, 3, 10, D_init=D_init, rank1=rank1, random_state=42)
    D2 = init_dictionary(X, 3, 10, D_init=D_init, rank1=rank1,
                         random_state=np.random.RandomState(42))
    np.testing.assert_array_equal(D1, D2)
    assert all(np.array_equal(a, b) for a, b in zip(state, np.random.get_state()))
    if D_init in ("random", "chunk"):
        D3 = init_dictionary(X, 3, 10, D_init=D_init, rank1=rank1, random_state=7)
        assert not np.allclose(D1, D3)


def _all_windows(X, n_times_atom):
    n_trials, _, n_times = X.shape
    return np.array([X[n, :, t:t + n_times_atom] for n in range(n_trials)
                     for t in range(n_times - n_times_atom + 1)])


def _best_match(atom, windows):
    """Largest |cosine| between ``atom`` and each window (as flat vectors)."""
    flat = windows.reshape(len(windows), -1)
    cos = flat @ atom.ravel() / np.linalg.norm(flat, axis=1) / np.linalg.norm(atom)
    return np.abs(cos).max()


@pytest.mark.parametrize("rank1", [True, False])
def test_init_chunk_atoms_are_signal_windows(rank1):
    X = _signal(n_times=60)
    D = init_dictionary(X, 4, 10, D_init="chunk", rank1=rank1, random_state=0)
    windows = _all_windows(X, 10)
    if rank1:
        # Each atom is the best rank-1 approximation of one window.
        approx = []
        for W in windows:
            U, s, Vt = np.linalg.svd(W)
            approx.append(s[0] * np.outer(U[:, 0], Vt[0]))
        windows = np.array(approx)
        D = shapes.to_full_rank(D, 5)
    assert all(_best_match(D_k, windows) > 1 - 1e-10 for D_k in D)


def test_init_greedy_follows_the_largest_residual():
    X = 0.1 * _signal(n_trials=1, n_channels=3, n_times=50)
    X[0, :, 20:29] += np.sin(np.arange(9) * 1.3) * np.array([[1.], [2.], [-1.]])
    L = 6
    D = init_dictionary(X, 2, L, D_init="greedy", rank1=False)
    windows = _all_windows(X, L)
    energy = np.sum(windows ** 2, axis=(1, 2))
    t0 = np.argmax(energy)
    q = windows[t0] / np.linalg.norm(windows[t0])
    np.testing.assert_allclose(D[0], q, atol=1e-12)
    residual = energy - np.sum(windows * q, axis=(1, 2)) ** 2
    overlapping = slice(max(0, t0 - L + 1), t0 + L)
    assert overlapping.start <= np.argmax(residual) < overlapping.stop
    residual[overlapping] = -1  # overlapping windows are excluded
    t1 = np.argmax(residual)
    expected = windows[t1] - np.sum(windows[t1] * q) * q
    np.testing.assert_allclose(D[1], expected / np.linalg.norm(expected),
                               atol=1e-10)


def test_init_ssa_waveforms():
    X = _signal(n_times=200)
    uv = init_dictionary(X, 4, 10, D_init="ssa")
    v = uv[:, 5:]
    np.testing.assert_allclose(v @ v.T, np.eye(4), atol=1e-10)  # eigenvectors
    # The lagged covariance is the product of the stacked trajectory matrices.
    windows = np.concatenate([np.lib.stride_tricks.sliding_window_view(x, 10)
                              for x in X.reshape(-1, 200)])
    np.testing.assert_allclose(_lagged_covariance(X, 10), windows.T @ windows,
                               rtol=1e-10)


def test_init_zero_signal_gives_no_nan():
    X = np.zeros((1, 3, 40))
    X[0, 1, 5] = 1.  # almost all windows are zero
    for D_init in INITS:
        for rank1 in (True, False):
            D = init_dictionary(X, 3, 8, D_init=D_init, rank1=rank1,
                                random_state=0)
            assert np.all(np.isfinite(D)), D_init
    D = init_dictionary(np.zeros((1, 3, 40)), 2, 8, D_init="chunk", random_state=0)
    assert np.all(D[:, :3] == 0) and np.all(np.isfinite(D))


def test_init_window_and_dtype():
    X = _signal().astype(np.float32)
    window = _tukey(10)
    uv = init_dictionary(X, 3, 10, D_init="chunk", window=window, random_state=0)
    assert uv.dtype == np.float32
    assert np.all(uv[:, 5] == 0) and np.all(uv[:, -1] == 0)  # tapered waveforms
    with pytest.raises(ValueError, match="window"):
        init_dictionary(X, 3, 10, window=np.ones(9))


def test_init_from_array():
    rng = np.random.RandomState(0)
    uv = 3 * rng.randn(3, 5 + 10)
    out = init_dictionary(_signal(), 3, 10, D_init=uv)
    np.testing.assert_allclose(out, prox_uv(uv, 5))
    # D given for rank-1 atoms: rank-1 by SVD, then projected.
    u, v = shapes.split_uv(prox_uv(uv, 5), 5)
    D = 3 * u[:, :, None] * v[:, None, :]
    out = init_dictionary(_signal(), 3, 10, D_init=D, rank1=True)
    np.testing.assert_allclose(shapes.to_full_rank(out, 5), D / 3, atol=1e-12)
    # uv given for full-rank atoms: expanded, then projected.
    out = init_dictionary(_signal(), 3, 10, D_init=uv, rank1=False)
    np.testing.assert_allclose(out, prox_D(shapes.to_full_rank(uv, 5)))


def test_init_bad_D_init():
    X = _signal()
    with pytest.raises(ValueError, match=r"D_init.*'random', 'chunk'"):
        init_dictionary(X, 3, 10, D_init="kmeans")
    with pytest.raises(ValueError, match=r"D_init.*\(3, 15\)"):
        init_dictionary(X, 3, 10, D_init=np.zeros((3, 14)))
    with pytest.raises(ValueError, match=r"D_init.*\(3, 5, 10\)"):
        init_dictionary(X, 3, 10, D_init=np.zeros((2, 5, 10)), rank1=False)
    with pytest.raises(ValueError, match="D_init"):
        init_dictionary(X, 3, 10, D_init=np.full((3, 15), np.nan))
    with pytest.raises(ValueError, match="n_times_atom"):
        init_dictionary(X, 3, 500)
