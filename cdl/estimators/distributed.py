"""DiCoDiLe: BatchCDL with its z-step distributed over DICOD workers."""
from cdl.utils.docs import fill_doc

from .batch import BatchCDL


@fill_doc
class DiCoDiLe(BatchCDL):
    """:class:`cdl.BatchCDL` whose z-step is distributed over DICOD workers.

    The same as ``cdl.BatchCDL(..., solver_z='dicod')``, with the options of
    the workers (``hostfile``, ``worker_timeout``); the z-step computes in
    float64 on the whole signal (no ``n_jobs``, ``dtype``, ``chunk_len``).
    ``transform`` encodes with :func:`dicod.dicod`.

    Parameters
    ----------
    %(n_atoms)s
    %(n_times_atom)s
    %(reg)s
    %(n_iter)s
    n_workers : int | None
        Number of DICOD workers (None: the other ranks under ``mpirun``,
        else one per CPU core).
    solver_z_kwargs : dict | None
        ``tol`` (default 1e-3), ``max_iter`` (default 1000), ``strategy``,
        ``soft_lock`` and ``timeout`` (see :func:`dicod.dicod`); ``inexact``
        is accepted for the other solvers' sake and changes nothing: DICOD
        z-steps stop on ``tol`` and ``max_iter`` only.
    %(unbiased_z_hat)s
    %(solver_d)s
    %(solver_d_kwargs)s
    %(rank1)s
    %(window)s
    %(uv_constraint)s
    %(lmbd_max)s
    %(eps)s
    %(D_init)s
    %(positive)s
    %(sort_atoms)s
    %(callback)s
    %(random_state)s
    %(backend)s
    %(hostfile)s
    %(worker_timeout)s
    %(verbose_estimator)s
    %(checkpoint)s
    %(checkpoint_every)s
    %(revive_atoms)s

    Attributes
    ----------
    %(cdl_attributes)s
    """

    def __init__(self, n_atoms, n_times_atom, reg=0.1, n_iter=60, n_workers=2,
                 solver_z_kwargs=None, unbiased_z_hat=False, solver_d="auto",
                 solver_d_kwargs=None, rank1=True, window=False,
                 uv_constraint="auto", lmbd_max="scaled", eps=1e-10, D_init=None,
                 positive=True, sort_atoms=False, callback=None, random_state=None,
                 backend="auto", hostfile=None, worker_timeout=60., verbose=None,
                 checkpoint=None, checkpoint_every=10, revive_atoms=True):
        super().__init__(
            n_atoms, n_times_atom, reg=reg, n_iter=n_iter, solver_z="dicod",
            solver_z_kwargs=solver_z_kwargs, unbiased_z_hat=unbiased_z_hat,
            solver_d=solver_d, solver_d_kwargs=solver_d_kwargs, rank1=rank1,
            window=window, uv_constraint=uv_constraint, lmbd_max=lmbd_max, eps=eps,
            D_init=D_init, positive=positive, sort_atoms=sort_atoms,
            callback=callback, random_state=random_state, verbose=verbose,
            checkpoint=checkpoint, checkpoint_every=checkpoint_every,
            n_workers=n_workers, backend=backend, revive_atoms=revive_atoms)
        self.hostfile = hostfile
        self.worker_timeout = worker_timeout

    def _distributed_kwargs(self):
        return dict(backend=self.backend, hostfile=self.hostfile,
                    worker_timeout=self.worker_timeout)
