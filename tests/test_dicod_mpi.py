"""DICOD over real MPI: spawned workers, ``mpirun`` mode, failures, DiCoDiLe.

Crashes are provoked in child Python processes (a crashed worker leaves MPI
unusable in the process that spawned it). Every MPI process started here
carries a tag in its environment; the process table is scanned for it to
check that nothing outlives a run, and a fixture kills stragglers.
"""
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest
from processes import INTERRUPTIBLE, assert_none_left, kill, tagged_processes
from test_dicod import (
    check_optimality_1d,
    check_optimality_2d,
    image_with_border_events,
    signal_with_border_events,
)

import dicod
from cdl import BatchCDL, sparse_encode
from cdl._kernels.conv2d import correlate_2d, reconstruct_2d
from cdl.model.objective import compute_objective, lambda_max
from cdl.simulate import simulate_data
from dicod import _mpi
from dicod._mpi import find_mpiexec
from dicod._problem import Problem, gather_z, setup_workers
from dicod._signal import box_slice

try:
    import mpi4py  # noqa: F401
    HAVE_MPI = find_mpiexec() is not None
except ImportError:
    HAVE_MPI = False

pytestmark = [pytest.mark.requires_mpi,
              pytest.mark.skipif(not HAVE_MPI, reason="mpi4py or mpiexec missing"),
              pytest.mark.skipif(not os.path.isdir("/proc"),
                                 reason="needs /proc to check the process table")]
TAG = "DICOD_TEST_TAG"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spawned_workers():
    """Worker processes spawned by this (test) process."""
    found = []
    for pid in tagged_processes(TAG, os.environ[TAG]):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"_worker_main.py" in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module", autouse=True)
def tag_this_process():
    # Spawned workers inherit it (through the mpiexec started at first spawn).
    os.environ.setdefault(TAG, f"pytest-{uuid.uuid4().hex}")
    yield


@pytest.fixture(autouse=True)
def no_stragglers():
    """Kill worker processes a test leaves behind (and fail the test)."""
    yield
    deadline = time.monotonic() + 5
    while spawned_workers() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = spawned_workers()
    kill(left)
    assert not left, f"worker processes left behind: {left}"


def run_child(code, tmp_path, env=None, timeout=120, send_signal=None):
    """Run ``code`` in a child Python with its own tag; return (proc, tag)."""
    tag = f"child-{uuid.uuid4().hex}"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(code))
    child_env = dict(os.environ, **(env or {}))
    child_env[TAG] = tag
    child_env["PYTHONPATH"] = REPO + os.pathsep + os.path.join(REPO, "tests")
    proc = subprocess.Popen([sys.executable, str(script)], env=child_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **INTERRUPTIBLE)
    try:
        first = ""
        if send_signal is not None:
            # Signal ``after`` seconds after the child printed its first line.
            sig, after = send_signal
            first = proc.stdout.readline()
            time.sleep(after)
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=timeout)
        out = first + out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc, out, err, tag


def test_spawn_1d_same_solution_as_sequential():
    X, uv = signal_with_border_events([2])
    reg = 0.1 * lambda_max(X, uv)
    z_seq = sparse_encode(X, uv, reg, tol=1e-9, max_iter=100000)
    z, info = dicod.dicod(X, uv, reg, n_workers=2, tol=1e-9, backend="spawn",
                          return_info=True)
    obj, obj_seq = (compute_objective(X, zz, uv, reg) for zz in (z, z_seq))
    assert abs(obj - obj_seq) / obj_seq < 1e-6
    assert info["converged"] and sum(info["n_messages"]) > 0
    check_optimality_1d(X, uv, z, reg)


def test_spawn_2d_grid_of_four_workers():
    X, D = image_with_border_events((2, 2))
    reg = 0.2 * np.abs(correlate_2d(X, D)).max()
    z1 = dicod.dicod(X, D, reg, n_workers=1, tol=1e-9, backend="local")
    z4 = dicod.dicod(X, D, reg, n_workers=4, tol=1e-9, backend="spawn")

    def objective(zz):
        return 0.5 * np.sum((X - reconstruct_2d(zz, D)) ** 2) + reg * zz.sum()
    assert abs(objective(z4) - objective(z1)) / objective(z1) < 1e-6
    check_optimality_2d(X, D, z4, reg)


