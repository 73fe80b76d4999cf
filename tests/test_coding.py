"""z-step: solvers agree, optimality conditions hold, inputs are checked."""
import numpy as np
import pytest
import reference

from cdl.coding import primal_and_gap, sparse_encode
from cdl.model import objective

SOLVERS = ["lgcd", "gcd", "fista", "l-bfgs"]


def _problem(seed=0, n_trials=2, n_channels=4, n_times=300, n_atoms=3,
             n_times_atom=12, noise=0.05):
    rng = np.random.RandomState(seed)
    uv = rng.randn(n_atoms, n_channels + n_times_atom)
    uv /= np.linalg.norm(uv, axis=1, keepdims=True)
    n_times_valid = n_times - n_times_atom + 1
    z = (rng.rand(n_trials, n_atoms, n_times_valid) < 0.02) \
        * rng.uniform(1, 2, (n_trials, n_atoms, n_times_valid))
    X = objective.reconstruct(z, uv, n_channels) \
        + noise * rng.randn(n_trials, n_channels, n_times)
    return X, uv


@pytest.mark.parametrize("positive", [True, False])
def test_solvers_reach_same_objective(positive):
    X, uv = _problem()
    reg = 0.1 * objective.lambda_max(X, uv)
    objectives = {}
    for solver in SOLVERS:
        z, info = sparse_encode(X, uv, reg, solver=solver, tol=1e-10,
                                max_iter=50000, positive=positive,
                                return_info=True)
        D = reference.full_rank(uv, X.shape[1])
        objectives[solver] = reference.objective(X, z, D, reg)
        assert np.isclose(objectives[solver], info["objective"], rtol=1e-10)
        if positive:
            assert z.min() >= 0
    best = min(objectives.values())
    for solver, value in objectives.items():
        assert (value - best) / best < 1e-6, (solver, objectives)


@pytest.mark.parametrize("rank1", [True, False])
@pytest.mark.parametrize("positive", [True, False])
def test_lgcd_satisfies_optimality_conditions(rank1, positive):
    X, uv = _problem(seed=1)
    D = uv if rank1 else reference.full_rank(uv, X.shape[1])
    reg = 0.2 * objective.lambda_max(X, D)
    z = sparse_encode(X, D, reg, tol=1e-12, max_iter=100000, positive=positive)
    corr = -objective.gradient_z(X, z, D)  # correlation with the residual
    support = z != 0
    assert support.sum() > 5
    # On the support the gradient of the smooth part balances the penalty.
    np.testing.assert_allclose(corr[support], reg * np.sign(z[support]), atol=1e-6)
    if positive:
        assert corr[~support].max() <= reg + 1e-6
    else:
        assert np.abs(corr[~support]).max() <= reg + 1e-6


def test_duality_gap_vanishes_and_is_positive():
    X, uv = _problem(seed=2)
    reg = 0.1 * objective.lambda_max(X, uv)
    z0 = np.zeros((X.shape[0], uv.shape[0], X.shape[2] - 11))
    _, gap0 = primal_and_gap(X[0], z0[0], uv, np.full(3, reg))
    z, info = sparse_encode(X, uv, reg, stop="gap", tol=1e-9, return_info=True)
    assert gap0 > 1e-2
    assert 0 <= info["duality_gap"] <= 1e-9 * info["objective"] * X.shape[0]


def test_reg_above_lambda_max_gives_zero():
    X, uv = _problem(seed=3)
    lmbd_max = objective.lambda_max(X, uv)
    for solver in SOLVERS:
        z = sparse_encode(X, uv, lmbd_max * 1.001, solver=solver)
        assert np.all(z == 0), solver
    z = sparse_encode(X, uv, lmbd_max * 0.9)
    assert np.any(z != 0)


def test_per_atom_reg_and_warm_start():
    X, uv = _problem(seed=4)
    reg = 0.1 * objective.lambda_max(X, uv, per_atom=True)
    z_cold, info_cold = sparse_encode(X, uv, reg, tol=1e-8, return_info=True)
    z_warm, info_warm = sparse_encode(X, uv, reg, z0=z_cold, tol=1e-8,
                                      return_info=True)
    assert info_warm["n_updates"] < info_cold["n_updates"] / 5
    np.testing.assert_allclose(info_warm["objective"], info_cold["objective"],
                               rtol=1e-8)


def test_float32_matches_float64():
    X, uv = _problem(seed=5)
    reg = 0.1 * objective.lambda_max(X, uv)
    _, info64 = sparse_encode(X, uv, reg, tol=1e-6, return_info=True)
    z32, info32 = sparse_encode(X.astype(np.float32), uv, reg, tol=1e-6,
                                return_info=True)
    assert z32.dtype == np.float32
    assert abs(info32["objective"] - info64["objective"]) < 1e-4 * info64["objective"]


def test_n_jobs_gives_same_result():
    X, uv = _problem(seed=6, n_trials=4)
    reg = 0.1 * objective.lambda_max(X, uv)
    # Worker processes may use another BLAS threading: equal up to rounding.
    np.testing.assert_allclose(sparse_encode(X, uv, reg, n_jobs=1),
                               sparse_encode(X, uv, reg, n_jobs=2),
                               rtol=1e-10, atol=1e-12)


