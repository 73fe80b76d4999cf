"""DiCoDiLe: BatchCDL with its z-step distributed over DICOD workers."""
from .batch import BatchCDL


class DiCoDiLe(BatchCDL):
    """:class:`cdl.BatchCDL` whose z-step is distributed over DICOD workers.

    The same as ``cdl.BatchCDL(..., solver_z='dicod')``: parameters are those
    of :class:`cdl.BatchCDL` but ``solver_z``, ``n_jobs``, ``dtype`` and
    ``chunk_len``, plus:

    Parameters
    ----------
    n_workers : int | None
        Number of DICOD workers (None: see :class:`cdl.BatchCDL`).
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How workers are started (see :func:`dicod.dicod`).
    hostfile : path-like | None
        Hosts for spawned workers.
    worker_timeout : float
        Seconds a worker may stay silent before it is declared dead.

    Notes
    -----
    ``solver_z_kwargs`` takes ``tol``, ``max_iter``, ``strategy``,
    ``soft_lock`` and ``timeout``. Fitted attributes are those of
    :class:`cdl.BatchCDL`; ``transform`` encodes with :func:`dicod.dicod`.
    """

    def __init__(self, n_atoms, n_times_atom, reg=0.1, n_iter=60, n_workers=2,
                 solver_z_kwargs=None, unbiased_z_hat=False, solver_d="auto",
                 solver_d_kwargs=None, rank1=True, window=False,
                 uv_constraint="auto", lmbd_max="scaled", eps=1e-10, D_init=None,
                 positive=True, sort_atoms=False, callback=None, random_state=None,
                 backend="auto", hostfile=None, worker_timeout=60., verbose=None,
                 checkpoint=None, checkpoint_every=10):
        super().__init__(
            n_atoms, n_times_atom, reg=reg, n_iter=n_iter, solver_z="dicod",
            solver_z_kwargs=solver_z_kwargs, unbiased_z_hat=unbiased_z_hat,
            solver_d=solver_d, solver_d_kwargs=solver_d_kwargs, rank1=rank1,
            window=window, uv_constraint=uv_constraint, lmbd_max=lmbd_max, eps=eps,
            D_init=D_init, positive=positive, sort_atoms=sort_atoms,
            callback=callback, random_state=random_state, verbose=verbose,
            checkpoint=checkpoint, checkpoint_every=checkpoint_every,
            n_workers=n_workers, backend=backend)
        self.hostfile = hostfile
        self.worker_timeout = worker_timeout

    def _distributed_kwargs(self):
        return dict(backend=self.backend, hostfile=self.hostfile,
                    worker_timeout=self.worker_timeout)
