"""The rules of atom revival, as pure functions of arrays.

Which atoms to change (:func:`find_candidates`: unused and underused
atoms, the weaker of near-duplicate pairs), how far an atom is off-centre
(:func:`centring_shift`) and how to move a waveform and its activations
without changing the model (:func:`shift_waveform`,
:func:`shift_activations`, :func:`shifted_atom`).
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
