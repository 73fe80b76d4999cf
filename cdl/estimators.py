"""BatchCDL, OnlineCDL and GreedyCDL: scikit-learn style estimators.

``__init__`` only stores its arguments; everything is checked in ``fit``. The
estimators orchestrate: the z-step lives in :mod:`cdl.coding`, the d-step in
:mod:`cdl.dictionary` and the alternating loop in :mod:`cdl.learn`.
"""
import numpy as np
from scipy.signal import windows

from ._logging import verbose
from ._params import ParamsMixin
from ._validation import check_int, check_option, check_scalar
from .init_dict import init_dictionary
from .objective import split_uv


class _BaseCDL(ParamsMixin):
    """Shared parameters, fitting and transforming of the CDL estimators."""

    _repr_params = ("n_atoms", "n_times_atom", "reg", "n_iter")

    def __init__(self, n_atoms, n_times_atom, reg=0.1, n_iter=60, n_jobs=1,
                 solver_z="lgcd", solver_z_kwargs=None, unbiased_z_hat=False,
                 solver_d="auto", solver_d_kwargs=None, rank1=True, window=False,
                 uv_constraint="auto", lmbd_max="scaled", eps=1e-10, D_init=None,
                 positive=True, sort_atoms=False, callback=None,
                 random_state=None, verbose=None, dtype=None, checkpoint=None,
                 checkpoint_every=10, chunk_len=None, n_workers=None,
                 backend="auto"):
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
        self.chunk_len = chunk_len
        self.n_workers = n_workers
        self.backend = backend

    # -- fitting -------------------------------------------------------------
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

    def _learning_schedule(self, rng):
        return {}

    @verbose
    def fit(self, X, y=None, resume=None, picks=None, verbose=None):
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
        picks : str | list | None
            Channels of a Raw or Epochs to use (MNE picks: channel types or
            names); None takes the data channels.
        %(verbose)s

        Returns
        -------
        self : instance of the estimator
        """
        from ._fit import fit_estimator
        return fit_estimator(self, X, resume, picks=picks)

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
    def transform(self, X, picks=None, verbose=None):
        """Activations of ``X`` on the learned dictionary.

        Parameters
        ----------
        X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
        picks : str | list | None
            Channels of a Raw or Epochs (as in :meth:`fit`).
        %(verbose)s

        Returns
        -------
        z_hat : ndarray of shape (n_trials, n_atoms, n_times_valid)
        """
        from ._transform import transform_estimator
        self._check_fitted()
        return transform_estimator(self, X, picks=picks)

    def fit_transform(self, X, y=None, verbose=None):
        """Fit, then return ``z_hat_``."""
        return self.fit(X, verbose=verbose).z_hat_

    def save(self, fname, *, overwrite=False, metadata=None):
        """Save the fitted model to a ``.npz`` file (no pickle).

        Parameters
        ----------
        fname : path-like
            File name ending in ``.npz``; read it back with
            :func:`cdl.read_model`.
        overwrite : bool
            Replace an existing file.
        metadata : dict | None
            JSON-serialisable information stored with the model (e.g. the
            preprocessing of the recording); read back in ``metadata_``.
        """
        from ._estimator_io import save_estimator
        self._check_fitted()
        save_estimator(self, fname, overwrite=overwrite, metadata=metadata)

    def to_events(self, z=None, **kwargs):
        """Atom occurrences as an MNE events array (code k + 1 for atom k).

        Parameters
        ----------
        z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
            Activations (default ``z_hat_``).
        **kwargs
            ``first_samp``, ``threshold``, ``trial_starts`` of
            :func:`cdl.io.model_to_events`.

        Returns
        -------
        events : ndarray of shape (n_events, 3)
        event_id : dict
            ``{'atom_<k>': k + 1}``.
        """
        from .io import model_to_events
        self._check_fitted()
        return model_to_events(self, z=z, **kwargs)

    def to_annotations(self, z=None, **kwargs):
        """Atom occurrences as :class:`mne.Annotations` ('atom_<k>', amplitude kept).

        Parameters
        ----------
        z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
            Activations (default ``z_hat_``).
        **kwargs
            ``sfreq``, ``orig_time``, ``first_samp``, ``threshold``,
            ``trial_starts`` of :func:`cdl.io.model_to_annotations`.

        Returns
        -------
        annotations : mne.Annotations
        """
        from .io import model_to_annotations
        self._check_fitted()
        return model_to_annotations(self, z=z, **kwargs)


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
    solver_z : 'lgcd' | 'gcd' | 'fista' | 'l-bfgs' | 'dicod'
        z-step solver; 'dicod' distributes LGCD over ``n_workers`` MPI
        workers that keep their piece of the signal (DiCoDiLe, see
        :mod:`dicod`), for long recordings.
    solver_z_kwargs : dict | None
        ``tol`` (default 1e-3), ``max_iter`` (default 1000) and solver
        options (``seg_len``; for 'dicod' ``strategy``, ``soft_lock``,
        ``timeout``, see :func:`dicod.dicod`).
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
    chunk_len : int | None
        Read and encode ``X`` in windows of about this many samples, keeping
        the activations sparse, so that memory stays bounded on long
        recordings: ``X`` may then be an ``np.memmap`` (e.g.
        ``np.load(fname, mmap_mode='r')``) or an ``mne.io.Raw`` opened with
        ``preload=False``, never loaded whole (the initial dictionary is
        drawn from its first 131072 samples). Needs ``solver_z='lgcd'``.
        None holds ``X`` in memory.
    n_workers : int | None
        Workers of ``solver_z='dicod'``. None: under ``mpirun -n N`` the
        N - 1 ranks other than the root (see :func:`dicod.run_mpi`), else one
        per CPU core (fewer if the signal is shorter than two atom lengths
        per worker).
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How the workers of ``solver_z='dicod'`` start: spawned MPI processes,
        the ranks of an ``mpirun`` job, or threads; 'auto' picks 'mpirun'
        inside an ``mpirun`` job of several processes, else 'spawn'.

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
                 checkpoint_every=10, chunk_len=None, n_workers=None,
                 backend="auto", alpha=0.8, batch_size=1, batch_selection="random"):
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
            n_workers=n_workers, backend=backend)
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
    model : BatchCDL | OnlineCDL | GreedyCDL | dicod.DiCoDiLe
        Fitted estimator with the saved parameters and attributes.
    """
    from dicod import DiCoDiLe  # imports neither mpi4py nor MPI

    from ._estimator_io import read_estimator
    return read_estimator(fname, {**ESTIMATORS, "DiCoDiLe": DiCoDiLe})
