"""Dictionary learning: recovery of known atoms, monotone objective, API."""
import numpy as np
import pytest

from cdl import BatchCDL, GreedyCDL, OnlineCDL
from cdl.model.similarity import match_atoms
from cdl.simulate import simulate_data


@pytest.fixture(scope="module")
def simulated():
    X, u, v, z = simulate_data(n_trials=4, n_channels=6, n_times=1500, n_atoms=3,
                               n_times_atom=32, n_events=12, noise_level=0.1,
                               random_state=0)
    return X, u, v


def _assert_recovered(model, u, v, threshold=0.95):
    matches = match_atoms(u, v, model.u_hat_, model.v_hat_)
    for m in matches:
        assert m["corr_u"] >= threshold and m["corr_v"] >= threshold, matches


def test_batch_cdl_recovers_atoms_and_decreases_objective(simulated):
    X, u, v = simulated
    model = BatchCDL(n_atoms=3, n_times_atom=32, reg=0.1, n_iter=40,
                     random_state=0).fit(X)
    _assert_recovered(model, u, v)
    # Every z-step and d-step decreases the objective.
    assert np.all(np.diff(model.pobj_) <= 1e-10 * abs(model.pobj_[0]))
    assert model.z_hat_.shape == (4, 3, 1500 - 32 + 1)
    assert model.z_hat_.min() >= 0
    assert model.D_hat_.shape == (3, 6, 32)
    np.testing.assert_allclose(model.D_hat_,
                               model.u_hat_[:, :, None] * model.v_hat_[:, None])


@pytest.mark.parametrize("params", [
    dict(uv_constraint="joint", solver_d="joint"),
    dict(rank1=False),
    dict(lmbd_max="fixed", reg=1.),
])
def test_objective_never_increases(simulated, params):
    X, _, _ = simulated
    model = BatchCDL(n_atoms=3, n_times_atom=32, n_iter=10, random_state=1,
                     **params).fit(X)
    assert np.all(np.diff(model.pobj_) <= 1e-10 * abs(model.pobj_[0]))


def test_same_random_state_same_result(simulated):
    X, _, _ = simulated
    fits = [BatchCDL(n_atoms=3, n_times_atom=32, n_iter=5, D_init="random",
                     random_state=3).fit(X) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].uv_hat_, fits[1].uv_hat_)
    np.testing.assert_array_equal(fits[0].z_hat_, fits[1].z_hat_)
    other = BatchCDL(n_atoms=3, n_times_atom=32, n_iter=5, D_init="random",
                     random_state=4).fit(X)
    assert not np.array_equal(other.uv_hat_, fits[0].uv_hat_)


def test_online_and_greedy_recover_atoms(simulated):
    X, u, v = simulated
    online = OnlineCDL(n_atoms=3, n_times_atom=32, reg=0.1, n_iter=60,
                       batch_size=2, alpha=0.8, random_state=0).fit(X)
    _assert_recovered(online, u, v, threshold=0.9)
    greedy = GreedyCDL(n_atoms=3, n_times_atom=32, reg=0.1, n_iter=45,
                       random_state=0).fit(X)
    assert greedy.uv_hat_.shape == (3, 6 + 32)
    _assert_recovered(greedy, u, v, threshold=0.9)


def test_transform_matches_fit_and_unbiased(simulated):
    X, _, _ = simulated
    # 'chunk': after 20 iterations its support has settled (223 vs 215
    # non-zero activations; after 10, with atoms re-centred at iterations 5
    # and 6 by revival, the last d-step still moved it: 1061 vs 935).
    model = BatchCDL(n_atoms=3, n_times_atom=32, n_iter=20, random_state=0,
                     D_init="chunk", solver_z_kwargs=dict(tol=1e-8)).fit(X)
    z = model.transform(X)
    support = z != 0
    assert abs(support.sum() - (model.z_hat_ != 0).sum()) <= 0.05 * support.sum()
    model_unbiased = BatchCDL(n_atoms=3, n_times_atom=32, n_iter=20,
                              random_state=0, unbiased_z_hat=True, D_init="chunk",
                              solver_z_kwargs=dict(tol=1e-8)).fit(X)
    # Unbiased amplitudes are larger (no shrinkage) on the same support.
    assert np.all((model_unbiased.z_hat_ != 0) <= (model.z_hat_ != 0))
    assert model_unbiased.z_hat_.sum() > model.z_hat_.sum()


def test_sklearn_parameter_protocol():
    clone = pytest.importorskip("sklearn.base").clone
    model = OnlineCDL(n_atoms=2, n_times_atom=8, reg=0.3, alpha=0.5)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.set_params(reg=0.5).reg == 0.5
    with pytest.raises(ValueError, match="nonexistent"):
        model.set_params(nonexistent=1)
    with pytest.raises(ValueError, match="not fitted"):
        model.transform(np.zeros((1, 2, 50)))


def test_sort_atoms_and_flat_channel(simulated):
    X, _, _ = simulated
    X = X.copy()
    X[:, 2] = 0.  # a flat channel
    model = BatchCDL(n_atoms=3, n_times_atom=32, n_iter=10, sort_atoms=True,
                     random_state=0).fit(X)
    assert np.all(model.u_hat_[:, 2] == 0)
    energy = (model.z_hat_ ** 2).sum(axis=(0, 2)) * (model.D_hat_ ** 2).sum(axis=(1, 2))
    assert np.all(np.diff(energy) <= 1e-12)


def test_per_atom_regularisation(simulated):
    X, _, _ = simulated
    model = BatchCDL(n_atoms=3, n_times_atom=32, n_iter=5, lmbd_max="per_atom",
                     reg=0.2, random_state=0).fit(X)
    assert model.reg_.shape == (3,)
    assert len(np.unique(model.reg_)) == 3


@pytest.mark.parametrize("params, match", [
    (dict(n_atoms=0), "n_atoms"),
    (dict(reg=-0.1), "reg"),
    (dict(n_times_atom=5000), "n_times_atom"),
    (dict(solver_z="foo"), "solver_z"),
    (dict(solver_d="foo"), "solver_d"),
    (dict(lmbd_max="foo"), "lmbd_max"),
    (dict(D_init=np.ones((3, 5))), "D_init"),
    (dict(D_init="foo"), "D_init"),
])
def test_bad_parameters(simulated, params, match):
    X, _, _ = simulated
    kwargs = dict(n_atoms=3, n_times_atom=32, n_iter=2)
    kwargs.update(params)
    with pytest.raises(ValueError, match=match):
        BatchCDL(**kwargs).fit(X)


def test_bad_X():
    X = np.ones((1, 3, 100))
    X[0, 1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BatchCDL(n_atoms=2, n_times_atom=8).fit(X)
    with pytest.raises(ValueError, match="shape"):
        BatchCDL(n_atoms=2, n_times_atom=8).fit(np.ones(100))
