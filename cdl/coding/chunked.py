"""Sparse coding of long recordings in bounded memory, window by window.

A recording too long to hold (or to copy) is encoded in overlapping windows of
activations, each solved by LGCD with every activation outside the window held
fixed: the window sees the signal minus the contribution of its neighbours.
This is block coordinate descent on the whole problem, so its fixed points are
those of the one-shot problem; the only question is when to stop.

The rule is the one of one-shot LGCD: stop when no coordinate anywhere would
change by more than ``tol``. A window solve leaves every coordinate of the
window within ``tol``; a change of ``z[:, t]`` can only spoil the coordinates
less than ``n_times_atom`` samples away. So each solve marks as *pending* the
samples within ``n_times_atom - 1`` of a changed activation and outside the
window, and pending samples are solved again, in a window widened by
``margin`` on both sides, until none are left. Windows are taken from the left:
the first pass moves along the recording in windows of ``chunk_len +
2 * margin`` samples that overlap by ``margin``; the border fix-ups are small
windows solved as soon as they appear.

Activations are kept sparse (:class:`SparseActivations`: CSR blocks); only the
current window is ever dense.
"""
import numpy as np
from scipy import sparse

from cdl.io.sources import as_source, check_source, objective_source
from cdl.model.objective import _reconstruct, compute_DtD
from cdl.utils.log import logger, verbose, warn
from cdl.utils.validation import (
    check_bool,
    check_dictionary,
    check_int,
    check_reg,
    check_scalar,
)

from .encode import check_n_times_atom, reg_as
from .solvers import coordinate_descent

STORE_BLOCK = 4096  # samples per CSR block of SparseActivations


