"""The encoder of a signal held in memory: the z-step runs in this process."""
import numpy as np

from cdl.coding.encode import _sparse_encode
from cdl.model.objective import _lambda_max as lambda_max
from cdl.model.objective import _objective as compute_objective
from cdl.model.objective import _reconstruct as reconstruct
from cdl.model.objective import (
    compute_DtD,
    compute_ztX,
    compute_ztz,
    data_fit_from_stats,
)
from cdl.model.occurrences import occurrence_counts

from .encoder import Encoder, nonzero_entries
from .revival_rules import shift_activations


class LocalEncoder(Encoder):
    """In-process z-step over all trials of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Checked signal.
    n_atoms : int
    n_times_atom : int
    solver : str
        z-solver name (see :func:`cdl.sparse_encode`).
    solver_kwargs : dict
        ``tol``, ``max_iter`` and solver options passed to the z-step.
        With ``solver='lgcd'`` or ``'gcd'`` the z-steps can be inexact (see
        :meth:`set_min_decrease`, float64 only).
    positive : bool
        Non-negative activations.
    n_jobs : int
        Processes over trials.
    """

    def __init__(self, X, n_atoms, n_times_atom, solver="lgcd", solver_kwargs=None,
                 positive=True, n_jobs=1):
        self.X = X
        self.n_channels = X.shape[1]
        self.n_times_atom = n_times_atom
        self.solver = solver
        self.solver_kwargs = dict(solver_kwargs or {})
        self.positive = positive
        self.n_jobs = n_jobs
        self._z = np.zeros((X.shape[0], n_atoms, X.shape[2] - n_times_atom + 1),
                          dtype=X.dtype)
        self.XtX = _sum_of_squares(X)
        # Per trial, for the z-step: its tol scale and its sum of squares.
        self._scales = np.array([float(np.std(X_n)) for X_n in X])
        self._sq_norms = np.array([_sum_of_squares(X_n[None]) for X_n in X])
        self.D = None
        self.reg = None
        self._version = 0  # of the activations, for the statistics of get_cost
        self._cost_stats = None

    def set_D(self, D):
        """Set the dictionary (``uv`` or full rank) used by the next z-step."""
        self.D = np.ascontiguousarray(D, dtype=self.X.dtype)
        self._DtD = compute_DtD(self.D, self.n_channels)

    def set_z(self, z):
        """Replace the activations (used to resume from a checkpoint).

        Parameters
        ----------
        z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        """
        z = np.asarray(z, dtype=self.X.dtype)
        expected = (self.X.shape[0], z.shape[1] if z.ndim == 3 else -1,
                    self.X.shape[2] - self.n_times_atom + 1)
        if z.shape != expected:
            raise ValueError(f"z must have shape (n_trials, n_atoms, "
                             f"n_times_valid) = {expected}, got {z.shape}.")
        self._z = np.array(z, order="C")  # a copy: never aliases the caller's
        self._version += 1

    def add_atom(self):
        """Append a row of zero activations for a new atom (greedy learning)."""
        n_trials, _, n_times_valid = self._z.shape
        self._z = np.concatenate(
            [self._z, np.zeros((n_trials, 1, n_times_valid), self._z.dtype)], axis=1)
        self._version += 1

    def lambda_max(self, per_atom=False):
        """lambda_max of the signal for the current dictionary."""
        return lambda_max(self.X, self.D, per_atom=per_atom)

    # -- atom revival: in place, without a dense copy ----------------------------
    def atom_usage(self):
        """Occurrences and sum of the absolute activations of each atom."""
        return (occurrence_counts(self._z),
                np.abs(self._z).sum(axis=(0, 2), dtype=np.float64))

    def atom_activations(self, atoms):
        """Non-zero activations of some atoms, per trial (see
        :meth:`cdl.learn.Encoder.atom_activations`)."""
        return {int(k): [nonzero_entries(z_n[k]) for z_n in self._z] for k in atoms}

    def reset_atom(self, atom):
        """Set the activations of one atom to zero in every trial."""
        self._z[:, atom] = 0.
        self._version += 1

    def shift_activations(self, atom, shift):
        """Move the activations of one atom (its waveform moved by ``shift``)."""
        self._z[:, atom] = shift_activations(self._z[:, atom], shift)
        self._version += 1

    def keep_z(self):
        """Remember a copy of the activations, for :meth:`restore_z`."""
        self._kept_z = self._z.copy()

    def restore_z(self):
        """Put back the activations remembered by :meth:`keep_z`."""
        self._z, self._kept_z = self._kept_z, None
        self._version += 1

    def compute_z(self, trials=None):
        """Run the z-step, warm-started from the current activations.

        Parameters
        ----------
        trials : ndarray of int | None
            Trials to encode (all if None).

        Returns
        -------
        info : dict
            What :func:`cdl.sparse_encode` returns with ``return_info``.
        """
        idx = slice(None) if trials is None else trials
        kwargs = dict(self.solver_kwargs)
        if self.min_decrease is not None and self.solver in ("lgcd", "gcd"):
            # Inexact z-step (cdl.learn.precision): shared among the trials.
            n_encoded = self.X.shape[0] if trials is None else len(trials)
            kwargs["min_decrease"] = self.min_decrease / n_encoded
        z, info = _sparse_encode(
            self.X[idx], self.D, self.reg, solver=self.solver, z0=self._z[idx],
            positive=self.positive, n_jobs=self.n_jobs, DtD=self._DtD,
            scales=self._scales[idx], sq_norms=self._sq_norms[idx], **kwargs)
        self._z[idx] = z
        self._version += 1
        info["l1"] = self.get_l1()
        return info

    def get_sufficient_statistics(self, trials=None):
        """Return ``ztz`` and ``ztX`` (summed over the given trials)."""
        idx = slice(None) if trials is None else trials
        z = self._z[idx]
        return compute_ztz(z, self.n_times_atom), compute_ztX(z, self.X[idx])

    def get_l1(self, trials=None):
        """Sum of ``reg_k * |z_k|`` over the given trials."""
        idx = slice(None) if trials is None else trials
        return float(np.sum(self.reg * np.abs(self._z[idx]).sum(axis=(0, 2))))

    def get_cost(self):
        """Objective of the current dictionary and activations.

        In float64 with sparse activations, from the sufficient statistics of
        all trials (``0.5 ||X||^2 - <D, ztX> + 0.5 <D, ztz D>``): a cost in
        their non-zeros rather than a reconstruction of every signal, and the
        statistics are kept until the activations change (online learning
        asks for the cost after the z-step and again after the d-step).
        """
        if self.X.dtype == np.float64 and self._sparse_enough():
            if self._cost_stats is None or self._cost_stats[0] != self._version:
                self._cost_stats = (self._version,
                                    *self.get_sufficient_statistics())
            _, ztz, ztX = self._cost_stats
            return data_fit_from_stats(self.D, ztz, ztX, self.XtX,
                                       self.n_channels) + self.get_l1()
        return compute_objective(self.X, self._z, self.D, self.reg)

    def _sparse_enough(self):
        """Whether the statistics cost less than a reconstruction."""
        n_trials, n_atoms, n_times_valid = self._z.shape
        L = self.n_times_atom
        nnz = np.count_nonzero(self._z)
        return nnz * (self.n_channels * L + 2 * n_atoms * L) \
            < n_trials * n_times_valid * self.n_channels * (n_atoms + 1)

    def get_z_hat(self):
        """Copy of the current activations."""
        return self._z.copy()

    def residual_window(self, n_times_atom):
        """Window of the residual with the largest energy.

        Returns
        -------
        window : ndarray of shape (n_channels, n_times_atom)
        """
        residual = self.X - reconstruct(self._z, self.D, self.n_channels) \
            if self.D is not None else self.X
        energy = np.cumsum(np.concatenate(
            [np.zeros((residual.shape[0], 1)),
             (residual.astype(float) ** 2).sum(axis=1)], axis=1), axis=1)
        window_energy = energy[:, n_times_atom:] - energy[:, :-n_times_atom]
        n, t = np.unravel_index(np.argmax(window_energy), window_energy.shape)
        return residual[n, :, t:t + n_times_atom].copy()

    @property
    def n_atoms(self):
        return self._z.shape[1]

    @property
    def z(self):
        """The activations (the encoder's own array: do not modify it)."""
        return self._z


def _sum_of_squares(X, block=2 ** 16):
    """``sum X ** 2`` in float64, without a float64 copy of ``X``."""
    total = 0.
    for X_n in X:
        for start in range(0, X_n.shape[1], block):
            part = X_n[:, start:start + block]
            total += float(np.sum(part * part, dtype=np.float64))
    return total
