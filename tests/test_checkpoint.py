"""Checkpoints: atomic writes, exact resume after a kill or Ctrl-C, checks."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from callbacks import interrupt_at

from cdl import BatchCDL, GreedyCDL, OnlineCDL
from cdl.learn import checkpoint as ckpt
from cdl.simulate import simulate_data

PARAMS = dict(n_atoms=3, n_times_atom=16, n_iter=12, eps=0., random_state=0)


@pytest.fixture(scope="module")
def X():
    return simulate_data(n_trials=4, n_channels=5, n_times=600, n_atoms=3,
                         n_times_atom=16, random_state=0)[0]


def _assert_same_fit(a, b):
    np.testing.assert_array_equal(a.D_hat_, b.D_hat_)
    np.testing.assert_array_equal(a.z_hat_, b.z_hat_)
    np.testing.assert_array_equal(a.pobj_, b.pobj_)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("cls, params", [
    (BatchCDL, {}), (OnlineCDL, dict(batch_size=2)), (GreedyCDL, {}),
    (BatchCDL, dict(rank1=False, lmbd_max="per_atom")),
])
def test_resume_after_ctrl_c_gives_uninterrupted_result(X, tmp_path, cls, params):
    fname = tmp_path / "ckpt.npz"
    reference = cls(**PARAMS, **params).fit(X)
    with pytest.warns(RuntimeWarning, match="interrupted after 7 .*checkpointed"):
        part = cls(**PARAMS, **params, callback=interrupt_at(7),
                   checkpoint=fname, checkpoint_every=5).fit(X)
    assert part.interrupted_ and part.n_iter_ == 7
    resumed = cls(**PARAMS, **params, checkpoint=fname).fit(X, resume=fname)
    _assert_same_fit(resumed, reference)
    assert not resumed.interrupted_


def test_resume_after_kill_gives_uninterrupted_result(X, tmp_path):
    fname = tmp_path / "ckpt.npz"
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(f"""
        import time
        from cdl import BatchCDL
        from cdl.simulate import simulate_data
        X = simulate_data(n_trials=4, n_channels=5, n_times=600, n_atoms=3,
                          n_times_atom=16, random_state=0)[0]
        BatchCDL(n_atoms=3, n_times_atom=16, n_iter=40, eps=0., random_state=0,
                 checkpoint={str(fname)!r}, checkpoint_every=3,
                 callback=lambda *args: time.sleep(0.1)).fit(X)
        """))
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if fname.exists() and ckpt.read_checkpoint(fname)[0]["n_iter"] >= 6:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the fit ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    state, _ = ckpt.read_checkpoint(fname)
    assert 6 <= state["n_iter"] < 40 and not state["stopped"]
    params = dict(PARAMS, n_iter=40)
    resumed = BatchCDL(**params).fit(X, resume=fname)
    _assert_same_fit(resumed, BatchCDL(**params).fit(X))
    assert not list(tmp_path.glob(".*.tmp"))


def test_checkpoint_write_is_atomic(X, tmp_path, monkeypatch):
    fname = tmp_path / "ckpt.npz"
    BatchCDL(**dict(PARAMS, n_iter=3), checkpoint=fname).fit(X)
    before = fname.read_bytes()

    def crash(fid, **arrays):  # dies half way through writing
        fid.write(b"PK\x03\x04 partial")
        raise OSError("disk full")
    monkeypatch.setattr(ckpt.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        BatchCDL(**dict(PARAMS, n_iter=3), checkpoint=fname).fit(X)
    assert fname.read_bytes() == before
    assert ckpt.read_checkpoint(fname)[0]["n_iter"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_final_checkpoint_and_longer_resume(X, tmp_path):
    fname = tmp_path / "ckpt.npz"
    short = BatchCDL(**dict(PARAMS, n_iter=5), checkpoint=fname,
                     checkpoint_every=100).fit(X)
    state, meta = ckpt.read_checkpoint(fname)
    assert state["n_iter"] == 5 and meta["estimator"] == "BatchCDL"
    # Resuming a finished fit changes nothing; with more iterations it goes on.
    _assert_same_fit(BatchCDL(**dict(PARAMS, n_iter=5)).fit(X, resume=fname),
                     short)
    _assert_same_fit(BatchCDL(**PARAMS).fit(X, resume=fname),
                     BatchCDL(**PARAMS).fit(X))


def test_resume_refuses_another_problem(X, tmp_path):
    fname = tmp_path / "ckpt.npz"
    BatchCDL(**dict(PARAMS, n_iter=2), checkpoint=fname).fit(X)
    with pytest.raises(ValueError, match=r"reg=0.1 \(now 0.2\)"):
        BatchCDL(**dict(PARAMS, reg=0.2)).fit(X, resume=fname)
    with pytest.raises(ValueError, match="another X"):
        BatchCDL(**PARAMS).fit(X + 1., resume=fname)
    with pytest.raises(ValueError, match="written by BatchCDL"):
        OnlineCDL(**PARAMS).fit(X, resume=fname)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        BatchCDL(**PARAMS).fit(X, resume=tmp_path / "missing.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(fname.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable cdl checkpoint"):
        BatchCDL(**PARAMS).fit(X, resume=truncated)


def test_resume_true_starts_afresh_without_file(X, tmp_path):
    fname = tmp_path / "ckpt.npz"
    model = BatchCDL(**dict(PARAMS, n_iter=3), checkpoint=fname).fit(X, resume=True)
    assert fname.exists()
    _assert_same_fit(model, BatchCDL(**dict(PARAMS, n_iter=3)).fit(X))
    with pytest.raises(ValueError, match="resume=True needs the checkpoint"):
        BatchCDL(**PARAMS).fit(X, resume=True)


@pytest.mark.parametrize("params, error, match", [
    (dict(checkpoint="ckpt.txt"), ValueError, "checkpoint must be a file name "
                                              "ending in .npz"),
    (dict(checkpoint="/no/such/folder/c.npz"), FileNotFoundError, "checkpoint"),
    (dict(checkpoint=3), TypeError, "checkpoint must be a path"),
    (dict(checkpoint_every=0), ValueError, "checkpoint_every"),
    (dict(checkpoint_every=2.5), TypeError, "checkpoint_every"),
])
def test_bad_checkpoint_parameters(X, params, error, match):
    with pytest.raises(error, match=match):
        BatchCDL(**PARAMS, **params).fit(X)


def test_random_state_none_leaves_global_generator(X, tmp_path):
    fname = tmp_path / "ckpt.npz"
    OnlineCDL(**dict(PARAMS, random_state=None, n_iter=2), batch_size=2,
              checkpoint=fname).fit(X)
    np.random.seed(42)
    expected = np.random.rand()
    np.random.seed(42)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OnlineCDL(**dict(PARAMS, random_state=None, n_iter=4),
                  batch_size=2).fit(X, resume=fname)
    assert np.random.rand() == expected
    assert os.path.exists(fname)
