"""Occurrences of the atoms: one definition for every output.

The console table, the report, the events and annotations files,
``to_events`` / ``to_annotations`` and DriPP all take the occurrences of
:func:`find_occurrences`:

- an **occurrence** of atom ``k`` in trial ``n`` is a local maximum of the
  activations ``z[n, k]`` along time whose amplitude is ``> threshold``
  (``threshold >= 0``, so amplitudes are positive). A run of equal values
  (a plateau) counts once, at its first sample, when it is higher than the
  samples on both sides of it; a *shoulder* (a run followed by a higher
  value, ``[0, 1, 1, 2, 0]``) is not a maximum: that example holds one
  occurrence, at ``t = 3``. A maximum on the first or last sample counts
  when it is higher than its one neighbour.
- its **time** is a point of the waveform, not the start of the atom's
  window: ``z[n, k, t]`` places the window of atom ``k`` at samples
  ``t ... t + n_times_atom - 1``, and the occurrence is timed at ``t +
  offset_k``, with ``offset_k`` the sample of the largest ``|v_k|``
  (``timing='peak'``, :func:`timing_offsets`). For an evoked atom this is
  its peak latency; for an oscillatory atom, one cycle's peak. The window
  start is kept too (``start``).
"""
import numpy as np

#: Fields of the array returned by :func:`find_occurrences`.
OCCURRENCE_DTYPE = np.dtype([("trial", np.int64), ("atom", np.int64),
                             ("start", np.int64), ("time", np.int64),
                             ("amplitude", np.float64)])

#: Named timing points of :func:`timing_offsets`.
TIMINGS = ("peak", "start")

#: An atom with fewer occurrences than this is rare (diagnostics) or unused
#: (atom revival); ``benchmarks/bench_inits.py`` counts such atoms as dead.
MIN_OCCURRENCES = 5


def _peak_starts(x):
    """First sample of each strict local maximum of the runs of ``x``."""
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(x) != 0) + 1])
    values = x[starts]
    left = np.concatenate([[-np.inf], values[:-1]])
    right = np.concatenate([values[1:], [-np.inf]])
    return starts[(values > left) & (values > right)]


def local_maxima(z, threshold=0.):
    """Mask of the occurrences (local maxima above ``threshold``) along the last axis.

    Parameters
    ----------
    z : ndarray of shape (..., n_times_valid)
        Activations (e.g. of one atom over trials).
    threshold : float
        Keep maxima with ``z > threshold`` (>= 0).

    Returns
    -------
    mask : ndarray of bool, same shape as ``z``
        True at the first sample of each local maximum (see the module
        docstring for plateaus and shoulders).
    """
    z = np.asarray(z, dtype=np.float64)
    threshold = _check_threshold(threshold)
    mask = np.zeros(z.shape, dtype=bool)
    rows, flat = z.reshape(-1, z.shape[-1]), mask.reshape(-1, z.shape[-1])
    for i in np.flatnonzero((rows > threshold).any(axis=1)):
        peaks = _peak_starts(rows[i])
        flat[i, peaks[rows[i, peaks] > threshold]] = True
    return mask


def _check_threshold(threshold):
    threshold = float(threshold)
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}.")
    return threshold


def timing_offsets(v, timing="peak"):
    """Sample, within each atom's window, at which its occurrences are timed.

    Parameters
    ----------
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms.
    timing : 'peak' | 'start' | array of int of shape (n_atoms,)
        'peak': ``argmax |v_k|`` (the first one if tied); 'start': 0 (the
        window start); or given offsets.

    Returns
    -------
    offsets : ndarray of int of shape (n_atoms,)
        In ``[0, n_times_atom)``.
    """
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        v = v[None]
    if v.ndim != 2 or v.shape[1] == 0:
        raise ValueError(f"v must have shape (n_atoms, n_times_atom), got "
                         f"{v.shape}.")
    n_atoms, n_times_atom = v.shape
    if isinstance(timing, str):
        if timing not in TIMINGS:
            raise ValueError(f"timing must be one of {TIMINGS} or offsets, got "
                             f"{timing!r}.")
        if timing == "start":
            return np.zeros(n_atoms, dtype=np.int64)
        return np.argmax(np.abs(v), axis=1).astype(np.int64)
    offsets = np.asarray(timing)
    if offsets.shape != (n_atoms,) or offsets.dtype.kind not in "iu" or \
            np.any(offsets < 0) or np.any(offsets >= n_times_atom):
        raise ValueError(f"timing offsets must be {n_atoms} integers in "
                         f"[0, {n_times_atom}), got {timing!r}.")
    return offsets.astype(np.int64)


