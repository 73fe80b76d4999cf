"""dicod.WorkerPool: workers kept running between calls.

With in-process workers (threads) for the protocol, and spawned MPI workers
for the processes themselves: the same ones serve every call, and none
outlives the pool.
"""
import gc
import signal
import time

import numpy as np
import pytest
from processes import assert_none_left
from test_dicod import (
    check_optimality_1d,
    check_optimality_2d,
    image_with_border_events,
    signal_with_border_events,
)
from test_dicod_mpi import (  # noqa: F401 (fixtures)
    HAVE_MPI,
    TAG,
    no_stragglers,
    run_child,
    spawned_workers,
    tag_this_process,
)

import dicod
from cdl import sparse_encode
from cdl._kernels.conv2d import correlate_2d, reconstruct_2d
from cdl.model.objective import compute_objective, lambda_max
from dicod import WorkerError, WorkerPool
from dicod._root import Cluster

TIGHT = 1e-9


@pytest.fixture(scope="module")
def problem_1d():
    X, uv = signal_with_border_events([2])
    reg = 0.1 * lambda_max(X, uv)
    z_seq = sparse_encode(X, uv, reg, tol=TIGHT, max_iter=100000)
    return X, uv, reg, compute_objective(X, z_seq, uv, reg)


def workers_after(seconds):
    """Spawned workers left once they had ``seconds`` to exit."""
    deadline = time.monotonic() + seconds
    while spawned_workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    return spawned_workers()


def objective_2d(X, D, z, reg):
    return 0.5 * np.sum((X - reconstruct_2d(z, D)) ** 2) + reg * z.sum()


def test_one_pool_serves_calls_of_different_problems(problem_1d):
    X, uv, reg, obj_seq = problem_1d
    image, D = image_with_border_events((1, 2))
    reg_2d = 0.2 * np.abs(correlate_2d(image, D)).max()
    z_2d_alone = dicod.dicod(image, D, reg_2d, n_workers=2, tol=TIGHT,
                             backend="local")
    with WorkerPool(2, backend="local") as pool:
        for _ in range(2):
            z = dicod.dicod(X, uv, reg, tol=TIGHT, pool=pool)
            obj = compute_objective(X, z, uv, reg)
            assert abs(obj - obj_seq) / obj_seq < 1e-6
            check_optimality_1d(X, uv, z, reg)
            z_2d = dicod.dicod(image, D, reg_2d, tol=TIGHT, pool=pool)
            assert objective_2d(image, D, z_2d, reg_2d) == pytest.approx(
                objective_2d(image, D, z_2d_alone, reg_2d), rel=1e-6)
            check_optimality_2d(image, D, z_2d, reg_2d)
        # A warm start and two trials after those problems: nothing is left
        # of them in the workers.
        X2 = np.concatenate([X, X[:, :, ::-1]])
        z0 = np.concatenate([z, np.zeros_like(z)])
        z2, info = dicod.dicod(X2, uv, reg, tol=TIGHT, z0=z0, pool=pool,
                               return_info=True)
        assert compute_objective(X2[:1], z2[:1], uv, reg) == pytest.approx(
            obj_seq, rel=1e-6)
        assert info["n_updates"][0] + info["n_updates"][1] > 0
        assert pool.running and pool.n_starts == 1
    assert not pool.running


def test_pool_parameters_are_checked(problem_1d):
    X, uv, reg, _ = problem_1d
    with pytest.raises(ValueError, match="n_workers"):
        WorkerPool(0)
    with pytest.raises(ValueError, match="backend"):
        WorkerPool(2, backend="threads")
    with pytest.raises(ValueError, match="worker_timeout"):
        WorkerPool(2, worker_timeout=0.)
    with WorkerPool(2, backend="local") as pool:
        with pytest.raises(ValueError, match="differs from the pool's 2 workers"):
            dicod.dicod(X, uv, reg, n_workers=3, pool=pool)
        with pytest.raises(ValueError, match="backend, worker_timeout cannot be set"):
            dicod.dicod(X, uv, reg, backend="spawn", worker_timeout=5., pool=pool)
        with pytest.raises(TypeError, match="pool must be a dicod.WorkerPool"):
            dicod.dicod(X, uv, reg, pool=2)
        with pool.session(), pytest.raises(RuntimeError,
                                           match="in use by another call"):
            dicod.dicod(X, uv, reg, pool=pool)
        # None of these errors ended the workers.
        assert pool.running and pool.n_starts == 1
        z = dicod.dicod(X, uv, reg, pool=pool)
        assert z.shape == (1, 3, 1185)