class SparseActivations:
    """Activations of one trial, stored as CSR blocks of ``STORE_BLOCK`` samples.

    Parameters
    ----------
    n_atoms : int
    n_times_valid : int
    dtype : dtype
    """

    def __init__(self, n_atoms, n_times_valid, dtype=np.float64):
        self.shape = (n_atoms, n_times_valid)
        self.dtype = np.dtype(dtype)
        self._blocks = {}

    @classmethod
    def from_array(cls, z, dtype=None):
        """Build from a dense array or scipy sparse matrix (n_atoms, n_times_valid)."""
        dtype = z.dtype if dtype is None else dtype
        out = cls(z.shape[0], z.shape[1], dtype)
        for start in range(0, z.shape[1], STORE_BLOCK):
            stop = min(start + STORE_BLOCK, z.shape[1])
            block = z[:, start:stop]
            block = block.toarray() if sparse.issparse(block) else block
            out._put(start // STORE_BLOCK, np.asarray(block, dtype=dtype))
        return out

    def _put(self, index, dense):
        if np.any(dense):
            self._blocks[index] = sparse.csr_array(dense.astype(self.dtype))
        else:
            self._blocks.pop(index, None)

    def _span(self, start, stop):
        for b in range(start // STORE_BLOCK, (stop - 1) // STORE_BLOCK + 1):
            b_start = b * STORE_BLOCK
            lo, hi = max(start, b_start), min(stop, b_start + STORE_BLOCK)
            yield b, b_start, lo, hi

    def get(self, start, stop):
        """Dense copy of samples ``[start, stop)``, shape (n_atoms, stop - start)."""
        out = np.zeros((self.shape[0], stop - start), dtype=self.dtype)
        if stop > start:
            for b, b_start, lo, hi in self._span(start, stop):
                if b in self._blocks:
                    out[:, lo - start:hi - start] = \
                        self._blocks[b][:, lo - b_start:hi - b_start].toarray()
        return out

    def set(self, start, stop, values):
        """Overwrite samples ``[start, stop)`` with a dense ``values``."""
        for b, b_start, lo, hi in self._span(start, stop):
            b_stop = min(b_start + STORE_BLOCK, self.shape[1])
            if lo == b_start and hi == b_stop:
                block = values[:, lo - start:hi - start]
            else:
                block = self.get(b_start, b_stop)
                block[:, lo - b_start:hi - b_start] = values[:, lo - start:hi - start]
            self._put(b, block)

    @property
    def nnz(self):
        """Number of non-zero activations."""
        return int(sum(block.nnz for block in self._blocks.values()))

    def abs_sum(self):
        """``sum_t |z[k, t]|`` per atom, float64 array of shape (n_atoms,)."""
        total = np.zeros(self.shape[0])
        for block in self._blocks.values():
            total += np.abs(block).sum(axis=1)
        return total

    def tocsr(self):
        """The activations as a ``scipy.sparse.csr_array`` (n_atoms, n_times_valid)."""
        rows, cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        vals = [np.zeros(0, self.dtype)]
        for b, block in sorted(self._blocks.items()):
            coo = block.tocoo()
            rows.append(coo.row.astype(np.int64))
            cols.append(coo.col.astype(np.int64) + b * STORE_BLOCK)
            vals.append(coo.data)
        return sparse.csr_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=self.shape)

    def toarray(self):
        """Dense copy, ndarray of shape (n_atoms, n_times_valid)."""
        return self.get(0, self.shape[1])

    def copy(self):
        """A copy (cheap: blocks are replaced on write, never modified)."""
        out = SparseActivations(*self.shape, dtype=self.dtype)
        out._blocks = dict(self._blocks)
        return out

    def add_atom(self):
        """Append a row of zero activations (a new atom)."""
        self.shape = (self.shape[0] + 1, self.shape[1])
        for b, block in self._blocks.items():
            self._blocks[b] = sparse.csr_array(sparse.vstack(
                [block, sparse.csr_array((1, block.shape[1]), dtype=self.dtype)]))


@verbose
def sparse_encode_chunked(X, D, reg, chunk_len=None, margin=None, z0=None,
                          tol=1e-3, max_iter=1000, positive=True, seg_len=None,
                          dtype=None, picks=None, return_info=False,
                          verbose=None):
    """Sparse-code a long recording window by window, in bounded memory.

    Solves the same problem as :func:`cdl.sparse_encode` with ``solver='lgcd'``
    and stops by the same rule (no coordinate would change by more than
    ``tol``), but never holds more than one window of the signal and of dense
    activations in memory. See the module docstring for how the borders
    between windows are handled.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times) | np.memmap | mne.io.Raw
        Signals; a 2-D array is one trial. A memory map (e.g.
        ``np.load(fname, mmap_mode='r')``) or a Raw opened with
        ``preload=False`` is read window by window.
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).
    reg : float | ndarray of shape (n_atoms,)
        Regularisation (absolute), >= 0.
    chunk_len : int | None
        Samples of activations added by each window of the first pass (None:
        ``max(2 ** 15, 20 * n_times_atom)``).
    margin : int | None
        Overlap added on each side of a window, >= ``n_times_atom - 1`` (None:
        ``4 * n_times_atom``).
    z0 : list of SparseActivations or sparse matrices or ndarrays | ndarray | None
        Warm start, one (n_atoms, n_times_valid) entry per trial.
    tol : float
        Stop when no coordinate would change by more than ``tol`` times the
        standard deviation of the trial (as :func:`cdl.sparse_encode`).
    max_iter : int
        Maximum number of LGCD passes within one window.
    positive : bool
        Non-negative activations.
    seg_len : int | None
        LGCD segment length (None: ``2 * n_times_atom``).
    dtype : 'float64' | 'float32' | None
        Computation dtype (None: that of a float array, else float64).
    picks : str | list | None
        Channels of a Raw (see :func:`cdl.io.mne_to_X`).
    return_info : bool
        Also return a dict with ``objective``, ``n_windows``, ``n_updates``
        and ``nnz``.
    %(verbose)s

    Returns
    -------
    z : list of scipy.sparse.csr_array of shape (n_atoms, n_times_valid)
        Activations of each trial.
    info : dict
        Only if ``return_info``.
    """
    source = as_source(X, dtype=dtype, picks=picks)
    n_trials, n_channels, n_times = source.shape
    D, n_times_atom = check_dictionary(D, n_channels=n_channels, dtype=source.dtype)
    check_n_times_atom(n_times_atom, n_times)
    reg = check_reg(reg, D.shape[0])
    tol = check_scalar("tol", tol, min_value=0.)
    max_iter = check_int("max_iter", max_iter, min_value=1)
    positive = check_bool("positive", positive)
    chunk_len, margin, seg_len = check_windows(chunk_len, margin, seg_len,
                                               n_times_atom)
    n_valid = n_times - n_times_atom + 1
    z = check_z0_list(z0, n_trials, D.shape[0], n_valid, source.dtype, positive)
    _, stds = check_source(source)
    DtD = compute_DtD(D, n_channels)
    counts = dict(n_windows=0, n_updates=0)
    for trial in range(n_trials):
        # As in the one-shot z-step, tol is relative to the trial's scale.
        tol_n = tol * stds[trial] if stds[trial] > 0 else tol
        encode_trial_chunked(source, trial, D, DtD, reg, z[trial], chunk_len,
                             margin, tol_n, max_iter, positive, seg_len, counts)
    out = [z_n.tocsr() for z_n in z]
    logger.info("Chunked z-step: %d windows, %d updates, %d non-zeros",
                counts["n_windows"], counts["n_updates"], sum(o.nnz for o in out))
    if not check_bool("return_info", return_info):
        return out
    info = dict(counts, nnz=sum(o.nnz for o in out),
                objective=objective_source(source, z, D, reg))
    return out, info


def check_windows(chunk_len, margin, seg_len, n_times_atom):
    """Validate (and default) the window geometry."""
    if margin is None:
        margin = 4 * n_times_atom
    margin = check_int("margin", margin, min_value=n_times_atom - 1)
    if chunk_len is None:
        chunk_len = max(2 ** 15, 20 * n_times_atom)
    chunk_len = check_int("chunk_len", chunk_len, min_value=1)
    seg_len = 2 * n_times_atom if seg_len is None else \
        check_int("seg_len", seg_len, min_value=1)
    return chunk_len, max(margin, 1), seg_len


def check_z0_list(z0, n_trials, n_atoms, n_valid, dtype, positive):
    """Warm start as one SparseActivations per trial (zeros if None)."""
    if z0 is None:
        return [SparseActivations(n_atoms, n_valid, dtype) for _ in range(n_trials)]
    if isinstance(z0, np.ndarray) and z0.ndim == 3:
        z0 = list(z0)
    if not isinstance(z0, (list, tuple)) or len(z0) != n_trials:
        raise ValueError(f"z0 must be None or hold one (n_atoms, n_times_valid) "
                         f"array per trial ({n_trials}).")
    out = []
    for z_n in z0:
        if not isinstance(z_n, SparseActivations):
            if not sparse.issparse(z_n):
                z_n = np.asarray(z_n)
            z_n = SparseActivations.from_array(z_n, dtype)
        if z_n.shape != (n_atoms, n_valid):
            raise ValueError(f"z0 entries must have shape {(n_atoms, n_valid)}, "
                             f"got {z_n.shape}.")
        csr = z_n.tocsr()
        if not np.all(np.isfinite(csr.data)) or (positive and np.any(csr.data < 0)):
            raise ValueError("z0 must be finite (and non-negative when "
                             "positive=True).")
        out.append(z_n)
    return out


def encode_trial_chunked(source, trial, D, DtD, reg, z, chunk_len, margin, tol,
                         max_iter, positive, seg_len, counts):
    """Encode one trial window by window, updating ``z`` (SparseActivations)."""
    n_times_atom = (DtD.shape[2] + 1) // 2
    n_valid = z.shape[1]
    pending = _Intervals([(0, n_valid)])
    max_windows = 20 * (n_valid // chunk_len + 1) + 1000
    reg_k = reg_as(reg, source.dtype, DtD)
    while pending:
        if counts["n_windows"] >= max_windows:
            warn(f"Chunked encoding stopped after {max_windows} windows with "
                 f"samples still above tol; increase margin.")
            break
        start, stop = pending.first(chunk_len)
        w_start, w_stop = max(0, start - margin), min(n_valid, stop + margin)
        changed = _solve_window(source, trial, D, DtD, reg_k, z, w_start, w_stop,
                                tol, max_iter, positive, seg_len, counts)
        pending.remove(w_start, w_stop)
        if changed.size:
            first, last = changed[0] + w_start, changed[-1] + w_start
            if first - n_times_atom + 1 < w_start:
                pending.add(max(0, first - n_times_atom + 1), w_start)
            if last + n_times_atom > w_stop:
                pending.add(w_stop, min(n_valid, last + n_times_atom))


def _solve_window(source, trial, D, DtD, reg, z, w_start, w_stop, tol, max_iter,
                  positive, seg_len, counts):
    """LGCD on ``z[:, w_start:w_stop]`` with the rest fixed; returns changed times."""
    n_channels = source.shape[1]
    n_times_atom = (DtD.shape[2] + 1) // 2
    n_valid = z.shape[1]
    X_win = source.read(trial, w_start, w_stop + n_times_atom - 1)
    # Subtract the neighbours' contribution to the window's signal.
    c_start = max(0, w_start - n_times_atom + 1)
    c_stop = min(n_valid, w_stop + n_times_atom - 1)
    z_ctx = z.get(c_start, c_stop)
    z_old = z_ctx[:, w_start - c_start:w_stop - c_start].copy()
    z_ctx[:, w_start - c_start:w_stop - c_start] = 0.
    if np.any(z_ctx):
        X_hat = _reconstruct(z_ctx[None], D, n_channels)[0]
        offset = w_start - c_start
        X_win -= X_hat[:, offset:offset + X_win.shape[1]]
    state = dict(z=z_old.copy(), DtD=DtD, frozen=np.zeros((0, 0), dtype=np.bool_),
                 seg_len=seg_len, beta=None)
    _, n_updates = coordinate_descent(X_win, D, reg, state, tol, max_iter,
                                       positive)
    counts["n_windows"] += 1
    counts["n_updates"] += n_updates
    z_new = state["z"]
    changed = np.flatnonzero(np.any(z_new != z_old, axis=0))
    if changed.size:
        z.set(w_start, w_stop, z_new)
    return changed


class _Intervals:
    """Sorted disjoint half-open intervals of samples still to be solved."""

    def __init__(self, intervals=()):
        self._items = []
        for start, stop in intervals:
            self.add(start, stop)

    def __bool__(self):
        return bool(self._items)

    def first(self, max_len):
        """The leftmost pending samples, at most ``max_len`` of them."""
        start, stop = self._items[0]
        return start, min(stop, start + max_len)

    def add(self, start, stop):
        if stop <= start:
            return
        merged = []
        for a, b in self._items:
            if b < start or a > stop:
                merged.append((a, b))
            else:
                start, stop = min(a, start), max(b, stop)
        merged.append((start, stop))
        self._items = sorted(merged)

    def remove(self, start, stop):
        kept = []
        for a, b in self._items:
            if a < start:
                kept.append((a, min(b, start)))
            if b > stop:
                kept.append((max(a, stop), b))
        self._items = [(a, b) for a, b in kept if b > a]
