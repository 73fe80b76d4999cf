"""BatchCDL, OnlineCDL and GreedyCDL: scikit-learn style estimators.

``__init__`` only stores its arguments; everything is checked in ``fit``. The
estimators orchestrate: the z-step lives in :mod:`cdl.coding`, the d-step in
:mod:`cdl.dictionary` and the alternating loop in :mod:`cdl.learn`.
"""
import inspect

import numpy as np
from scipy.signal import windows

from ._logging import logger, verbose
from ._validation import (check_bool, check_dtype, check_int, check_n_jobs,
                          check_option, check_random_state, check_scalar,
                          check_X)
from .checkpoint import check_checkpoint_path, check_resumable
from .coding import SOLVERS, _sparse_encode, check_n_times_atom
from .dictionary import update_D, update_uv
from .init_dict import init_dictionary
from .encoder import LocalEncoder
from .learn import LMBD_MAX, apply_window, learn_dictionary
from .objective import compute_ztz, split_uv, to_full_rank

SOLVERS_D = ("auto", "alternate", "alternate_adaptive", "joint", "fista")
UV_CONSTRAINTS = ("auto", "separate", "joint")


class _BaseCDL:
    """Shared parameters, fitting and transforming of the CDL estimators."""

    def __init__(self, n_atoms, n_times_atom, reg=0.1, n_iter=60, n_jobs=1,
                 solver_z="lgcd", solver_z_kwargs=None, unbiased_z_hat=False,
                 solver_d="auto", solver_d_kwargs=None, rank1=True, window=False,
                 uv_constraint="auto", lmbd_max="scaled", eps=1e-10, D_init=None,
                 positive=True, sort_atoms=False, callback=None,
                 random_state=None, verbose=None, dtype=None, checkpoint=None,
                 checkpoint_every=10):
        self.n_atoms = n_atoms
        self.n_times_atom = n_times_atom
        self.reg = reg
        self.n_iter = n_iter
        self.n_jobs = n_jobs
        self.solver_z = solver_z
        self.solver_z_kwargs = solver_z_kwargs
        self.unbiased_z_hat = unbiased_z_hat
        self.solver_d = solver_d
        self.solver_d_kwargs = solver_d_kwargs
        self.rank1 = rank1
        self.window = window
        self.uv_constraint = uv_constraint
        self.lmbd_max = lmbd_max
        self.eps = eps
        self.D_init = D_init
        self.positive = positive
        self.sort_atoms = sort_atoms
        self.callback = callback
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every

    # -- scikit-learn parameter protocol ------------------------------------
    @classmethod
    def _get_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(p for p in signature.parameters if p != "self")

    def get_params(self, deep=True):
        """Parameters of the estimator, as passed to ``__init__``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set parameters; unknown names raise a ValueError."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}.")
            setattr(self, name, value)
        return self

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                           if k in ("n_atoms", "n_times_atom", "reg", "n_iter"))
        return f"{type(self).__name__}({params})"

    # -- fitting -------------------------------------------------------------
    def _validate_params(self, X):
        check_int("n_atoms", self.n_atoms, min_value=1)
        check_int("n_times_atom", self.n_times_atom, min_value=1)
        check_n_times_atom(self.n_times_atom, X.shape[2])
        check_scalar("reg", self.reg, min_value=0.)
        check_int("n_iter", self.n_iter, min_value=1)
        check_n_jobs(self.n_jobs)
        for name in ("rank1", "window", "positive", "unbiased_z_hat",
                     "sort_atoms"):
            check_bool(name, getattr(self, name))
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable or None, got "
                            f"{type(self.callback).__name__}.")
        for name in ("solver_z_kwargs", "solver_d_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got "
                                f"{type(value).__name__}.")
        if self.checkpoint is not None:
            check_checkpoint_path(self.checkpoint)
        check_int("checkpoint_every", self.checkpoint_every, min_value=1)
        check_option("solver_z", self.solver_z, SOLVERS)
        check_option("solver_d", self.solver_d, SOLVERS_D)
        check_option("uv_constraint", self.uv_constraint, UV_CONSTRAINTS)
        check_option("lmbd_max", self.lmbd_max, LMBD_MAX)
        check_scalar("eps", self.eps, min_value=0.)
        if not self.rank1 and self.solver_d in ("alternate", "alternate_adaptive",
                                                 "joint"):
            raise ValueError(f"solver_d={self.solver_d!r} needs rank1=True; use "
                             f"'fista' or 'auto' for full-rank atoms.")
        if self.rank1 and self.solver_d == "fista":
            raise ValueError("solver_d='fista' is for full-rank atoms (rank1=False).")

    def _uv_constraint(self):
        if self.uv_constraint != "auto":
            return self.uv_constraint
        return "joint" if self.solver_d == "joint" else "separate"

    def _window(self):
        if not self.window:
            return None
        window = windows.tukey(self.n_times_atom)
        window[[0, -1]] = 1e-9
        return window

    def _solver_z_kwargs(self):
        kwargs = dict(tol=1e-3, max_iter=1000)
        kwargs.update(self.solver_z_kwargs or {})
        return kwargs

    def _make_update_d(self, n_channels, window):
        kwargs = dict(self.solver_d_kwargs or {})
        if self.rank1:
            constraint = self._uv_constraint()
            return lambda D, ztz, ztX: update_uv(
                D, ztz, ztX, n_channels, uv_constraint=constraint, window=window,
                **kwargs)
        return lambda D, ztz, ztX: update_D(D, ztz, ztX, window=window, **kwargs)

    def _prepare(self, X):
        from .io import mne_to_X  # mne is imported only for MNE objects
        dtype = check_dtype(self.dtype)
        if hasattr(X, "info") and hasattr(X, "get_data"):
            X, info = mne_to_X(X)
        else:
            info = None
        return check_X(X, dtype=dtype), info

    def _learning_schedule(self, rng):
        return {}

    @verbose
    def fit(self, X, y=None, resume=None, verbose=None):
        """Learn the dictionary and the activations of ``X``.

        Ctrl-C (KeyboardInterrupt) stops learning within about a second: the
        model learned so far is kept (fitted attributes are set), a warning
        is given and worker processes are terminated.

        Parameters
        ----------
        X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
            Signals; a 2-D array is one trial; a Raw or Epochs object is
            converted with its data channels, and its Info is kept in ``info_``.
        y : None
            Ignored.
        resume : path-like | bool | None
            Continue from a checkpoint written by a fit with the same
            parameters on the same ``X`` (see ``checkpoint``): the result is
            the one the interrupted run would have given. ``True`` resumes
            from ``checkpoint`` if that file exists and starts afresh
            otherwise.
        %(verbose)s

        Returns
        -------
        self : instance of the estimator
        """
        from .checkpoint import read_checkpoint
        X, info = self._prepare(X)
        self._validate_params(X)
        fname = self._resume_path(resume)
        meta = self._run_meta(X) if (fname or self.checkpoint) else None
        rng = check_random_state(self.random_state)
        window = self._window()
        n_channels = X.shape[1]
        n_atoms_start = 1 if isinstance(self, GreedyCDL) else self.n_atoms
        state = None
        if fname is not None:
            state, saved_meta = read_checkpoint(fname)
            check_resumable(saved_meta, meta, fname)
            if self.random_state is None:  # never set the global generator
                rng = np.random.RandomState()
            D_init = state["D"]
            logger.info("Resuming from %s after %d iteration(s)", fname,
                        state["n_iter"])
        else:
            D_init = init_dictionary(
                X, self.n_atoms, self.n_times_atom, D_init=self.D_init,
                rank1=self.rank1, uv_constraint=self._uv_constraint(),
                window=window, random_state=rng)[:n_atoms_start]
        encoder = LocalEncoder(X, n_atoms_start, self.n_times_atom,
                               solver=self.solver_z,
                               solver_kwargs=self._solver_z_kwargs(),
                               positive=self.positive, n_jobs=self.n_jobs)
        logger.info("Fitting %s with %d atoms of %d samples on X of shape %s",
                    type(self).__name__, self.n_atoms, self.n_times_atom, X.shape)
        with encoder:
            result = learn_dictionary(
                encoder, D_init, self.reg, self._make_update_d(n_channels, window),
                n_iter=self.n_iter, lmbd_max=self.lmbd_max, eps=self.eps,
                window=window, callback=self.callback, random_state=rng,
                checkpoint=self._checkpoint_writer(meta),
                checkpoint_every=self.checkpoint_every, state=state,
                **self._learning_schedule(rng))
            z_hat = encoder.get_z_hat()
        self._set_fitted(apply_window(result["D"], window, n_channels), z_hat,
                         result, info, X)
        return self

    def _resume_path(self, resume):
        if resume is None or resume is False:
            return None
        if resume is True:
            if self.checkpoint is None:
                raise ValueError("resume=True needs the checkpoint parameter.")
            path = check_checkpoint_path(self.checkpoint)
            return path if path.exists() else None
        path = check_checkpoint_path(resume, name="resume")
        if not path.exists():
            raise FileNotFoundError(f"resume={str(resume)!r}: no such checkpoint.")
        return path

    def _run_meta(self, X):
        from .checkpoint import fingerprint, jsonable_params
        return dict(estimator=type(self).__name__,
                    params=jsonable_params(self.get_params()), X=fingerprint(X))

    def _checkpoint_writer(self, meta):
        if self.checkpoint is None:
            return None
        from .checkpoint import write_checkpoint
        fname = check_checkpoint_path(self.checkpoint)

        def write(state):
            write_checkpoint(fname, state, meta)
            logger.info("Checkpoint written to %s (%d iterations)", fname,
                        state["n_iter"])
        return write

    def _set_fitted(self, D, z_hat, result, info, X):
        n_channels = X.shape[1]
        self.reg_ = result["reg"]
        if self.sort_atoms:
            energy = np.diagonal(compute_ztz(z_hat, self.n_times_atom)[
                :, :, self.n_times_atom - 1]) * np.sum(
                    to_full_rank(D, n_channels) ** 2, axis=(1, 2))
            order = np.argsort(-energy, kind="stable")
            D, z_hat, self.reg_ = D[order], z_hat[:, order], self.reg_[order]
        self.n_channels_ = n_channels
        if self.rank1:
            self.uv_hat_ = D
        self.D_hat_ = to_full_rank(D, n_channels)
        self.interrupted_ = bool(result["interrupted"])
        if self.unbiased_z_hat and not self.interrupted_:
            z_hat = self._unbiased(X, D, z_hat)
        self.z_hat_ = z_hat
        self.pobj_ = result["pobj"]
        self.times_ = result["times"]
        self.n_iter_ = result["n_iter"]
        self.info_ = info

    def _unbiased(self, X, D, z_hat):
        kwargs = self._solver_z_kwargs()
        z, _ = _sparse_encode(X, D, np.zeros(D.shape[0]), solver="lgcd",
                              z0=z_hat, positive=self.positive, n_jobs=self.n_jobs,
                              freeze_support=True, tol=kwargs["tol"],
                              max_iter=kwargs["max_iter"])
        return z

    def _check_fitted(self):
        if not hasattr(self, "D_hat_"):
            raise ValueError(f"This {type(self).__name__} instance is not fitted "
                             f"yet. Call 'fit' before using this method.")

    @property
    def u_hat_(self):
        """Spatial patterns, ndarray of shape (n_atoms, n_channels)."""
        self._check_fitted()
        return split_uv(self._uv(), self.n_channels_)[0]

    @property
    def v_hat_(self):
        """Waveforms, ndarray of shape (n_atoms, n_times_atom)."""
        self._check_fitted()
        return split_uv(self._uv(), self.n_channels_)[1]

    def _uv(self):
        if self.rank1:
            return self.uv_hat_
        # Full-rank atoms: best rank-1 approximation of each.
        rows = []
        for atom in self.D_hat_:
            U, s, Vt = np.linalg.svd(atom, full_matrices=False)
            rows.append(np.concatenate([U[:, 0], s[0] * Vt[0]]))
        return np.array(rows)

    @verbose
    def transform(self, X, verbose=None):
        """Activations of ``X`` on the learned dictionary.

        Parameters
        ----------
        X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
        %(verbose)s

        Returns
        -------
        z_hat : ndarray of shape (n_trials, n_atoms, n_times_valid)
        """
        self._check_fitted()
        X, _ = self._prepare(X)
        if X.shape[1] != self.n_channels_:
            raise ValueError(f"X has {X.shape[1]} channels but the model was "
                             f"fitted on {self.n_channels_}.")
        check_n_times_atom(self.n_times_atom, X.shape[2])
        D = self.uv_hat_ if self.rank1 else self.D_hat_
        kwargs = self._solver_z_kwargs()
        z, _ = _sparse_encode(X, D.astype(X.dtype), self.reg_, solver=self.solver_z,
                              positive=self.positive, n_jobs=self.n_jobs,
                              tol=kwargs["tol"], max_iter=kwargs["max_iter"])
        return self._unbiased(X, D, z) if self.unbiased_z_hat else z

    def fit_transform(self, X, y=None, verbose=None):
        """Fit, then return ``z_hat_``."""
        return self.fit(X, verbose=verbose).z_hat_

    def save(self, fname, *, overwrite=False):
        """Save the fitted model to a ``.npz`` file (no pickle).

        Parameters
        ----------
        fname : path-like
            File name ending in ``.npz``; read it back with
            :func:`cdl.read_model`.
        overwrite : bool
            Replace an existing file.
        """
        from ._estimator_io import save_estimator
        self._check_fitted()
        save_estimator(self, fname, overwrite=overwrite)


class BatchCDL(_BaseCDL):
    """Convolutional dictionary learning on all trials at each iteration.

    Parameters
    ----------
    n_atoms : int
        Number of atoms.
    n_times_atom : int
        Atom length in samples.
    reg : float
        Regularisation: a fraction of lambda_max unless ``lmbd_max='fixed'``.
    n_iter : int
        Maximum number of alternating iterations.
    n_jobs : int
        Processes over trials for the z-step.
    solver_z : 'lgcd' | 'gcd' | 'fista' | 'l-bfgs'
        z-step solver.
    solver_z_kwargs : dict | None
        ``tol`` (default 1e-3), ``max_iter`` (default 1000) and solver options.
    unbiased_z_hat : bool
        Refit the activations without penalty on their support after learning.
    solver_d : 'auto' | 'alternate' | 'alternate_adaptive' | 'joint' | 'fista'
        d-step solver; 'fista' for full-rank atoms.
    solver_d_kwargs : dict | None
        Options of the d-step (``max_iter``, ``tol``).
    rank1 : bool
        Rank-1 atoms ``u v^T`` (True) or full-rank atoms.
    window : bool
        Taper the waveforms with a Tukey window.
    uv_constraint : 'auto' | 'separate' | 'joint'
        Norm constraint of rank-1 atoms (see DESIGN.md).
    lmbd_max : 'fixed' | 'scaled' | 'per_atom' | 'shared'
        How ``reg`` relates to lambda_max (see :func:`cdl.learn.learn_dictionary`).
    eps : float
        Relative decrease of the objective below which learning stops.
    D_init : 'random' | 'chunk' | 'greedy' | 'ssa' | ndarray | None
        Initial dictionary (None: 'chunk').
    positive : bool
        Non-negative activations.
    sort_atoms : bool
        Sort atoms by decreasing energy of their contribution.
    callback : callable | None
        ``callback(X, D_hat, z_hat, pobj)`` after each iteration; return True
        to stop.
    random_state : int | RandomState | None
        Seed of the initialisation.
    verbose : bool | int | str | None
        Progress bar and log messages.
    dtype : 'float64' | 'float32' | None
        Computation dtype of the signal, activations and dictionary;
        'float32' halves the memory. None keeps a float32 or float64 ``X``
        (anything else becomes float64).
    checkpoint : path-like | None
        ``.npz`` file to which the learning state is written every
        ``checkpoint_every`` iterations, on Ctrl-C and at the end; each write
        is atomic (temporary file, then rename). Continue with
        ``fit(X, resume=checkpoint)``.
    checkpoint_every : int
        Iterations between two checkpoints.

    Attributes
    ----------
    uv_hat_ : ndarray of shape (n_atoms, n_channels + n_times_atom)
        Learned rank-1 atoms (only when ``rank1``).
    u_hat_ : ndarray of shape (n_atoms, n_channels)
    v_hat_ : ndarray of shape (n_atoms, n_times_atom)
    D_hat_ : ndarray of shape (n_atoms, n_channels, n_times_atom)
    z_hat_ : ndarray of shape (n_trials, n_atoms, n_times_valid)
    reg_ : ndarray of shape (n_atoms,)
        Absolute regularisation used at the last iteration.
    pobj_ : ndarray
        Objective after each z-step and d-step (first value: initial).
    times_ : ndarray
        Cumulative time at each entry of ``pobj_``.
    n_iter_ : int
    info_ : mne.Info | None
        Info of the Raw or Epochs given to ``fit``.
    interrupted_ : bool
        Whether ``fit`` was stopped by Ctrl-C (the attributes then hold the
        model learned so far; ``unbiased_z_hat`` is not applied).
    """


class GreedyCDL(_BaseCDL):
    """Dictionary learning that adds atoms one by one at the largest residual.

    The first atom comes from ``D_init``; each new atom is the residual window
    of largest energy (its rank-1 approximation when ``rank1``). Atoms are
    added evenly over ``n_iter`` iterations. Parameters and attributes are
    those of :class:`BatchCDL`.
    """

    def _learning_schedule(self, rng):
        def new_atom(window):
            atom = init_dictionary(window[None], 1, self.n_times_atom,
                                   D_init="chunk", rank1=self.rank1,
                                   uv_constraint=self._uv_constraint(),
                                   window=self._window(), random_state=rng)
            return atom[0]
        return dict(new_atom=new_atom, n_atoms=self.n_atoms)


class OnlineCDL(_BaseCDL):
    """Dictionary learning on minibatches of trials with forgetting.

    Parameters are those of :class:`BatchCDL`, plus:

    Parameters
    ----------
    alpha : float
        Forgetting factor in [0, 1] of the accumulated statistics.
    batch_size : int
        Number of trials per iteration.
    batch_selection : 'random' | 'cyclic'
        How trials are chosen.
    """

    def __init__(self, n_atoms, n_times_atom, reg=0.1, n_iter=60, n_jobs=1,
                 solver_z="lgcd", solver_z_kwargs=None, unbiased_z_hat=False,
                 solver_d="auto", solver_d_kwargs=None, rank1=True, window=False,
                 uv_constraint="auto", lmbd_max="scaled", eps=1e-10, D_init=None,
                 positive=True, sort_atoms=False, callback=None,
                 random_state=None, verbose=None, dtype=None, checkpoint=None,
                 checkpoint_every=10, alpha=0.8, batch_size=1,
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
            checkpoint_every=checkpoint_every)
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


ESTIMATORS = {cls.__name__: cls for cls in (BatchCDL, OnlineCDL, GreedyCDL)}


def read_model(fname):
    """Read a model written by the ``save`` method of a CDL estimator.

    Parameters
    ----------
    fname : path-like
        A ``.npz`` model file.

    Returns
    -------
    model : BatchCDL | OnlineCDL | GreedyCDL
        Fitted estimator with the saved parameters and attributes.
    """
    from ._estimator_io import read_estimator
    return read_estimator(fname, ESTIMATORS)