def test_large_arrays_leave_the_pickle():
    big, small = np.arange(40000.).reshape(200, 200), np.ones(3)
    payload = ("setup", dict(X=big, F=np.asfortranarray(big), z0=small,
                             strided=big[:, ::2]))
    data, buffers = _mpi._dumps(payload)
    assert [b.nbytes for b in buffers] == [big.nbytes, big.nbytes]
    received = [np.frombuffer(b, dtype=np.uint8).copy() for b in buffers]
    name, kwargs = pickle.loads(data, buffers=received)
    assert name == "setup" and kwargs["F"].flags.f_contiguous
    for key, value in payload[1].items():
        np.testing.assert_array_equal(kwargs[key], value)
    assert kwargs["X"].flags.writeable


def test_spawn_large_arrays_cross_in_several_chunks(monkeypatch):
    """Arrays sent as raw buffers, the root's in 100 kB chunks, arrive intact."""
    monkeypatch.setattr(_mpi, "_CHUNK_BYTES", 100_000)
    rng = np.random.RandomState(0)
    problem = Problem(rng.randn(2, 3, 40000), rng.randn(2, 3, 16))
    seg = problem.segmentation(2)
    z4 = rng.rand(*problem.z_shape4())  # 1.3 MB, every coordinate non-zero
    cluster = dicod.start_workers(2, backend="spawn")
    try:
        setup_workers(cluster, problem, seg, problem.D, 1., True)
        cluster.command("set_z", per_worker=[
            dict(z=np.ascontiguousarray(z4[box_slice(seg.window(i))]))
            for i in range(2)])
        z = gather_z(cluster, problem.z_shape4())
        cost = sum(cluster.command("get_cost"))
    finally:
        cluster.close()
    np.testing.assert_array_equal(z, z4)
    z_user = problem.to_user(z4)
    assert np.isclose(cost, compute_objective(problem.X[:, :, 0], z_user,
                                              problem.D, 1.))


def test_spawned_workers_use_one_blas_thread_unless_told(monkeypatch):
    from dicod import _worker_main
    monkeypatch.setattr(os, "environ", {})
    _worker_main._single_thread_blas()
    assert os.environ["OPENBLAS_NUM_THREADS"] == os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.setattr(os, "environ", {"OMP_NUM_THREADS": "4"})
    _worker_main._single_thread_blas()
    assert os.environ == {"OMP_NUM_THREADS": "4"}


