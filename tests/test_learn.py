"""Learning-loop options: tapered atoms, callbacks, lambda_max policies."""
import numpy as np
import pytest

from cdl import BatchCDL
from cdl.simulate import simulate_data


@pytest.fixture(scope="module")
def X():
    X, _, _, _ = simulate_data(n_trials=2, n_channels=4, n_times=800, n_atoms=2,
                               n_times_atom=24, n_events=8, random_state=0)
    return X


def test_window_tapers_atoms(X):
    model = BatchCDL(n_atoms=2, n_times_atom=24, n_iter=5, window=True,
                     random_state=0).fit(X)
    # The Tukey taper brings both ends of every waveform to (almost) zero.
    assert np.all(np.abs(model.v_hat_[:, [0, -1]]) < 1e-6)
    assert np.all(np.abs(model.v_hat_).max(axis=1) > 1e-2)
    assert np.all(np.diff(model.pobj_) <= 1e-10 * model.pobj_[0])


def test_callback_sees_each_iteration_and_can_stop(X):
    seen = []

    def callback(X_cb, D, z, pobj):
        seen.append(len(pobj))
        return len(seen) == 3

    model = BatchCDL(n_atoms=2, n_times_atom=24, n_iter=10, callback=callback,
                     random_state=0).fit(X)
    assert seen == [3, 5, 7]
    assert model.n_iter_ == 3


@pytest.mark.parametrize("lmbd_max", ["fixed", "scaled", "shared", "per_atom"])
def test_regularisation_policies(X, lmbd_max):
    from cdl import lambda_max
    model = BatchCDL(n_atoms=2, n_times_atom=24, n_iter=3, reg=0.2,
                     lmbd_max=lmbd_max, random_state=0).fit(X)
    if lmbd_max == "fixed":
        np.testing.assert_allclose(model.reg_, 0.2)
    elif lmbd_max == "per_atom":
        expected = 0.2 * lambda_max(X, model.uv_hat_, per_atom=True)
        # reg_ is set from the dictionary of the last z-step, before the d-step
        assert model.reg_.shape == (2,) and np.all(model.reg_ > 0)
        assert np.all(np.abs(model.reg_ - expected) < 0.5 * expected)
    else:
        assert np.all(model.reg_ == model.reg_[0]) and model.reg_[0] > 0


def test_online_eps_rule_looks_at_both_steps():
    from cdl.learn.loop import _converged

    d_step_undid_z_step = [10., 9., 8., 7., 8.5]
    assert _converged(d_step_undid_z_step, 1e-10, False)  # batch: net increase
    assert not _converged(d_step_undid_z_step, 1e-10, False, online=True)
    assert _converged([10., 9., 8., 8., 8.], 1e-10, False, online=True)
    assert not _converged([10., 9., 8., 7.5, 8.], 1e-10, False, online=True)
