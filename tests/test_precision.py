"""Inexact z-steps of the learning loop (cdl.learn.precision)."""
import numpy as np
import pytest
from callbacks import interrupt_at

from cdl import BatchCDL, GreedyCDL, OnlineCDL, sparse_encode
from cdl.learn import LocalEncoder
from cdl.learn.precision import RHO, z_step_min_decrease
from cdl.simulate import simulate_data

# Slowly converging z-steps (smooth atoms, tight tol): where the rule matters.
KWARGS = dict(n_atoms=3, n_times_atom=32, reg=0.1, n_iter=25, eps=0.,
              random_state=0, revive_atoms=False)
TOL = dict(tol=1e-6, max_iter=2000)


@pytest.fixture(scope="module")
def X():
    return simulate_data(n_trials=3, n_channels=6, n_times=1500, n_atoms=3,
                         n_times_atom=32, n_events=15, random_state=1)[0]


@pytest.fixture(scope="module")
def problem(X):
    """A dictionary and activations from the middle of a fit."""
    model = BatchCDL(**dict(KWARGS, n_iter=3),
                     solver_z_kwargs=dict(TOL, inexact=False)).fit(X)
    return model.uv_hat_, model.reg_, model.z_hat_


def count_sweeps(monkeypatch):
    """Sweeps of every z-step of the fits that follow, and their early stops."""
    record = []
    compute_z = LocalEncoder.compute_z

    def counted(self, trials=None):
        info = compute_z(self, trials)
        record.append((sum(info["n_iter"]), info["n_stopped_early"]))
        return info

    monkeypatch.setattr(LocalEncoder, "compute_z", counted)
    return record


def test_min_decrease_follows_the_last_iteration():
    assert z_step_min_decrease([10.]) is None  # first z-step: exact
    assert z_step_min_decrease([10., 9., 8.]) == RHO * 2.
    assert z_step_min_decrease([10., 9., 8., 7.5, 7.]) == RHO * 1.
    assert z_step_min_decrease([10., 9., 8., 8., 8.]) is None  # no progress
    assert z_step_min_decrease([10., 9., 8.], rho=0.5) == 1.


def test_switch_off_never_sets_a_precision(X, monkeypatch):
    def refuse(self, min_decrease):
        raise AssertionError("set_min_decrease called with inexact=False")

    monkeypatch.setattr(LocalEncoder, "set_min_decrease", refuse)
    BatchCDL(**dict(KWARGS, n_iter=3), solver_z_kwargs=dict(inexact=False)).fit(X)
    with pytest.raises(AssertionError, match="inexact=False"):
        BatchCDL(**dict(KWARGS, n_iter=3)).fit(X)


# Final objective of the inexact fit at most this much above the exact fit's
# (greedy: exact z-steps capped at 100 sweeps end 0.31 % above too).
@pytest.mark.parametrize("cls, bound", [(BatchCDL, 1e-3), (GreedyCDL, 5e-3)])
def test_inexact_fit_is_as_good_with_fewer_sweeps(X, monkeypatch, cls, bound):
    record = count_sweeps(monkeypatch)
    kwargs = dict(KWARGS, n_iter=60)  # far enough to compare
    exact = cls(**kwargs, solver_z_kwargs=dict(TOL, inexact=False)).fit(X)
    exact_sweeps = sum(n for n, _ in record)
    del record[:]
    inexact = cls(**kwargs, solver_z_kwargs=TOL).fit(X)
    inexact_sweeps = sum(n for n, _ in record)
    # The first z-step is exact, later ones stop early.
    assert record[0][1] == 0 and sum(early for _, early in record[1:]) > 0
    assert inexact_sweeps < 0.2 * exact_sweeps
    # The objective never increases, and ends close to the exact fit's.
    assert np.all(np.diff(inexact.pobj_) <= 1e-10 * inexact.pobj_[0])
    assert inexact.pobj_[-1] <= exact.pobj_[-1] * (1 + bound)


def test_online_learning_keeps_exact_z_steps(X, monkeypatch):
    record = count_sweeps(monkeypatch)
    kwargs = dict(KWARGS, n_iter=8, batch_size=1, alpha=0.8, solver_z_kwargs=TOL)
    np.testing.assert_array_equal(
        OnlineCDL(**kwargs).fit(X).pobj_,
        OnlineCDL(**dict(kwargs, solver_z_kwargs=dict(TOL, inexact=False))
                  ).fit(X).pobj_)
    assert all(early == 0 for _, early in record)


def test_precision_tightens_as_learning_converges(X, monkeypatch):
    """As the objective's decrease per iteration falls, the z-steps run more
    sweeps (towards tol and max_iter)."""
    record = count_sweeps(monkeypatch)
    BatchCDL(**dict(KWARGS, n_iter=60), solver_z_kwargs=TOL).fit(X)
    sweeps = [n for n, _ in record]
    assert np.mean(sweeps[-5:]) > 2 * np.mean(sweeps[1:6])


def test_resume_of_inexact_learning_is_exact(X, tmp_path, monkeypatch):
    record = count_sweeps(monkeypatch)
    fname = tmp_path / "ckpt.npz"
    kwargs = dict(KWARGS, n_iter=12, solver_z_kwargs=TOL)
    reference = BatchCDL(**kwargs).fit(X)
    assert sum(early for _, early in record[6:]) > 0  # the rule acts after 5
    with pytest.warns(RuntimeWarning, match="interrupted after 6 .*checkpointed"):
        BatchCDL(**kwargs, callback=interrupt_at(6), checkpoint=fname,
                 checkpoint_every=5).fit(X)
    resumed = BatchCDL(**kwargs, checkpoint=fname).fit(X, resume=fname)
    np.testing.assert_array_equal(resumed.uv_hat_, reference.uv_hat_)
    np.testing.assert_array_equal(resumed.z_hat_, reference.z_hat_)
    np.testing.assert_array_equal(resumed.pobj_, reference.pobj_)


def test_transform_keeps_tol_and_max_iter(X):
    model = BatchCDL(**dict(KWARGS, n_iter=3), solver_z_kwargs=TOL).fit(X)
    np.testing.assert_array_equal(
        model.transform(X),
        sparse_encode(X, model.uv_hat_, model.reg_, **TOL))


@pytest.mark.parametrize("value, error", [("yes", TypeError), (None, TypeError)])
def test_bad_inexact(X, value, error):
    with pytest.raises(error, match="inexact"):
        BatchCDL(**dict(KWARGS, n_iter=2),
                 solver_z_kwargs=dict(inexact=value)).fit(X)



def test_last_z_step_is_finished(X, monkeypatch):
    """The activations of the fit are those of an exact last z-step: an
    exact z-step from them, on the dictionary of that z-step, changes
    nothing."""
    record = count_sweeps(monkeypatch)
    dictionaries = []

    def keep(X_cb, D, z, pobj):
        dictionaries.append(np.array(D))

    converged = dict(tol=1e-3, max_iter=100000)
    model = BatchCDL(**dict(KWARGS, n_iter=10), callback=keep,
                     solver_z_kwargs=converged).fit(X)
    assert record[-2][1] > 0  # the last z-step of the loop was cut ...
    assert record[-1][1] == 0 and len(record) == 11  # ... then finished
    z, info = sparse_encode(X, dictionaries[-2], model.reg_, z0=model.z_hat_,
                            return_info=True, **converged)
    assert info["n_updates"] == 0
    np.testing.assert_array_equal(z, model.z_hat_)
