"""The rules of atom revival, as pure functions of arrays.

Which atoms to change (:func:`find_candidates`: unused and underused
atoms, the weaker of near-duplicate pairs), how far an atom is off-centre
(:func:`centring_shift`), how to move a waveform and its activations
without changing the model (:func:`shift_waveform`,
:func:`shift_activations`, :func:`shifted_atom`), and whether an atom
models each event with several shifted copies of itself
(:func:`merge_fragments`, :func:`is_fragmented`).
:class:`cdl.learn.revival.Reviver` applies them inside the learning loop.
The occurrences and the similarity of atoms are those of the diagnostics
(:mod:`cdl.model.occurrences`, :mod:`cdl.model.similarity`).
"""
import numpy as np

from cdl.model.occurrences import MIN_OCCURRENCES
from cdl.model.shapes import is_rank1
from cdl.model.similarity import MAX_CORR, duplicate_pairs


def find_candidates(counts, D, n_channels, weights=None,
                    min_occurrences=MIN_OCCURRENCES, max_corr=MAX_CORR,
                    positive=True, min_relative=0., exempt=()):
    """Atoms to replace, in the order they should be tried.

    Parameters
    ----------
    counts : ndarray of shape (n_atoms,)
        Occurrences of each atom (:func:`cdl.model.occurrences.occurrence_counts`).
    D : ndarray
        ``uv`` or full-rank dictionary.
    n_channels : int
        Number of channels.
    weights : ndarray of shape (n_atoms,) | None
        How much each atom is used (the sum of its activations); of two
        duplicates the one with the smaller weight is replaced (None: the
        counts).
    min_occurrences : int
        Atoms with fewer occurrences are unused.
    max_corr : float
        Duplicate threshold (:func:`cdl.model.similarity.duplicate_pairs`).
    positive : bool
        Non-negative activations (an atom and its negative differ).
    min_relative : float
        Atoms with at least ``min_occurrences`` occurrences but fewer than
        ``min_relative`` times the median of the atoms' are underused.
    exempt : collection of int
        Atoms never called underused (e.g. still growing); they may still
        be unused or duplicates.

    Returns
    -------
    candidates : list of tuple
        ``(atom, reason)`` with reason ``'unused'`` or ``'underused'``
        (fewest occurrences first), or ``'duplicate of j'``; each atom once.
    """
    counts = np.asarray(counts)
    weights = counts if weights is None else np.asarray(weights)
    floor = max(min_occurrences, min_relative * float(np.median(counts))) \
        if counts.size else min_occurrences
    unused = [int(k) for k in np.argsort(counts, kind="stable")
              if counts[k] < min_occurrences
              or (counts[k] < floor and int(k) not in exempt)]
    candidates = [(k, "unused" if counts[k] < min_occurrences else "underused")
                  for k in unused]
    seen = set(unused)
    for j, k, _, _ in duplicate_pairs(D, n_channels, max_corr, positive):
        if j in seen or k in seen:
            continue
        weak, strong = (k, j) if weights[k] <= weights[j] else (j, k)
        candidates.append((weak, f"duplicate of {strong}"))
        seen.add(weak)
    return candidates


def centring_shift(v, max_loss=0.01):
    """Samples by which to move a waveform so that its energy is centred.

    Parameters
    ----------
    v : ndarray of shape (n_times_atom,)
        Waveform.
    max_loss : float
        Largest fraction of the energy of ``v`` that may leave the window.

    Returns
    -------
    shift : int
        ``s > 0`` moves the waveform later by ``s`` samples (it was too
        early), ``s < 0`` earlier; the centre of energy ``sum t v_t^2 / sum
        v_t^2`` comes as close to ``(n_times_atom - 1) / 2`` as ``max_loss``
        allows. 0 for a zero waveform.
    """
    v = np.asarray(v, dtype=float)
    energy = v * v
    total = energy.sum()
    if total == 0:
        return 0
    n_times_atom = len(v)
    centre = float(np.arange(n_times_atom) @ energy / total)
    shift = int(np.round((n_times_atom - 1) / 2 - centre))
    cumulative = np.cumsum(energy) / total
    while shift > 0 and 1 - cumulative[n_times_atom - shift - 1] > max_loss:
        shift -= 1  # moving later drops the last `shift` samples
    while shift < 0 and cumulative[-shift - 1] > max_loss:
        shift += 1  # moving earlier drops the first `-shift` samples
    return shift