def test_freeze_support_keeps_support():
    X, uv = _problem(seed=7)
    reg = 0.3 * objective.lambda_max(X, uv)
    z = sparse_encode(X, uv, reg)
    z_refit = sparse_encode(X, uv, 0., z0=z, tol=1e-10,
                            solver_kwargs=dict(freeze_support=True))
    assert np.all(z_refit[z == 0] == 0)
    # Without penalty the fit on the same support is at least as good.
    D = reference.full_rank(uv, X.shape[1])
    assert reference.objective(X, z_refit, D, 0) < reference.objective(X, z, D, 0)


def test_two_dimensional_X_is_one_trial():
    X, uv = _problem(seed=8, n_trials=1)
    np.testing.assert_array_equal(sparse_encode(X[0], uv, 0.5),
                                  sparse_encode(X, uv, 0.5))


@pytest.mark.parametrize("bad_X, match", [
    (np.full((1, 4, 300), np.nan), "NaN"),
    (np.ones((2, 2, 4, 300)), "shape"),
    (np.ones((1, 4, 10)), "n_times_atom"),
])
def test_bad_X(bad_X, match):
    _, uv = _problem()
    bad_X = bad_X.copy()
    bad_X[..., 0] = np.inf if match == "NaN" else bad_X[..., 0]
    with pytest.raises(ValueError, match=match):
        sparse_encode(bad_X, uv, 0.1)


def test_bad_parameters():
    X, uv = _problem()
    with pytest.raises(ValueError, match="reg"):
        sparse_encode(X, uv, -1.)
    with pytest.raises(ValueError, match="solver"):
        sparse_encode(X, uv, 0.1, solver="ista")
    with pytest.raises(ValueError, match="z0"):
        sparse_encode(X, uv, 0.1, z0=np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="D"):
        sparse_encode(X, np.ones((3, 2, 12)), 0.1)
    with pytest.raises(TypeError, match="max_iter"):
        sparse_encode(X, uv, 0.1, max_iter=1.5)


def test_tol_does_not_depend_on_units():
    """Signals in volts and in units give the same activations up to scale."""
    X, uv = _problem(seed=9)
    reg = 0.1 * objective.lambda_max(X, uv)
    z_units = sparse_encode(X, uv, reg)
    z_volts = sparse_encode(X * 1e-5, uv, reg * 1e-5)
    np.testing.assert_allclose(z_volts * 1e5, z_units, rtol=1e-6, atol=1e-9)
    assert np.count_nonzero(z_units) > 10


def test_float32_with_tol_below_rounding_converges():
    X, uv = _problem(seed=10)
    reg = 0.1 * objective.lambda_max(X, uv)
    z, info = sparse_encode(X.astype(np.float32), uv, reg, tol=1e-12,
                            max_iter=100000, return_info=True)
    assert max(info["n_iter"]) < 100000
    _, info64 = sparse_encode(X, uv, reg, tol=1e-10, return_info=True)
    assert abs(info["objective"] - info64["objective"]) < 1e-5 * info64["objective"]


def test_min_decrease_stops_coordinate_descent_after_a_block():
    """``min_decrease`` (the learning loop's inexact z-steps): the descent
    also stops after the first block of CHECK_EVERY sweeps that lowers the
    objective by less than it; the updates are those of the exact descent."""
    from cdl.coding.encode import _sparse_encode
    from cdl.coding.solvers import CHECK_EVERY
    from cdl.simulate import simulate_data
    X, u, v, _ = simulate_data(n_trials=2, n_channels=5, n_times=1200, n_atoms=3,
                               n_times_atom=32, random_state=0)
    uv = np.concatenate([u, v], axis=1)
    reg = np.full(3, 0.1 * objective.lambda_max(X, uv))
    kwargs = dict(tol=1e-6, max_iter=2000)
    exact, info = _sparse_encode(X, uv, reg, **kwargs)
    assert min(info["n_iter"]) > CHECK_EVERY and info["n_stopped_early"] == 0
    # A zero threshold never stops a descent that still decreases.
    same, info_0 = _sparse_encode(X, uv, reg, min_decrease=0., **kwargs)
    np.testing.assert_array_equal(same, exact)
    assert info_0["n_iter"] == info["n_iter"]
    # A huge one stops after the first block, above the exact objective, with
    # the updates of the first CHECK_EVERY sweeps of the exact descent.
    early, info_big = _sparse_encode(X, uv, reg, min_decrease=1e30, **kwargs)
    assert info_big["n_iter"] == [CHECK_EVERY] * len(X)
    assert info_big["n_stopped_early"] == len(X)
    assert info["objective"] < info_big["objective"]
    first, _ = _sparse_encode(X, uv, reg, tol=kwargs["tol"], max_iter=CHECK_EVERY)
    np.testing.assert_array_equal(early, first)
    # A threshold between the two stops in between.
    _, info_mid = _sparse_encode(X, uv, reg, min_decrease=1e-3 * (
        info_big["objective"] - info["objective"]), **kwargs)
    assert all(CHECK_EVERY < a <= b for a, b in zip(info_mid["n_iter"],
                                                    info["n_iter"]))
    # float32: its objective is too coarse to compare, the rule is off.
    X32, uv32 = X.astype(np.float32), uv.astype(np.float32)
    np.testing.assert_array_equal(
        _sparse_encode(X32, uv32, reg, min_decrease=1e30, **kwargs)[0],
        _sparse_encode(X32, uv32, reg, **kwargs)[0])
