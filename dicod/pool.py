"""Workers for one call: started for it, or borrowed from a :class:`WorkerPool`.

A spawned worker needs about half a second before it computes (a new Python
process, MPI, numpy, the compiled kernels). A call started for itself pays
it every time; a :class:`WorkerPool` pays it once for many calls.
"""
import threading
import weakref
from contextlib import contextmanager

from cdl.utils.log import logger
from cdl.utils.validation import check_int, check_option, check_scalar

from ._launch import BACKENDS, start_workers


class WorkerPool:
    """DICOD workers kept running between calls.

    Give it to :func:`dicod.dicod` or :class:`dicod.DistributedEncoder` as
    ``pool=``: they then use its workers instead of starting and ending their
    own, and only leave the workers' memory of the problem behind.

    Parameters
    ----------
    n_workers : int
        Number of workers.
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How the workers are started (see :func:`dicod.start_workers`).
    hostfile : path-like | None
        Hosts for spawned workers.
    worker_timeout : float
        Seconds a worker may stay silent before it is declared dead.

    Notes
    -----
    The workers start on first use (or :meth:`start`) and end with
    :meth:`close`, on leaving a ``with`` block, when the pool is garbage
    collected, or at the interpreter's exit. A call that fails or is
    interrupted ends them: the next call starts new ones. One call at a time
    may use a pool.

    Examples
    --------
    >>> with dicod.WorkerPool(2) as pool:  # doctest: +SKIP
    ...     codes = [dicod.dicod(X, D, reg, pool=pool) for X in signals]
    """

    def __init__(self, n_workers=2, backend="auto", hostfile=None, worker_timeout=60.):
        self.n_workers = check_int("n_workers", n_workers, min_value=1)
        check_option("backend", backend, BACKENDS)
        self.backend = backend
        self.hostfile = hostfile
        self.worker_timeout = check_scalar("worker_timeout", worker_timeout,
                                           min_value=0., strict=True)
        self.n_starts = 0
        self._cluster = None
        self._finalizer = None
        self._in_use = threading.Lock()

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return (f"WorkerPool(n_workers={self.n_workers}, backend={self.backend!r}, "
                f"{state})")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def running(self):
        """Whether the workers are up."""
        return self._cluster is not None and not self._cluster.closed

    def start(self):
        """Start the workers unless they run.

        Returns
        -------
        pool : WorkerPool
            The pool itself, so that ``pool = WorkerPool(2).start()`` works.
        """
        if not self.running:
            if self._finalizer is not None:  # workers ended by a failed call
                self._finalizer.detach()
            self._cluster = start_workers(self.n_workers, backend=self.backend,
                                          hostfile=self.hostfile,
                                          worker_timeout=self.worker_timeout)
            self._finalizer = weakref.finalize(self, self._cluster.close)
            self.n_starts += 1
        return self

    def close(self):
        """End the workers (those of an ``mpirun`` job keep serving it)."""
        if self._finalizer is not None:
            self._finalizer()
        self._cluster = self._finalizer = None

    @contextmanager
    def session(self, n_workers=None):
        """Lend the running workers to one call (a context manager).

        The workers forget the call's problem afterwards; if the call raises,
        they are ended (the next call starts new ones).

        Parameters
        ----------
        n_workers : int | None
            The number of workers the call asks for: None or the pool's own.

        Yields
        ------
        cluster : dicod._root.Cluster
            The root's handle on the workers, started if they were not.

        Raises
        ------
        ValueError
            If ``n_workers`` differs from the pool's.
        RuntimeError
            If another call is using the pool.
        """
        if n_workers is not None and n_workers != self.n_workers:
            raise ValueError(f"n_workers={n_workers} differs from the pool's "
                             f"{self.n_workers} workers; leave n_workers at None "
                             f"to use the pool's.")
        if not self._in_use.acquire(blocking=False):
            raise RuntimeError("This WorkerPool is in use by another call; a pool "
                               "serves one call at a time.")
        try:
            cluster = self.start()._cluster
            try:
                yield cluster
            except BaseException:
                if not cluster.closed:
                    logger.info("DICOD call failed or was interrupted: ending the "
                                "pool's workers (the next call starts new ones).")
                end_after_failure(cluster)
                raise
            cluster.command("end")
        finally:
            self._in_use.release()


def default_n_workers(n_workers, pool):
    """``n_workers``, or if None the pool's workers (2 without a pool)."""
    if pool is not None and not isinstance(pool, WorkerPool):
        raise TypeError(f"pool must be a dicod.WorkerPool or None, got "
                        f"{type(pool).__name__}.")
    if n_workers is None:
        return 2 if pool is None else pool.n_workers
    return n_workers


@contextmanager
def workers_for_call(n_workers, pool=None, backend="auto", hostfile=None,
                     worker_timeout=60.):
    """A :class:`Cluster` for one call: the pool's, or workers started for it.

    Workers started for the call end with it (if it raises: asked to leave,
    killed if they do not).

    Parameters
    ----------
    n_workers : int | None
        Number of workers; None with a pool: the pool's.
    pool : WorkerPool | None
    backend, hostfile, worker_timeout
        How to start workers without a pool; must be left at their defaults
        with one (the pool's own apply).
    """
    if pool is not None:
        given = [name for name, value, default in (
            ("backend", backend, "auto"), ("hostfile", hostfile, None),
            ("worker_timeout", worker_timeout, 60.)) if value != default]
        if given:
            raise ValueError(f"{', '.join(given)} cannot be set with pool=: the "
                             f"pool's workers are already started; set it on the "
                             f"WorkerPool.")
        with pool.session(n_workers) as cluster:
            yield cluster
        return
    cluster = start_workers(n_workers, backend=backend, hostfile=hostfile,
                            worker_timeout=worker_timeout)
    try:
        yield cluster
    except BaseException:
        end_after_failure(cluster)
        raise
    cluster.close()


def end_after_failure(cluster):
    """End the workers after the root failed or was interrupted.

    They are asked to leave, which keeps MPI usable for later spawns, and
    killed if they do not within seconds or on a second interrupt.
    """
    if cluster.closed:
        return
    try:
        cluster.abort(graceful=True)
    except BaseException:
        cluster.comm.abort(graceful=False)
        raise