def shift_waveform(v, shift):
    """``v`` moved by ``shift`` samples along its last axis (later if
    positive), zero-filled.

    Parameters
    ----------
    v : ndarray of shape (..., n_times)
    shift : int

    Returns
    -------
    moved : ndarray, same shape and dtype as ``v``
    """
    v = np.asarray(v)
    out = np.zeros_like(v)
    n = v.shape[-1]
    if abs(shift) >= n:
        return out
    if shift >= 0:
        out[..., shift:] = v[..., :n - shift]
    else:
        out[..., :shift] = v[..., -shift:]
    return out


def shift_activations(z_k, shift):
    """Activations that keep ``z_k * v`` when ``v`` moves by ``shift``.

    The waveform moved later by ``s`` needs its activations ``s`` samples
    earlier: ``z'(t) = z(t + s)`` (zero-filled at the ends).

    Parameters
    ----------
    z_k : ndarray of shape (..., n_times_valid)
    shift : int
        The waveform's shift (:func:`centring_shift`).

    Returns
    -------
    moved : ndarray, same shape and dtype as ``z_k``
    """
    return shift_waveform(z_k, -shift)


def atom_shift(D, k, n_channels):
    """Centring shift of atom ``k`` (of its waveform, or of the norm over
    channels of a full-rank atom at each time)."""
    if is_rank1(D):
        return centring_shift(D[k, n_channels:])
    return centring_shift(np.sqrt(np.sum(D[k] ** 2, axis=0)))


def shifted_atom(D, k, n_channels, shift):
    """Atom ``k`` of ``D`` moved by ``shift`` samples, at its previous norm.

    Parameters
    ----------
    D : ndarray
        ``uv`` or full-rank dictionary.
    k : int
    n_channels : int
    shift : int

    Returns
    -------
    atom : ndarray
        A row of ``D``, same dtype.
    """
    if is_rank1(D):
        u, v = D[k, :n_channels], D[k, n_channels:]
        moved = shift_waveform(v, shift)
        norm = np.linalg.norm(moved)
        if norm > 0:
            moved = moved * (np.linalg.norm(v) / norm)
        return np.concatenate([u, moved]).astype(D.dtype)
    moved = shift_waveform(D[k], shift)
    norm = np.linalg.norm(moved)
    return (moved * (np.linalg.norm(D[k]) / norm) if norm > 0 else moved
            ).astype(D.dtype)


#: A fragmented atom has at least this share of its occurrences in compact
#: clusters (see :func:`merge_fragments`): an atom of an ongoing rhythm fires
#: in long chains instead (on EEGBCI runs at most 0.27).
MIN_COMPACT_SHARE = 0.5
#: ... and the windows of its clusters agree: ``|sum_c w_c| / sum_c |w_c|``
#: of the aligned windows is at least this (about 1 on the simulations).
MIN_COHERENCE = 0.9


def _clusters(times, n_times_atom, groups=None):
    """Clusters of activation times sorted by group (a trial's row of one
    atom; None: one group), then time: starts, stops (indices into
    ``times``), occurrences, whether each is compact, and which activations
    begin an occurrence. A cluster never spans two groups."""
    if groups is None:
        new_group = np.zeros(times.size, dtype=bool)
    else:
        new_group = np.concatenate([[False], np.diff(groups) != 0])
    gaps = np.concatenate([[n_times_atom], np.diff(times)])
    starts = np.flatnonzero(new_group | (gaps >= n_times_atom))
    stops = np.append(starts[1:], times.size)
    new_run = new_group | (gaps > 1)
    runs = np.add.reduceat(new_run.astype(np.int64), starts)
    compact = times[stops - 1] - times[starts] < n_times_atom
    return starts, stops, runs, compact, new_run