def test_mpirun_mode(tmp_path):
    """``mpiexec -n 3 python prog.py``: rank 0 is the root, ranks 1-2 work."""
    out_file = tmp_path / "z.npy"
    code = f"""
        import numpy as np
        import dicod
        from test_dicod import signal_with_border_events
        from cdl.model.objective import lambda_max

        def main():
            X, uv = signal_with_border_events([2])
            reg = 0.1 * lambda_max(X, uv)
            z, info = dicod.dicod(X, uv, reg, n_workers=2, tol=1e-9,
                                  return_info=True)
            assert info["converged"]
            np.save({str(out_file)!r}, z)

        dicod.run_mpi(main)
        print("rank-0 done")
        """
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    tag = f"mpirun-{uuid.uuid4().hex}"
    env = dict(os.environ, **{TAG: tag})
    env["PYTHONPATH"] = REPO + os.pathsep + os.path.join(REPO, "tests")
    proc = subprocess.run([find_mpiexec(), "-n", "3", sys.executable, str(script)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("rank-0 done") == 1  # workers exit in run_mpi
    X, uv = signal_with_border_events([2])
    reg = 0.1 * lambda_max(X, uv)
    z = np.load(out_file)
    z_seq = sparse_encode(X, uv, reg, tol=1e-9, max_iter=100000)
    obj, obj_seq = (compute_objective(X, zz, uv, reg) for zz in (z, z_seq))
    assert abs(obj - obj_seq) / obj_seq < 1e-6
    assert_none_left(TAG, tag, wait=5.)


FAULT_CHILD = """
    import time
    import numpy as np
    import dicod
    X = np.random.RandomState(0).randn(1, 3, 3000)
    D = np.random.RandomState(1).randn(3, 3, 16)
    t_start = time.monotonic()
    try:
        dicod.dicod(X, D, 1., n_workers=2, backend="spawn", worker_timeout=600)
    except dicod.WorkerError as exc:
        print("WorkerError", round(time.monotonic() - t_start, 2))
        print(exc)
    """


@pytest.mark.parametrize("fault, message", [
    ("1:solve:raise", "fault injected in worker 1"),
    ("1:solve:kill", "died (killed or crashed)"),
    ("0:setup:exit", "died (killed or crashed)"),
])
def test_worker_failure_raises_and_leaves_no_process(tmp_path, fault, message):
    proc, out, err, tag = run_child(FAULT_CHILD, tmp_path,
                                    env=dict(DICOD_FAULT=fault), timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert out.startswith("WorkerError"), (out, err[-3000:])
    # Found by the event (an error, a dead process), not by the silence
    # timeout of 600 s, which would say "did not answer".
    assert message in out and "did not answer" not in out
    assert_none_left(TAG, tag, wait=5.)


LONG_CHILD = """
    import sys
    import numpy as np
    import dicod
    from cdl.simulate import simulate_data
    X, u, v, _ = simulate_data(n_trials=1, n_channels=4, n_times=100000,
                               n_atoms=4, n_times_atom=32, density=0.01,
                               random_state=0)
    uv = np.hstack([u, v])
    print("start", flush=True)
    dicod.dicod(X, uv, 0.001, n_workers=2, tol=0., max_iter=10 ** 9,
                backend="spawn")
    print("finished", flush=True)
    """


@pytest.mark.slow
def test_interrupted_root_leaves_no_worker(tmp_path):
    """Ctrl-C on the root stops the workers; the root exits."""
    proc, out, err, tag = run_child(LONG_CHILD, tmp_path, timeout=60,
                                    send_signal=(signal.SIGINT, 4.))
    assert "start" in out and "finished" not in out, (out, err[-2000:])
    assert "KeyboardInterrupt" in err
    assert_none_left(TAG, tag, wait=5.)


@pytest.mark.slow
def test_killed_root_leaves_no_worker(tmp_path):
    """Workers notice that the root died and exit on their own."""
    proc, out, err, tag = run_child(LONG_CHILD, tmp_path, timeout=60,
                                    send_signal=(signal.SIGKILL, 4.))
    assert proc.returncode == -signal.SIGKILL
    assert_none_left(TAG, tag, wait=10.)


@pytest.mark.slow
def test_dicodile_same_atoms_as_batchcdl():
    from cdl import DiCoDiLe
    X, u, v, _ = simulate_data(n_trials=1, n_channels=5, n_times=6000, n_atoms=3,
                               n_times_atom=32, density=0.005, noise_level=0.1,
                               random_state=0)
    rng = np.random.RandomState(1)
    uv0 = np.hstack([u + 0.3 * rng.randn(*u.shape), v + 0.3 * rng.randn(*v.shape)])
    kwargs = dict(n_atoms=3, n_times_atom=32, reg=0.1, n_iter=20, D_init=uv0,
                  solver_z_kwargs=dict(tol=1e-4, max_iter=100000), random_state=0)
    batch = BatchCDL(**kwargs).fit(X)
    dist = DiCoDiLe(n_workers=2, backend="spawn", **kwargs).fit(X)
    for k in range(3):
        assert abs(np.corrcoef(batch.v_hat_[k], dist.v_hat_[k])[0, 1]) >= 0.99
        assert abs(np.dot(batch.u_hat_[k], dist.u_hat_[k])) >= 0.99 * (
            np.linalg.norm(batch.u_hat_[k]) * np.linalg.norm(dist.u_hat_[k]))
    assert dist.z_hat_.shape == batch.z_hat_.shape
    np.testing.assert_allclose(dist.pobj_[-1], batch.pobj_[-1], rtol=1e-3)