def as_trials(z):
    """Activations as a real array of shape (n_trials, n_atoms, n_times_valid).

    A 2-D array is one trial; anything else that is not 3-D and real raises
    a ``ValueError`` that says what was given.
    """
    z = np.asarray(z)
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3 or z.dtype.kind not in "biuf":
        raise ValueError(f"z must be a real array of shape (n_trials, n_atoms, "
                         f"n_times_valid) or (n_atoms, n_times_valid), got "
                         f"shape {z.shape} and dtype {z.dtype}.")
    return z


def find_occurrences(z, v=None, threshold=0., timing="peak", absolute=False):
    """Occurrences of each atom: local maxima of its activations, timed on ``v``.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | (n_atoms, n_times_valid)
        Activations; ``z[n, k, t]`` is the amplitude of atom ``k`` whose
        window starts at sample ``t`` of trial ``n``.
    v : ndarray of shape (n_atoms, n_times_atom) | None
        Waveforms, for the timing point. None: occurrences are timed at the
        window start, unless ``timing`` gives offsets.
    threshold : float
        Keep occurrences whose amplitude is ``> threshold`` (>= 0; with
        ``absolute``, ``|amplitude| > threshold``).
    timing : 'peak' | 'start' | array of int
        See :func:`timing_offsets`.
    absolute : bool
        Take the local maxima of ``|z|`` (activations of either sign, from a
        fit with ``positive=False``); the amplitude keeps the sign of ``z``.

    Returns
    -------
    occurrences : structured ndarray of dtype :data:`OCCURRENCE_DTYPE`
        Fields ``trial``, ``atom``, ``start`` (index in ``z``: first sample
        of the atom's window in the trial), ``time`` (``start`` + the atom's
        offset: the sample of the timing point in the trial, at most
        ``n_times_valid + n_times_atom - 2``, the trial's last sample) and
        ``amplitude``; sorted by trial, then time, then atom.
    """
    z = as_trials(z)
    if not np.all(np.isfinite(z)):
        raise ValueError("z holds NaN or infinite values.")
    n_trials, n_atoms, _ = z.shape
    offsets = _offsets(v, timing, n_atoms)
    trial, atom, start = np.nonzero(local_maxima(np.abs(z) if absolute else z,
                                                 threshold))
    out = np.zeros(len(start), dtype=OCCURRENCE_DTYPE)
    out["trial"], out["atom"], out["start"] = trial, atom, start
    out["time"] = start + offsets[atom]
    out["amplitude"] = z[trial, atom, start]
    return out[np.lexsort((out["atom"], out["time"], out["trial"]))]


def _offsets(v, timing, n_atoms):
    if v is not None:
        v = np.asarray(v)
        if v.ndim != 2 or v.shape[0] != n_atoms:
            raise ValueError(f"v must have shape ({n_atoms}, n_times_atom) for "
                             f"the {n_atoms} atoms of z, got {v.shape}.")
        return timing_offsets(v, timing)
    if isinstance(timing, str):
        return np.zeros(n_atoms, dtype=np.int64)
    offsets = np.asarray(timing)
    if offsets.shape != (n_atoms,) or offsets.dtype.kind not in "iu" \
            or np.any(offsets < 0):
        raise ValueError(f"timing offsets must be {n_atoms} integers >= 0, "
                         f"got {timing!r}.")
    return offsets.astype(np.int64)


def occurrence_counts(z):
    """Number of occurrences of each atom, summed over trials.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations.

    Returns
    -------
    counts : ndarray of int64, shape (n_atoms,)
        Positive local maxima (:func:`local_maxima`) of each ``z[:, k]``.
    """
    z = np.asarray(z)
    return np.array([int(local_maxima(z[:, k]).sum()) for k in range(z.shape[1])],
                    dtype=np.int64)


def sparse_occurrence_counts(z):
    """:func:`occurrence_counts` of one trial's sparse activations.

    Parameters
    ----------
    z : scipy.sparse array of shape (n_atoms, n_times_valid)
        Activations of one trial (e.g. ``SparseActivations.tocsr()``).

    Returns
    -------
    counts : ndarray of int64, shape (n_atoms,)
        The same numbers as ``occurrence_counts(z.toarray()[None])``, in
        memory proportional to the non-zero activations: each row is
        compressed to its non-zero samples with one zero between two that
        are not adjacent (what :func:`local_maxima` compares them with).
    """
    z = z.tocsr()
    z.sum_duplicates()
    counts = np.zeros(z.shape[0], dtype=np.int64)
    for k in range(z.shape[0]):
        cols = z.indices[z.indptr[k]:z.indptr[k + 1]]
        if len(cols) == 0:
            continue
        order = np.argsort(cols, kind="stable")
        cols, values = cols[order], z.data[z.indptr[k]:z.indptr[k + 1]][order]
        gaps = np.concatenate([[1], 1 + np.cumsum(np.diff(cols) > 1)])
        position = np.arange(len(cols)) + gaps
        compressed = np.zeros(position[-1] + 2, dtype=values.dtype)
        compressed[position] = values
        counts[k] = int(local_maxima(compressed)[position].sum())
    return counts