def _count_clusters(times, n_times_atom, start, stop, labels, n_labels,
                    groups=None):
    """Counts of :func:`cluster_counts` per label (an atom) of the
    activations, shape (3, n_labels)."""
    counts = np.zeros((3, n_labels), dtype=np.int64)
    if times.size == 0:
        return counts
    starts, _, runs, compact, new_run = _clusters(times, n_times_atom, groups)
    lo = times.min() if start is None else start
    hi = times.max() + 1 if stop is None else stop
    here = (times >= lo) & (times < hi)
    mine = compact & here[starts]
    counts[0] = np.bincount(labels[starts][mine], minlength=n_labels)
    counts[1] = np.bincount(labels[starts][mine], weights=runs[mine],
                            minlength=n_labels).astype(np.int64)
    counts[2] = np.bincount(labels[new_run & here], minlength=n_labels)
    return counts


def cluster_counts(times, n_times_atom, start=None, stop=None):
    """How one atom's activations (one trial) gather (see
    :func:`merge_fragments`).

    Parameters
    ----------
    times : ndarray of int
        Times of the non-zero activations, increasing.
    n_times_atom : int
    start, stop : int | None
        Count only the clusters and the occurrences that begin in
        ``[start, stop)`` (None: all). Exact when ``times`` holds every
        activation from ``start - n_times_atom + 1`` to
        ``stop + 2 (n_times_atom - 1)``: a DICOD worker's window around its
        own box, so that the workers' counts add up to the whole signal's.

    Returns
    -------
    counts : ndarray of int64, shape (3,)
        Compact clusters, occurrences in them, and all occurrences.
    """
    times = np.asarray(times, dtype=np.int64)
    return _count_clusters(times, n_times_atom, start, stop,
                           np.zeros(times.size, dtype=np.int64), 1)[:, 0]


def dense_cluster_counts(z, n_times_atom, start=None, stop=None):
    """:func:`cluster_counts` of every atom of dense activations, summed over
    trials, in one vectorised pass.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
    n_times_atom : int
    start, stop : int | None
        As for :func:`cluster_counts`, along the last axis.

    Returns
    -------
    counts : ndarray of int64, shape (3, n_atoms)
    """
    n_atoms = z.shape[1]
    trial, atom, times = np.nonzero(z)
    return _count_clusters(times.astype(np.int64), n_times_atom, start, stop,
                           atom, n_atoms, groups=trial * n_atoms + atom)


def looks_fragmented(counts, min_fragments):
    """Whether :func:`cluster_counts` (summed over trials) allow an atom to be
    fragmented: at least ``min_fragments`` occurrences per compact cluster
    and :data:`MIN_COMPACT_SHARE` of its occurrences in them (the cheap part
    of :func:`is_fragmented`)."""
    n_compact, in_compact, total = (int(c) for c in counts)
    return n_compact > 0 and in_compact >= min_fragments * n_compact \
        and in_compact >= MIN_COMPACT_SHARE * total


