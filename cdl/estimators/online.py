"""OnlineCDL: dictionary learning on minibatches of trials."""
from cdl.utils.docs import fill_doc
from cdl.utils.validation import check_int, check_option, check_scalar

from .base import _BaseCDL


@fill_doc
class OnlineCDL(_BaseCDL):
    """Dictionary learning on minibatches of trials with forgetting.

    Parameters
    ----------
    %(cdl_params)s
    alpha : float
        Forgetting factor in [0, 1] of the accumulated statistics.
    batch_size : int
        Number of trials per iteration.
    batch_selection : 'random' | 'cyclic'
        How trials are chosen.

    Attributes
    ----------
    %(cdl_attributes)s
    """

    def __init__(self, n_atoms, n_times_atom, reg=0.1, n_iter=60, n_jobs=1,
                 solver_z="lgcd", solver_z_kwargs=None, unbiased_z_hat=False,
                 solver_d="auto", solver_d_kwargs=None, rank1=True, window=False,
                 uv_constraint="auto", lmbd_max="scaled", eps=1e-10, D_init=None,
                 positive=True, sort_atoms=False, callback=None,
                 random_state=None, verbose=None, dtype=None, checkpoint=None,
                 checkpoint_every=10, chunk_len=None, n_workers=None,
                 backend="auto", revive_atoms=True, alpha=0.8, batch_size=1,
                 batch_selection="random"):
        super().__init__(
            n_atoms, n_times_atom, reg=reg, n_iter=n_iter, n_jobs=n_jobs,
            solver_z=solver_z, solver_z_kwargs=solver_z_kwargs,
            unbiased_z_hat=unbiased_z_hat, solver_d=solver_d,
            solver_d_kwargs=solver_d_kwargs, rank1=rank1, window=window,
            uv_constraint=uv_constraint, lmbd_max=lmbd_max, eps=eps,
            D_init=D_init, positive=positive, sort_atoms=sort_atoms,
            callback=callback, random_state=random_state, verbose=verbose,
            dtype=dtype, checkpoint=checkpoint,
            checkpoint_every=checkpoint_every, chunk_len=chunk_len,
            n_workers=n_workers, backend=backend, revive_atoms=revive_atoms)
        self.alpha = alpha
        self.batch_size = batch_size
        self.batch_selection = batch_selection

    def _learning_schedule(self, rng):
        check_scalar("alpha", self.alpha, min_value=0.)
        if self.alpha > 1:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}.")
        check_int("batch_size", self.batch_size, min_value=1)
        check_option("batch_selection", self.batch_selection, ("random", "cyclic"))
        return dict(batch_size=self.batch_size, alpha=self.alpha,
                    batch_selection=self.batch_selection)
