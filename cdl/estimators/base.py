"""Parameters, fitted views and methods shared by the CDL estimators."""
import numpy as np
from scipy.signal import windows

from cdl.io.events import model_to_annotations, model_to_events
from cdl.learn.revival_params import DEFAULTS, check_revive_atoms
from cdl.model.diagnostics import describe_atoms
from cdl.model.shapes import split_uv
from cdl.utils.docs import fill_doc
from cdl.utils.log import verbose
from cdl.utils.params import ParamsMixin

from .fitting import fit_estimator
from .persistence import save_estimator
from .transform import transform_estimator


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
                 backend="auto", revive_atoms=True):
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
        self.revive_atoms = revive_atoms

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
        """``tol``, ``max_iter`` and the solver options of every z-step."""
        kwargs = dict(tol=1e-3, max_iter=1000)
        kwargs.update(self.solver_z_kwargs or {})
        kwargs.pop("inexact", None)  # of the learning loop, not of the solver
        return kwargs

    def _inexact_z(self):
        """Whether the z-steps of learning are inexact (``solver_z_kwargs``'s
        ``inexact``, see :mod:`cdl.learn.precision`)."""
        return bool((self.solver_z_kwargs or {}).get("inexact", True))

    def _learning_schedule(self, rng):
        """Keyword arguments of the learning loop specific to this estimator."""
        return {}

    def _n_atoms_at_start(self):
        """Number of atoms of the initial dictionary (all but in greedy)."""
        return self.n_atoms

    def _distributed_kwargs(self):
        """How the DICOD workers of ``solver_z='dicod'`` start."""
        return dict(backend=self.backend, hostfile=None, worker_timeout=60.)

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
            converted with its MEG and EEG data channels, each channel type
            divided by its std (``scalings_``), and its Info is kept in
            ``info_``.
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

    @property
    def diagnostics_(self):
        """One row per atom: label, the numbers behind it, occurrences and flags.

        :meth:`describe_atoms` of ``z_hat_`` (see
        :func:`cdl.model.diagnostics.describe_atoms`).
        """
        return self.describe_atoms()

    def describe_atoms(self, z=None, info=None):
        """Label, occurrences and flags of each atom for some activations.

        Parameters
        ----------
        z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
            Activations (default ``z_hat_``; e.g. those of ``transform``).
        info : mne.Info | None
            Channel names and sampling rate (default ``info_``; without
            them, no label nor region).

        Returns
        -------
        rows : list of dict
            See :func:`cdl.model.diagnostics.describe_atoms`; the thresholds
            of rare and duplicate atoms are those of ``revive_atoms``.
        """
        self._check_fitted()
        params = check_revive_atoms(self.revive_atoms) or DEFAULTS
        info = getattr(self, "info_", None) if info is None else info
        return describe_atoms(
            self.u_hat_, self.v_hat_, self.z_hat_ if z is None else z,
            ch_names=None if info is None else list(info["ch_names"]),
            sfreq=None if info is None else float(info["sfreq"]),
            min_occurrences=params["min_occurrences"],
            max_corr=params["max_corr"], positive=self.positive,
            D=None if self.rank1 else self.D_hat_)

    @property
    def atom_labels_(self):
        """The label of each atom (``diagnostics_``), list of str | None."""
        return [row["label"] for row in self.diagnostics_]

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
        """Encode ``X`` on the learned dictionary: its activations.

        Parameters
        ----------
        X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
            Signals with the channels of the data the model was fitted on; a
            2-D array is one trial, used as it is. A Raw or Epochs is read
            on the model's channels and divided by ``scalings_``.
        picks : str | list | None
            Channels of a Raw or Epochs (default: those of ``info_``).
        %(verbose)s

        Returns
        -------
        z_hat : ndarray of shape (n_trials, n_atoms, n_times_valid)
            Activations of each atom in each trial, with
            ``n_times_valid = n_times - n_times_atom + 1``.
        """
        self._check_fitted()
        return transform_estimator(self, X, picks=picks)

    @fill_doc
    def fit_transform(self, X, y=None, verbose=None):
        """Learn the dictionary of ``X`` and return its activations.

        The same as ``fit(X, verbose=verbose).z_hat_``.

        Parameters
        ----------
        X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
            Signals, as in :meth:`fit`.
        y : None
            Ignored.
        %(verbose)s

        Returns
        -------
        z_hat : ndarray of shape (n_trials, n_atoms, n_times_valid)
            The activations ``z_hat_`` of the fitted model.
        """
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
        self._check_fitted()
        return model_to_annotations(self, z=z, **kwargs)
