"""Entry point of a spawned DICOD worker process.

Run by the root as ``python .../dicod/_worker_main.py ROOT_PID ROOT_HOST``.
MPI is initialised first, so that the root's ``Spawn`` returns at once; the
worker then says hello (pid, host) and serves commands until shutdown. It
exits when the root dies (checked every half second) without waiting on MPI.

To start fast, a worker imports only the compiled kernels and a few modules
(the ``__init__`` of ``cdl`` and ``dicod`` import their public names on first
use). Numba's first compilation (or cache load) imports
``scipy.linalg.cython_blas`` to check for BLAS; ``scipy.linalg`` is registered
bare during that check (its ``__init__`` takes a fifth of a second and the
kernels do not use it).

Each worker runs its BLAS (the products of atoms and channels) on one
thread, unless a thread count is set in the environment: the workers already
share the cores, and spinning BLAS threads would take them from each other.
"""
import importlib.util
import os
import sys
import traceback

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS")


def _bare_package(name):
    """Import package ``name`` without executing its ``__init__``."""
    if name not in sys.modules:
        spec = importlib.util.find_spec(name)
        sys.modules[name] = importlib.util.module_from_spec(spec)


def _single_thread_blas():
    """One BLAS thread per worker (before numpy is imported)."""
    if not any(var in os.environ for var in _THREAD_VARS):
        os.environ.update({var: "1" for var in _THREAD_VARS})


def _load_numba_blas_check():
    """Import Numba's BLAS check with a bare ``scipy.linalg``, then drop it.

    A later ``import scipy.linalg`` then runs the real ``__init__``.
    """
    if "scipy.linalg" in sys.modules:
        return
    try:
        _bare_package("scipy.linalg")
    except ImportError:  # no scipy: Numba handles it
        return
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg"]


def main(argv):
    root_pid, root_host = int(argv[0]), argv[1]
    _single_thread_blas()
    # dicod's __init__ imports nothing heavy (its public names load on first
    # use): MPI is initialised and the root's Spawn returns before the
    # kernels are imported, which then happens while the root prepares the
    # problem.
    from dicod._comm import ROOT, TAG_ERROR
    from dicod._mpi import SpawnWorkerComm
    comm = SpawnWorkerComm(root_pid, root_host)
    comm.hello()
    try:
        _load_numba_blas_check()
        from dicod.worker import Worker
        reason = Worker(comm).serve()
    except BaseException:  # noqa: BLE001 (the root decides what to do)
        comm.send(ROOT, TAG_ERROR, f"DICOD worker {comm.rank} failed:\n"
                  f"{traceback.format_exc()}")
        comm.flush(timeout=5.)
        reason = "abort"
    comm.close(say_bye=reason == "abort")


if __name__ == "__main__":
    # This file's folder (dicod/) comes first on sys.path when run as a
    # script; drop it so that 'dicod' names the package.
    sys.path.pop(0)
    main(sys.argv[1:])