def test_failed_and_interrupted_calls_end_the_workers_and_the_next_starts_anew(
        problem_1d, monkeypatch):
    X, uv, reg, obj_seq = problem_1d
    with WorkerPool(2, backend="local") as pool:
        dicod.dicod(X, uv, reg, pool=pool)
        monkeypatch.setenv("DICOD_FAULT", "1:solve:raise")
        with pytest.raises(WorkerError, match="fault injected in worker 1"):
            dicod.dicod(X, uv, reg, pool=pool)
        assert not pool.running
        monkeypatch.delenv("DICOD_FAULT")

        def interrupted(self, **kwargs):
            raise KeyboardInterrupt
        with monkeypatch.context() as m:
            m.setattr(Cluster, "solve", interrupted)
            with pytest.raises(KeyboardInterrupt):
                dicod.dicod(X, uv, reg, pool=pool)
        assert not pool.running and pool.n_starts == 2
        z = dicod.dicod(X, uv, reg, tol=TIGHT, pool=pool)
        assert pool.n_starts == 3
        assert compute_objective(X, z, uv, reg) == pytest.approx(obj_seq, rel=1e-6)


def test_distributed_encoders_share_a_pool(problem_1d):
    from cdl.learn.local_encoder import LocalEncoder
    from dicod.encoder import DistributedEncoder
    X, uv, reg, _ = problem_1d
    kwargs = dict(tol=TIGHT, max_iter=100000)
    with WorkerPool(3, backend="local") as pool:
        for scale in (1., 2.):
            local = LocalEncoder(scale * X, 3, 16, solver_kwargs=kwargs)
            dist = DistributedEncoder(scale * X, 3, 16, solver_kwargs=kwargs,
                                      pool=pool)
            assert dist.n_workers == 3
            with local, dist:
                for enc in (local, dist):
                    enc.set_D(uv)
                    enc.set_reg(np.full(3, reg))
                assert dist.compute_z()["objective"] == pytest.approx(
                    local.compute_z()["objective"], rel=1e-6)
            # The workers went back to the pool: the encoder cannot use them.
            with pytest.raises(WorkerError, match="DistributedEncoder is closed"):
                dist.get_cost()
        assert pool.running and pool.n_starts == 1


# -- spawned MPI workers -------------------------------------------------------
@pytest.mark.requires_mpi
@pytest.mark.skipif(not HAVE_MPI, reason="mpi4py or mpiexec missing")
def test_spawned_pool_keeps_its_processes_and_ends_them(problem_1d):
    X, uv, reg, obj_seq = problem_1d
    pool = WorkerPool(2, backend="spawn").start()
    pids = sorted(spawned_workers())
    assert len(pids) == 2
    for _ in range(3):
        z = dicod.dicod(X, uv, reg, tol=TIGHT, pool=pool)
        assert compute_objective(X, z, uv, reg) == pytest.approx(obj_seq, rel=1e-6)
        assert sorted(spawned_workers()) == pids
    pool.close()
    pool.close()  # twice is harmless
    assert not pool.running
    assert workers_after(5.) == []
    # Garbage collection of a running pool ends its workers too.
    pool = WorkerPool(1, backend="spawn").start()
    assert len(spawned_workers()) == 1
    del pool
    gc.collect()
    assert workers_after(5.) == []


POOL_FAULT_CHILD = """
    import os
    import time
    import numpy as np
    import dicod
    from test_dicod import signal_with_border_events
    X, uv = signal_with_border_events([2])
    pool = dicod.WorkerPool(2, backend="spawn", worker_timeout=20.)
    dicod.dicod(X, uv, 0.5, pool=pool)
    os.environ["DICOD_FAULT"] = "1:solve:raise"
    try:
        dicod.dicod(X, uv, 0.5, pool=pool)
        failed = False
    except dicod.WorkerError:
        failed = True
    running_after_failure = pool.running
    del os.environ["DICOD_FAULT"]
    z = dicod.dicod(X, uv, 0.5, pool=pool)  # MPI still usable: new workers
    print("failed", failed, running_after_failure, "then", pool.n_starts, pool.running,
          np.count_nonzero(z) > 0, flush=True)
    time.sleep(60)  # killed meanwhile, its pool idle
    """


@pytest.mark.requires_mpi
@pytest.mark.skipif(not HAVE_MPI, reason="mpi4py or mpiexec missing")
@pytest.mark.slow
def test_spawned_pool_after_a_worker_error_and_a_killed_root(tmp_path):
    """A failed call ends the pool's workers and the next call spawns new
    ones; killing the root of an idle pool leaves no process behind."""
    proc, out, err, tag = run_child(POOL_FAULT_CHILD, tmp_path, timeout=120,
                                    send_signal=(signal.SIGKILL, 1.))
    assert out.split() == ["failed", "True", "False", "then", "2", "True",
                           "True"], (out, err[-3000:])
    assert proc.returncode == -signal.SIGKILL
    assert_none_left(TAG, tag, wait=10.)
