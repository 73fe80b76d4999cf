"""Starting workers: threads, spawned MPI processes, or the ranks of ``mpirun``.

Backends:

- ``'spawn'``: this process spawns the workers with ``MPI.COMM_SELF.Spawn``
  (the default from Python);
- ``'mpirun'``: the program was started by ``mpirun -n N`` / ``mpiexec -n N``;
  rank 0 is the root and runs the program, ranks 1 .. N-1 serve as workers
  (see :func:`run_mpi`);
- ``'local'``: worker threads in this process (no MPI; the compiled kernels
  release the GIL, so threads run in parallel);
- ``'auto'``: ``'mpirun'`` inside an ``mpirun`` job of several processes, else
  ``'spawn'``.
"""
import sys
import traceback

from cdl.utils.log import logger
from cdl.utils.validation import check_option

from ._local_comm import start_local_workers
from ._root import Cluster

#: How workers may start: ``'spawn'`` (MPI processes spawned with
#: ``mpiexec``), ``'mpirun'`` (the other ranks of an ``mpirun`` job),
#: ``'local'`` (threads, for tests) or ``'auto'`` (``'mpirun'`` inside an
#: ``mpirun`` job of several processes, else ``'spawn'``).
BACKENDS = ("auto", "spawn", "mpirun", "local")


def _serve(comm):
    from .worker import Worker
    Worker(comm).serve()


def resolve_backend(backend):
    """The backend ``'auto'`` stands for here."""
    check_option("backend", backend, BACKENDS)
    if backend != "auto":
        return backend
    from ._mpi import world_size
    return "mpirun" if world_size() > 1 else "spawn"


def start_workers(n_workers, backend="auto", hostfile=None, worker_timeout=60.):
    """Start ``n_workers`` DICOD workers.

    Most code uses :class:`dicod.WorkerPool` instead, which calls this.

    Parameters
    ----------
    n_workers : int
        Number of workers.
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How they start (see :data:`dicod.BACKENDS`).
    hostfile : path-like | None
        Hosts for spawned workers (MPI ``hostfile`` info key).
    worker_timeout : float
        Seconds a worker may stay silent before it is declared dead.

    Returns
    -------
    cluster : dicod._root.Cluster
        The root's handle on the workers; its ``close()`` ends them (those of
        an ``mpirun`` job keep serving it).
    """
    backend = resolve_backend(backend)
    if backend == "local":
        comm = start_local_workers(n_workers, _serve)
    elif backend == "spawn":
        from ._mpi import spawn_workers
        comm = spawn_workers(n_workers, hostfile=hostfile)
    else:
        from ._mpi import world_root_comm
        comm = world_root_comm(n_workers)
    logger.debug("started %d DICOD workers (%s)", n_workers, backend)
    return Cluster(comm, worker_timeout=worker_timeout,
                   shutdown_on_close=backend != "mpirun")


def run_mpi(func, *args, **kwargs):
    """Run ``func`` on rank 0 of an ``mpirun`` job; the other ranks are workers.

    Launch the program with ``mpirun -n N python program.py``: rank 0 runs
    ``func(*args, **kwargs)``, in which every DICOD call (``backend='auto'``)
    uses ranks 1 .. N-1 as workers. Those ranks serve until rank 0 is done,
    then exit (status 0): the code after ``run_mpi`` runs on rank 0 only. An
    exception on rank 0 aborts the whole job. Outside ``mpirun`` (a single
    process) ``func`` just runs here.

    Parameters
    ----------
    func : callable
        The main function of the program.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    object
        The result of ``func`` (on rank 0 only).
    """
    from . import _mpi
    if _mpi.world_size() <= 1:
        return func(*args, **kwargs)
    if _mpi.world_rank() > 0:
        worker_main()
        sys.exit(0)
    try:
        result = func(*args, **kwargs)
    except BaseException:
        sys.stderr.write(traceback.format_exc())
        sys.stderr.flush()
        _mpi.world_abort(1)
        raise
    _mpi.world_shutdown()
    return result


def worker_main():
    """Serve as a DICOD worker in an ``mpirun`` job until rank 0 shuts down."""
    from ._mpi import world_worker_comm
    comm = world_worker_comm()
    _serve(comm)
    comm.close()
