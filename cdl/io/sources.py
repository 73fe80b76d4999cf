"""Signals read window by window: arrays, memory maps and lazy MNE Raw.

A source has a ``shape`` (n_trials, n_channels, n_times), a computation
``dtype`` and ``read(trial, start, stop)``, which returns a C-contiguous array
of shape (n_channels, stop - start) in that dtype. Nothing is loaded as a whole:
an ``np.memmap`` (or ``np.load(..., mmap_mode='r')``) or an ``mne.io.Raw``
opened with ``preload=False`` is read only where it is asked for.

The helpers at the bottom compute, window by window, what the learning loop
needs from a long signal: ``sum X ** 2``, lambda_max, the objective and the
sufficient statistics ``ztz`` and ``ztX``.
"""
import numpy as np

from cdl._kernels import stats
from cdl.model.objective import _reconstruct, correlate
from cdl.utils.validation import (
    FLOAT_DTYPES,
    check_dtype,
    check_finite,
    check_magnitude,
)

from .channels import pick_channels
from .from_mne import warn_unapplied_projectors

READ_BLOCK = 2 ** 16  # samples read at once by the streaming helpers


def _is_raw(X):
    try:
        import mne
    except ImportError:  # pragma: no cover
        return False
    return isinstance(X, mne.io.BaseRaw)


class ArraySource:
    """Windows of an ndarray or a memory map (never copied as a whole).

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times) or (n_channels, n_times)
    dtype : dtype | None
        Computation dtype; None keeps a float32/float64 input, else float64.
    """

    def __init__(self, X, dtype=None):
        if isinstance(X, (list, tuple)):
            X = np.asarray(X)
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy array, a memory map or an "
                            f"mne.io.Raw, got {type(X).__name__}.")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}.")
        if X.ndim == 2:
            X = X[None]
        if X.ndim != 3:
            raise ValueError(f"X must have shape (n_trials, n_channels, n_times) "
                             f"or (n_channels, n_times), got shape {X.shape}.")
        if min(X.shape) == 0:
            raise ValueError(f"X must not be empty, got shape {X.shape}.")
        native = X.dtype.newbyteorder("=")
        self.dtype = check_dtype(dtype) or (
            native if native in FLOAT_DTYPES else np.dtype(np.float64))
        self.X = X
        self.shape = X.shape

    def read(self, trial, start, stop):
        """Samples ``[start, stop)`` of one trial, shape (n_channels, stop - start)."""
        return np.array(self.X[trial, :, start:stop], dtype=self.dtype, order="C")


class RawSource:
    """Windows of an MNE Raw (read from disk when not preloaded).

    Parameters
    ----------
    raw : mne.io.Raw
    dtype : dtype | None
        Computation dtype (None: float64).
    picks : str | list | None
        Channels, as in :func:`cdl.io.mne_to_X` (None: data channels, no bads).
    """

    def __init__(self, raw, dtype=None, picks=None):
        import mne

        self.raw = raw
        self.picks = pick_channels(raw.info, picks)
        self.info = mne.pick_info(raw.info, self.picks)
        warn_unapplied_projectors(self.info, "Raw")
        self.dtype = check_dtype(dtype) or np.dtype(np.float64)
        self.shape = (1, len(self.picks), raw.n_times)
        self.factors = None  # per-channel divisors (type scalings), or None
        if min(self.shape) == 0:
            raise ValueError(f"X (an mne Raw) must not be empty, got "
                             f"{len(self.picks)} channels and {raw.n_times} "
                             f"samples.")

    def read(self, trial, start, stop):
        """Samples ``[start, stop)``, shape (n_channels, stop - start)."""
        data = self.raw.get_data(picks=self.picks, start=start, stop=stop)
        if self.factors is not None:
            data = data / self.factors[:, None]
        return np.array(data, dtype=self.dtype, order="C")


def as_source(X, dtype=None, picks=None):
    """Wrap ``X`` (ndarray, memmap, mne Raw or a source) as a source."""
    if isinstance(X, (ArraySource, RawSource)):
        return X
    if _is_raw(X):
        return RawSource(X, dtype=dtype, picks=picks)
    return ArraySource(X, dtype=dtype)


def iter_blocks(n, block=READ_BLOCK):
    """``(start, stop)`` of consecutive blocks covering ``range(n)``."""
    for start in range(0, n, block):
        yield start, min(start + block, n)


def check_source(source):
    """Check every sample is finite and not too large, block by block.

    Returns
    -------
    XtX : float
        ``sum X ** 2`` (float64), computed on the way.
    stds : ndarray of shape (n_trials,)
        Standard deviation of each trial (the scale of the z-step's ``tol``).
    """
    n_trials, n_channels, n_times = source.shape
    XtX, stds = 0., np.zeros(n_trials)
    for trial in range(n_trials):
        total = squares = 0.
        for start, stop in iter_blocks(n_times):
            X_block = source.read(trial, start, stop)
            check_finite("X", X_block)
            check_magnitude("X", X_block)
            total += float(np.sum(X_block, dtype=np.float64))
            squares += float(np.sum(X_block * X_block, dtype=np.float64))
        XtX += squares
        size = n_channels * n_times
        stds[trial] = np.sqrt(max(squares / size - (total / size) ** 2, 0.))
    return XtX, stds


