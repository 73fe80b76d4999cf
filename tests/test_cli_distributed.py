"""``cdl fit`` with the DICOD z-step: spawned workers and ``mpirun -n N``."""
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
from processes import assert_none_left

from cdl import read_model
from dicod._mpi import find_mpiexec

try:
    import mpi4py  # noqa: F401
    HAVE_MPI = find_mpiexec() is not None
except ImportError:
    HAVE_MPI = False

pytestmark = [pytest.mark.requires_mpi, pytest.mark.requires_data,
              pytest.mark.skipif(not HAVE_MPI, reason="mpi4py or mpiexec missing"),
              pytest.mark.skipif(not os.path.isdir("/proc"),
                                 reason="needs /proc to check the process table")]
TAG = "CDL_CLI_TEST_TAG"
FIT_ARGS = ["--n-atoms", "3", "--atom-duration", "0.3", "--n-iter", "5",
            "--l-freq", "2", "--h-freq", "40", "--quiet"]


def _run(argv, tmp_path, grace=10.):
    """Run ``argv`` tagged; return it and check that no process outlives it.

    The workers and MPI's process manager end just after the command: they
    get ``grace`` seconds to go, then the ones left are killed and the test
    fails.
    """
    tag = uuid.uuid4().hex
    env = dict(os.environ, MPLBACKEND="Agg", **{TAG: tag})
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          env=env, cwd=tmp_path, check=False)
    assert_none_left(TAG, tag, wait=grace)
    return proc


def _cdl(*args):
    return [sys.executable, "-m", "cdl.cli", *map(str, args)]


def _mpiexec(n, *args):
    return [find_mpiexec(), "-n", str(n), *_cdl(*args)]


def _same_atoms(a, b):
    for k in range(a.u_hat_.shape[0]):
        assert abs(np.corrcoef(a.v_hat_[k], b.v_hat_[k])[0, 1]) >= 0.99
        assert abs(np.dot(a.u_hat_[k], b.u_hat_[k])) >= 0.99


@pytest.mark.slow
def test_fit_with_spawned_and_mpirun_workers(run3, tmp_path):
    local = _run(_cdl("fit", run3, "--out", "local", *FIT_ARGS), tmp_path)
    assert local.returncode == 0, local.stderr
    spawn = _run(_cdl("fit", run3, "--n-workers", "2", "--out", "spawn",
                      *FIT_ARGS), tmp_path)
    assert spawn.returncode == 0, spawn.stderr
    mpirun = _run(_mpiexec(3, "fit", run3, "--backend", "mpi", "--out", "mpirun",
                           *FIT_ARGS), tmp_path)
    assert mpirun.returncode == 0, mpirun.stderr
    # rank 0 alone fits and prints; the other ranks only serve as workers
    assert mpirun.stdout.count("Fitted 3 atoms") == 1, mpirun.stdout
    reference = read_model(tmp_path / "local" / "model.npz")
    for name, n_workers in (("spawn", 2), ("mpirun", None)):
        model = read_model(tmp_path / name / "model.npz")
        assert model.solver_z == "dicod" and model.n_workers == n_workers
        assert (tmp_path / name / "report.html").exists()
        _same_atoms(model, reference)


def test_mpirun_errors_are_one_line(run3, tmp_path):
    proc = _run(_mpiexec(3, "fit", tmp_path / "missing.edf"), tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"cdl fit: error: Recording file not found: "
                     f"{tmp_path / 'missing.edf'}"], proc.stderr
    proc = _run(_mpiexec(3, "fit", run3, "--n-workers", "3", *FIT_ARGS), tmp_path)
    assert proc.returncode == 1
    assert "under mpirun -n 3 the workers are the 2 ranks" in proc.stderr
    # with --backend local every rank would fit alone: refused on each rank
    proc = _run(_mpiexec(2, "fit", run3, "--backend", "local", *FIT_ARGS),
                tmp_path)
    assert proc.returncode != 0
    assert "use the 'mpi' backend" in proc.stderr
    assert not (tmp_path / "cdl_output").exists()