def merge_fragments(atom, activations, n_times_atom, positive=True):
    """One atom's own model over each compact cluster of its activations,
    aligned and averaged into one window.

    A *cluster* is a run of activations (of one trial) less than
    ``n_times_atom`` samples apart; it is *compact* when it spans less than
    ``n_times_atom`` samples, i.e. the atom fires several times within one
    event. Its *occurrences* are its runs of consecutive samples. The window
    of a cluster is the ``n_times_atom`` samples of largest energy of the
    atom's model there (``sum_j z_j atom(t - t_j)``); the windows are aligned
    on the strongest one (by their correlation, within ``n_times_atom // 8``
    samples, zero-filled) and summed. When an atom learned a piece of an
    event's waveform, its model over each event is that whole waveform, and
    so is the merged window.

    Parameters
    ----------
    atom : ndarray of shape (n_rows, n_times_atom)
        The waveform of a rank-1 atom (one row) or a full-rank atom.
    activations : list of tuple
        Per trial ``(times, values)``: the atom's non-zero activations, times
        increasing (:meth:`cdl.learn.Encoder.atom_activations`).
    n_times_atom : int
    positive : bool
        Non-negative activations. Otherwise a window of negative activations
        is aligned by the absolute correlation and added with its sign
        flipped (an event and its negative are the same waveform).

    Returns
    -------
    merged : dict
        ``window`` (ndarray like ``atom``, unit norm; None without compact
        clusters or for a zero sum), ``counts`` (:func:`cluster_counts`
        summed over trials) and ``coherence`` (``|sum_c w_c| / sum_c
        |w_c|`` of the aligned windows: 1 when they are all the same).
    """
    atom = np.atleast_2d(np.asarray(atom, dtype=np.float64))
    L = n_times_atom
    windows, n_runs_all, n_runs_compact = [], 0, 0
    for times, values in activations:
        times = np.asarray(times, dtype=np.int64)
        if times.size == 0:
            continue
        values = np.asarray(values, dtype=np.float64)
        starts, stops, runs, compact, _ = _clusters(times, L)
        n_runs_all += int(runs.sum())
        n_runs_compact += int(runs[compact].sum())
        for a, b in zip(starts[compact], stops[compact]):
            windows.append(_cluster_window(atom, times[a:b] - times[a],
                                           values[a:b], L))
    merged = dict(window=None, coherence=0.,
                  counts=np.array([len(windows), n_runs_compact, n_runs_all]))
    if not windows:
        return merged
    windows = np.array(windows)
    energies = np.sum(windows ** 2, axis=(1, 2))
    reference = windows[np.argmax(energies)]
    max_lag = max(1, L // 8)
    lags = range(-max_lag, max_lag + 1)
    total = np.zeros_like(reference)
    for w in windows:
        scores = np.array([np.sum(shift_waveform(w, lag) * reference)
                           for lag in lags])
        best = int(np.argmax(scores if positive else np.abs(scores)))
        sign = 1. if positive or scores[best] >= 0 else -1.
        total += sign * shift_waveform(w, lags[best])
    norm = np.linalg.norm(total)
    if norm == 0:
        return merged
    merged.update(window=total / norm,
                  coherence=float(norm / np.sum(np.sqrt(energies))))
    return merged


def _cluster_window(atom, offsets, values, n_times_atom):
    """The ``n_times_atom`` samples of largest energy of ``sum_j values_j
    atom(t - offsets_j)``."""
    model = np.zeros((atom.shape[0], offsets[-1] + n_times_atom))
    for offset, value in zip(offsets, values):
        model[:, offset:offset + n_times_atom] += value * atom
    if model.shape[1] > n_times_atom:
        energy = np.convolve(np.sum(model ** 2, axis=0), np.ones(n_times_atom),
                             "valid")
        start = int(np.argmax(energy))
        return model[:, start:start + n_times_atom]
    return model


def is_fragmented(atom, merged, min_fragments, max_corr=MAX_CORR,
                  positive=True):
    """Whether an atom models events by several shifted copies of itself.

    Parameters
    ----------
    atom : ndarray of shape (n_rows, n_times_atom)
        As for :func:`merge_fragments`.
    merged : dict
        From :func:`merge_fragments`.
    min_fragments : float
        Least mean number of occurrences per compact cluster.
    max_corr : float
        The merged window must correlate less than this with the atom at
        their best lag (otherwise merging changes nothing).
    positive : bool
        Non-negative activations: the sign of the correlation counts.

    Returns
    -------
    fragmented : bool
        Also requires :data:`MIN_COMPACT_SHARE` and :data:`MIN_COHERENCE`.
    """
    if merged["window"] is None or merged["coherence"] < MIN_COHERENCE \
            or not looks_fragmented(merged["counts"], min_fragments):
        return False
    return best_lag_correlation(atom, merged["window"], positive) < max_corr


def best_lag_correlation(a, b, positive=True):
    """Correlation of two atoms (rows of samples) at their best lag.

    Parameters
    ----------
    a, b : ndarray of shape (n_rows, n_times)
    positive : bool
        Largest correlation (else largest absolute correlation).

    Returns
    -------
    corr : float
        0 when one of them is zero.
    """
    a, b = np.atleast_2d(a).astype(float), np.atleast_2d(b).astype(float)
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return 0.
    cross = sum(np.correlate(x, y, "full") for x, y in zip(a, b))
    return float((cross.max() if positive else np.abs(cross).max()) / norms)
