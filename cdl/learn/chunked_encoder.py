"""An encoder for recordings read window by window (the learning loop's seam).

``ChunkedEncoder`` has the methods of :class:`cdl.learn.LocalEncoder`, but the
signal stays where it is (an array, a memory map or a lazy MNE Raw, read
through :mod:`cdl.io.sources`), the activations are kept sparse
(:class:`cdl.coding.SparseActivations`) and every pass over the data (z-step,
statistics, objective) goes window by window. Memory is then bounded by one
window of the signal plus the non-zero activations, whatever the length of the
recording.
"""
import numpy as np
from scipy import sparse

from cdl.coding.chunked import SparseActivations, check_windows, encode_trial_chunked
from cdl.coding.encode import reg_as
from cdl.io.sources import (
    as_source,
    check_source,
    lambda_max_source,
    objective_source,
    residual_window_source,
    stats_source,
)
from cdl.model.objective import compute_DtD
from cdl.model.occurrences import sparse_occurrence_counts

from .encoder import Encoder
from .revival_rules import cluster_counts


class ChunkedEncoder(Encoder):
    """Window-by-window z-step over all trials of a long signal.

    Parameters
    ----------
    X : ndarray | np.memmap | mne.io.Raw | source
        Signal of shape (n_trials, n_channels, n_times) (see
        :func:`cdl.coding.chunked.sparse_encode_chunked`); read, never copied whole.
    n_atoms : int
    n_times_atom : int
    solver_kwargs : dict
        ``tol`` (relative to each trial's std), ``max_iter`` and ``seg_len``.
    positive : bool
    chunk_len, margin : int | None
        Window geometry (see :func:`cdl.coding.chunked.sparse_encode_chunked`).
    dtype : dtype | None
        Computation dtype.
    """

    def __init__(self, X, n_atoms, n_times_atom, solver_kwargs=None,
                 positive=True, chunk_len=None, margin=None, dtype=None):
        self.X = as_source(X, dtype=dtype)
        n_trials, self.n_channels, n_times = self.X.shape
        self.n_times_atom = n_times_atom
        kwargs = dict(solver_kwargs or {})
        self.tol = kwargs.pop("tol", 1e-3)
        self.max_iter = kwargs.pop("max_iter", 1000)
        self.chunk_len, self.margin, self.seg_len = check_windows(
            chunk_len, margin, kwargs.pop("seg_len", None), n_times_atom)
        self.positive = positive
        self.XtX, self._stds = check_source(self.X)
        self._z = [SparseActivations(n_atoms, n_times - n_times_atom + 1,
                                     self.X.dtype) for _ in range(n_trials)]
        self.D = None
        self.reg = None

    @property
    def n_atoms(self):
        return self._z[0].shape[0]

    def set_D(self, D):
        """Set the dictionary (``uv`` or full rank) used by the next z-step."""
        self.D = np.ascontiguousarray(D, dtype=self.X.dtype)
        self._DtD = compute_DtD(self.D, self.n_channels)

    def set_z(self, z):
        """Replace the activations with a dense array (resume)."""
        self._z = [SparseActivations.from_array(np.asarray(z_n), self.X.dtype)
                   for z_n in z]

    def add_atom(self):
        """Append a row of zero activations for a new atom."""
        for z_n in self._z:
            z_n.add_atom()

    def lambda_max(self, per_atom=False):
        """lambda_max of the signal for the current dictionary."""
        return lambda_max_source(self.X, self.D, per_atom=per_atom)

    # -- atom revival: on the sparse activations, never dense -------------------
    def atom_usage(self):
        """Occurrences and sum of the absolute activations of each atom."""
        counts = np.zeros(self.n_atoms, dtype=np.int64)
        sums = np.zeros(self.n_atoms)
        for z_n in self._z:
            if z_n.nnz:
                counts += sparse_occurrence_counts(z_n.tocsr())
                sums += z_n.abs_sum()
        return counts, sums

    def atom_activations(self, atoms):
        """Non-zero activations of some atoms, per trial (see
        :meth:`cdl.learn.Encoder.atom_activations`), from the sparse store."""
        out = {int(k): [] for k in atoms}
        for z_n in self._z:
            csr = z_n.tocsr() if z_n.nnz else None
            for k in out:
                if csr is None:
                    out[k].append((np.zeros(0, np.int64), np.zeros(0)))
                    continue
                row = slice(csr.indptr[k], csr.indptr[k + 1])
                times = csr.indices[row].astype(np.int64)
                order = np.argsort(times, kind="stable")
                out[k].append((times[order],
                               csr.data[row][order].astype(np.float64)))
        return out

    def atom_clusters(self):
        """How each atom's activations gather (see
        :meth:`cdl.learn.Encoder.atom_clusters`), from the sparse store."""
        activations = self.atom_activations(range(self.n_atoms))
        counts = np.zeros((3, self.n_atoms), dtype=np.int64)
        for k, trials in activations.items():
            for times, _ in trials:
                counts[:, k] += cluster_counts(times, self.n_times_atom)
        return counts

    def _move_atom(self, atom, move):
        """Rebuild each trial with the entries of ``atom`` at columns
        ``move(columns)`` (entries moved out of the trial are dropped)."""
        for n, z_n in enumerate(self._z):
            if not z_n.nnz:
                continue
            coo = z_n.tocsr().tocoo()
            rows, cols, values = coo.row, coo.col.astype(np.int64), coo.data
            cols = np.where(rows == atom, move(cols), cols)
            keep = (cols >= 0) & (cols < z_n.shape[1])
            z = sparse.csr_array((values[keep], (rows[keep], cols[keep])),
                                 shape=z_n.shape)
            self._z[n] = SparseActivations.from_array(z, self.X.dtype)

    def reset_atom(self, atom):
        """Set the activations of one atom to zero in every trial."""
        self._move_atom(atom, lambda cols: np.full_like(cols, -1))

    def shift_activations(self, atom, shift):
        """Move the activations of one atom (its waveform moved by ``shift``):
        ``z'(t) = z(t + shift)``."""
        self._move_atom(atom, lambda cols: cols - shift)

    def keep_z(self):
        """Remember the activations (cheap: their blocks are shared)."""
        self._kept_z = [z_n.copy() for z_n in self._z]

    def restore_z(self):
        """Put back the activations remembered by :meth:`keep_z`."""
        self._z, self._kept_z = self._kept_z, None

    def compute_z(self, trials=None):
        """Run the z-step window by window, warm-started.

        Returns
        -------
        info : dict
            ``objective`` (over all trials), ``n_windows``, ``n_updates``.
        """
        counts = dict(n_windows=0, n_updates=0)
        reg = reg_as(self.reg, self.X.dtype, self._DtD)
        # Work on a copy, swapped in at the end: an interruption (Ctrl-C)
        # leaves the activations of the previous z-step, as LocalEncoder does.
        z = [z_n.copy() for z_n in self._z]
        for trial in self._trials(trials):
            tol = self.tol * self._stds[trial] if self._stds[trial] > 0 \
                else self.tol
            encode_trial_chunked(self.X, trial, self.D, self._DtD, reg, z[trial],
                                 self.chunk_len, self.margin, tol, self.max_iter,
                                 self.positive, self.seg_len, counts)
        self._z = z
        counts["objective"] = self.get_cost() if trials is None else np.nan
        counts["l1"] = self.get_l1()
        return counts

    def _trials(self, trials):
        return range(len(self._z)) if trials is None else [int(t) for t in trials]

    def get_sufficient_statistics(self, trials=None):
        """Return ``ztz`` and ``ztX`` (summed over the given trials)."""
        return stats_source(self.X, self._z, self.n_times_atom,
                            trials=None if trials is None else self._trials(trials))

    def get_l1(self, trials=None):
        """Sum of ``reg_k * |z_k|`` over the given trials."""
        l1 = sum(self._z[t].abs_sum() for t in self._trials(trials))
        return float(np.sum(self.reg * l1))

    def get_cost(self):
        """Objective of the current dictionary and activations."""
        return objective_source(self.X, self._z, self.D, self.reg)

    def get_z_hat(self):
        """Dense copy of the activations (n_trials, n_atoms, n_times_valid)."""
        return np.stack([z_n.toarray() for z_n in self._z])

    def get_z_sparse(self):
        """Activations as one ``scipy.sparse.csr_array`` per trial."""
        return [z_n.tocsr() for z_n in self._z]

    def residual_window(self, n_times_atom):
        """Window of the residual with the largest energy."""
        return residual_window_source(self.X, self._z, self.D, n_times_atom)
