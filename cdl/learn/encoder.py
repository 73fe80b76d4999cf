"""The z-step seam: the learning loop talks to an encoder, never to solvers.

An encoder holds the signal and the current activations, runs the z-step for
the dictionary it is given and returns what the d-step needs: the sufficient
statistics ``ztz`` and ``ztX``. :class:`Encoder` states the protocol that
:func:`cdl.learn.learn_dictionary` relies on; three encoders implement it:

- :class:`cdl.learn.LocalEncoder`: in this process, the signal in memory;
- :class:`cdl.learn.ChunkedEncoder`: window by window over a signal that
  stays on disk, activations kept sparse;
- :class:`dicod.DistributedEncoder`: on DICOD workers that each keep a piece
  of the signal and of the activations (DiCoDiLe).
"""
from abc import ABC, abstractmethod

import numpy as np

from cdl.model.occurrences import occurrence_counts

from .revival_rules import dense_cluster_counts, shift_activations


class Encoder(ABC):
    """What the learning loop needs from a z-step.

    An encoder is a context manager: resources (processes, workers) are held
    between ``__enter__`` and ``__exit__``.

    Attributes
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times) | source
        The signal (a window-by-window source for the chunked encoder).
    n_channels : int
    n_times_atom : int | tuple of int
        Atom length (atom shape for 2-D atoms).
    XtX : float
        ``sum X ** 2``, with which the data fit follows from the statistics.
    D : ndarray | None
        The dictionary given to :meth:`set_D` (``uv`` or full rank).
    reg : ndarray of shape (n_atoms,) | None
        The regularisation given to :meth:`set_reg`.
    """

    #: What the learning loop asks after each change (see :meth:`track`).
    tracked = dict(cost=False, lambda_max=False, usage=False)
    #: Inexact z-steps (see :meth:`set_min_decrease`); None: exact.
    min_decrease = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @property
    @abstractmethod
    def n_atoms(self):
        """Number of atoms (rows of activations) held."""

    @property
    def z(self):
        """The activations, shape (n_trials, n_atoms, n_times_valid).

        A copy, or the encoder's own array (do not modify it).
        """
        return self.get_z_hat()

    def track(self, cost=False, lambda_max=False, usage=False):
        """Say what the learning loop will ask after each change.

        The loop asks :meth:`get_cost` after each z-step and each
        :meth:`set_D` when ``cost``, :meth:`lambda_max` after each
        :meth:`set_D` when ``lambda_max``, and :meth:`atom_usage` and
        :meth:`atom_clusters` after each z-step when ``usage`` (atom
        revival). An encoder whose questions are
        round trips to workers computes these with the change itself; the
        others need not do anything.

        Parameters
        ----------
        cost : bool
            Whether the loop asks the cost after each change.
        lambda_max : bool
            Whether the loop asks lambda_max after each :meth:`set_D`.
        usage : bool
            Whether the loop asks the occurrences (and clusters) of the
            atoms after each z-step.
        """
        self.tracked = dict(cost=bool(cost), lambda_max=bool(lambda_max),
                            usage=bool(usage))

    @abstractmethod
    def set_D(self, D):
        """Set the dictionary (``uv`` or full rank) used by the next z-step."""

    def set_reg(self, reg):
        """Set the regularisation of the next z-step.

        Parameters
        ----------
        reg : ndarray of shape (n_atoms,)
            Absolute regularisation of each atom.
        """
        self.reg = np.asarray(reg, dtype=float)

    def set_min_decrease(self, min_decrease):
        """Set how precisely the next z-steps are solved (inexact z-steps).

        The learning loop calls it before each z-step when its z-steps are
        inexact (see :mod:`cdl.learn.precision`). An encoder that supports
        them stops its z-step, besides its ``tol`` and ``max_iter``, once a
        block of sweeps decreases the objective of the encoded trials by less
        than ``min_decrease``; the others ignore it (exact z-steps).

        Parameters
        ----------
        min_decrease : float | None
            Decrease of the objective (all encoded trials together); None:
            exact z-steps.
        """
        self.min_decrease = None if min_decrease is None else float(min_decrease)

    @abstractmethod
    def set_z(self, z):
        """Replace the activations (resuming from a checkpoint).

        Parameters
        ----------
        z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        """

    @abstractmethod
    def add_atom(self):
        """Append a row of zero activations for a new atom (greedy learning)."""

    @abstractmethod
    def lambda_max(self, per_atom=False):
        """lambda_max of the signal for the current dictionary.

        Returns
        -------
        lambda_max : float | ndarray of shape (n_atoms,)
            One value, or one per atom with ``per_atom``.
        """

    @abstractmethod
    def compute_z(self, trials=None):
        """Run the z-step on the given trials, warm-started from the current
        activations. An interrupted z-step (Ctrl-C) leaves the activations as
        they were before it.

        Parameters
        ----------
        trials : ndarray of int | None
            Trials to encode (all if None).

        Returns
        -------
        info : dict
            At least ``objective``, the objective of the encoded trials, and
            ``l1``, the sum of ``reg_k * |z_k|`` over all trials after the
            z-step (what :meth:`get_l1` would return).
        """

    @abstractmethod
    def get_sufficient_statistics(self, trials=None):
        """``ztz`` and ``ztX`` summed over the given trials (all if None).

        Returns
        -------
        ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
        ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
        """

    @abstractmethod
    def get_l1(self, trials=None):
        """Sum of ``reg_k * |z_k|`` over the given trials (all if None)."""

    @abstractmethod
    def get_cost(self):
        """Objective of the current dictionary and activations (all trials)."""

    @abstractmethod
    def get_z_hat(self):
        """Copy of the activations, shape (n_trials, n_atoms, n_times_valid)."""

    @abstractmethod
    def residual_window(self, n_times_atom):
        """Window of the residual with the largest energy (greedy learning).

        Returns
        -------
        window : ndarray of shape (n_channels, n_times_atom)
        """


    # -- atom revival (cdl.learn.revival) ----------------------------------------
    # Written with get_z_hat and set_z, so that every encoder has them; the
    # encoders of this package override them without a dense copy.
    def atom_usage(self):
        """How much each atom is used.

        Returns
        -------
        counts : ndarray of int64, shape (n_atoms,)
            Occurrences (positive local maxima of the activations, see
            :func:`cdl.model.occurrences.local_maxima`), summed over trials.
        sums : ndarray of float64, shape (n_atoms,)
            Sum of the absolute activations.
        """
        z = self.get_z_hat()
        return occurrence_counts(z), np.abs(z).sum(axis=(0, 2), dtype=np.float64)

    def atom_activations(self, atoms):
        """The non-zero activations of some atoms.

        Parameters
        ----------
        atoms : list of int

        Returns
        -------
        activations : dict
            ``atom: [(times, values), ...]``, one pair per trial: the times
            (int64, increasing) and values (float64) of the atom's non-zero
            activations.
        """
        return {int(k): [nonzero_entries(z_n[k]) for z_n in np.asarray(self.z)]
                for k in atoms}

    def atom_clusters(self):
        """How each atom's activations gather, for the fragmented-atom rule of
        revival (:func:`cdl.learn.revival_rules.cluster_counts`).

        Returns
        -------
        counts : ndarray of int64, shape (3, n_atoms)
            Per atom, summed over trials: compact clusters, occurrences in
            them, all occurrences.
        """
        return dense_cluster_counts(np.asarray(self.z), self.n_times_atom)

    def reset_atom(self, atom):
        """Set the activations of one atom to zero in every trial.

        Parameters
        ----------
        atom : int
        """
        z = self.get_z_hat()
        z[:, atom] = 0.
        self.set_z(z)

    def shift_activations(self, atom, shift):
        """Move the activations of one atom for its waveform moved by
        ``shift`` samples (:func:`cdl.learn.revival_rules.shift_activations`):
        the model is unchanged.

        Parameters
        ----------
        atom : int
        shift : int
            Samples by which the waveform moves later (earlier if negative).
        """
        z = self.get_z_hat()
        z[:, atom] = shift_activations(z[:, atom], shift)
        self.set_z(z)

    def keep_z(self):
        """Remember a copy of the activations, for :meth:`restore_z`."""
        self._kept_z = self.get_z_hat()

    def restore_z(self):
        """Put back the activations remembered by :meth:`keep_z` (and forget
        them)."""
        self.set_z(self._kept_z)
        self.forget_z()

    def forget_z(self):
        """Forget the activations remembered by :meth:`keep_z`."""
        self._kept_z = None


def nonzero_entries(z_k):
    """``(times, values)`` of the non-zero entries of one row."""
    times = np.flatnonzero(z_k)
    return times.astype(np.int64), np.asarray(z_k[times], dtype=np.float64)


class LazyActivations(np.lib.mixins.NDArrayOperatorsMixin):
    """An encoder's activations, read from it when first used.

    Given to the learning loop's callback: a distributed encoder gathers its
    workers' activations only if the callback looks at them. It behaves as
    an ndarray (attributes, indexing, arithmetic and numpy functions), and
    ``np.asarray`` gives the array itself.
    """

    def __init__(self, encoder):
        self._encoder = encoder
        self._array = None

    def __array__(self, dtype=None, copy=None):
        if self._array is None:
            self._array = self._encoder.z
        return self._array if dtype is None else self._array.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [np.asarray(x) if isinstance(x, LazyActivations) else x
                  for x in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)

    def __getitem__(self, index):
        return np.asarray(self)[index]

    def __len__(self):
        return len(np.asarray(self))

    def __iter__(self):
        return iter(np.asarray(self))

    def __repr__(self):
        return repr(np.asarray(self))