def lambda_max_source(source, D, per_atom=False):
    """lambda_max of a long signal, window by window (see cdl.lambda_max)."""
    n_trials, n_channels, n_times = source.shape
    L = _n_times_atom(D, n_channels)
    best = np.zeros(D.shape[0])
    for trial in range(n_trials):
        for start, stop in iter_blocks(n_times - L + 1):
            corr = correlate(source.read(trial, start, stop + L - 1), D)
            best = np.maximum(best, np.abs(corr).max(axis=1))
    return best if per_atom else float(best.max())


def _n_times_atom(D, n_channels):
    return D.shape[1] - n_channels if D.ndim == 2 else D.shape[2]


def objective_source(source, z, D, reg):
    """Objective of sparse activations on a long signal, window by window.

    Parameters
    ----------
    source : ArraySource | RawSource
    z : list of SparseActivations
        One per trial.
    D : ndarray
        Dictionary (``uv`` or full rank).
    reg : ndarray of shape (n_atoms,)

    Returns
    -------
    objective : float
    """
    n_trials, n_channels, n_times = source.shape
    L = _n_times_atom(D, n_channels)
    n_valid = n_times - L + 1
    data_fit = 0.
    for trial in range(n_trials):
        for start, stop in iter_blocks(n_times):
            residual = _residual(source, z[trial], D, trial, start, stop, L,
                                 n_valid)
            data_fit += float(np.sum(residual * residual, dtype=np.float64))
    l1 = np.sum([z_n.abs_sum() for z_n in z], axis=0)
    return 0.5 * data_fit + float(np.sum(np.asarray(reg) * l1))


def stats_source(source, z, n_times_atom, trials=None):
    """Sufficient statistics ``ztz`` and ``ztX`` of a long signal, by blocks.

    ``ztz`` over a trial is the sum over blocks ``A_c`` of the statistics of
    ``A_c`` extended by the first ``n_times_atom - 1`` samples of the next
    block, minus those of these samples alone: every pair of activations less
    than ``n_times_atom`` apart is counted once.
    """
    n_trials, n_channels, _ = source.shape
    L = n_times_atom
    n_atoms, n_valid = z[0].shape
    ztz = np.zeros((n_atoms, n_atoms, 2 * L - 1), dtype=source.dtype)
    ztX = np.zeros((n_atoms, n_channels, L), dtype=source.dtype)
    for trial in range(n_trials) if trials is None else trials:
        z_n = z[trial]
        if z_n.nnz == 0:
            continue
        for start, stop in iter_blocks(n_valid, max(READ_BLOCK, L)):
            z_block = z_n.get(start, min(stop + L - 1, n_valid))
            if not np.any(z_block):
                continue
            stats.accumulate_ztz(z_block, ztz)
            if stop < n_valid:  # pairs within the overlap alone: counted later
                overlap = np.zeros_like(ztz)
                stats.accumulate_ztz(np.ascontiguousarray(
                    z_block[:, stop - start:]), overlap)
                ztz -= overlap
            stats.accumulate_ztX(np.ascontiguousarray(z_block[:, :stop - start]),
                                 source.read(trial, start, stop + L - 1), ztX)
    return ztz, ztX


def residual_window_source(source, z, D, n_times_atom):
    """Window of the residual with the largest energy, block by block.

    Returns
    -------
    window : ndarray of shape (n_channels, n_times_atom)
    """
    n_trials, n_channels, n_times = source.shape
    L = _n_times_atom(D, n_channels) if D is not None else n_times_atom
    n_valid = n_times - L + 1
    best = (-1., 0, 0)
    for trial in range(n_trials):
        for start, stop in iter_blocks(n_times - n_times_atom + 1):
            residual = _residual(source, z[trial], D, trial, start,
                                 stop + n_times_atom - 1, L, n_valid)
            power = np.concatenate([[0.], np.cumsum(
                np.sum(residual.astype(np.float64) ** 2, axis=0))])
            energy = power[n_times_atom:] - power[:-n_times_atom]
            t = int(np.argmax(energy))
            if energy[t] > best[0]:
                best = (float(energy[t]), trial, start + t)
    _, trial, t = best
    return _residual(source, z[trial], D, trial, t, t + n_times_atom, L, n_valid)


def _residual(source, z_n, D, trial, start, stop, L, n_valid):
    """Residual ``X - X_hat`` on samples ``[start, stop)`` of one trial."""
    residual = source.read(trial, start, stop)
    if D is None or z_n.nnz == 0:
        return residual
    z_start = max(0, start - L + 1)
    z_ctx = z_n.get(z_start, min(stop, n_valid))
    X_hat = _reconstruct(z_ctx[None], D, source.shape[1])[0]
    X_hat = X_hat[:, start - z_start:stop - z_start]
    residual[:, :X_hat.shape[1]] -= X_hat
    return residual
