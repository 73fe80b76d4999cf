"""Compare atoms: learned atoms with reference atoms (e.g. the truth of a
simulation), and the atoms of one dictionary with each other (near-duplicates).
"""
import numpy as np
from scipy.optimize import linear_sum_assignment

from .shapes import is_rank1, split_uv

#: Two atoms are near-duplicates when both correlations of
#: :func:`atom_similarity` reach this value (distinct true atoms of the
#: simulations of ``benchmarks/bench_inits.py`` have min(corr_u, corr_v) <= 0.49;
#: learned duplicates had corr_u >= 0.95 and corr_v 0.90-0.93).
MAX_CORR = 0.9


def waveform_correlation(v_a, v_b):
    """Largest absolute normalised cross-correlation of two waveforms over lags.

    Parameters
    ----------
    v_a, v_b : ndarray of shape (n_times_atom,)

    Returns
    -------
    corr : float
        In [0, 1]; 1 when one waveform is a shifted, scaled copy of the other
        (shifts lose the samples that leave the window).
    """
    norm = np.linalg.norm(v_a) * np.linalg.norm(v_b)
    if norm == 0:
        return 0.
    return float(np.abs(np.correlate(v_a, v_b, mode="full")).max() / norm)


def match_atoms(u_true, v_true, u_hat, v_hat):
    """One-to-one matching of learned atoms to reference atoms.

    Atoms are paired to maximise the sum of ``|corr(u)| * corr(v)``, with
    ``corr(v)`` the best correlation over lags (Hungarian algorithm).

    Parameters
    ----------
    u_true : ndarray of shape (n_true, n_channels)
    v_true : ndarray of shape (n_true, n_times_atom)
    u_hat : ndarray of shape (n_atoms, n_channels)
    v_hat : ndarray of shape (n_atoms, n_times_atom_hat)

    Returns
    -------
    matches : list of dict
        One per reference atom: ``true`` index, ``learned`` index (or None when
        there are fewer learned atoms), ``corr_u`` and ``corr_v``.
    """
    n_true, n_hat = len(u_true), len(u_hat)
    corr_u = np.zeros((n_true, n_hat))
    corr_v = np.zeros((n_true, n_hat))
    for i in range(n_true):
        for j in range(n_hat):
            norm = np.linalg.norm(u_true[i]) * np.linalg.norm(u_hat[j])
            corr_u[i, j] = abs(u_true[i] @ u_hat[j]) / norm if norm else 0.
            corr_v[i, j] = waveform_correlation(v_true[i], v_hat[j])
    rows, cols = linear_sum_assignment(-(corr_u * corr_v))
    pairs = dict(zip(rows, cols))
    return [dict(true=i, learned=None if i not in pairs else int(pairs[i]),
                 corr_u=float(corr_u[i, pairs[i]]) if i in pairs else 0.,
                 corr_v=float(corr_v[i, pairs[i]]) if i in pairs else 0.)
            for i in range(n_true)]


def _lagged_correlations(a, b):
    """Normalised cross-correlation of two waveforms at every lag (signed)."""
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        return np.zeros(len(a) + len(b) - 1)
    return np.correlate(a, b, mode="full") / norm


def atom_similarity(D, n_channels, positive=True):
    """How alike each pair of atoms of a dictionary is, up to a shift.

    Parameters
    ----------
    D : ndarray
        ``uv`` of shape (n_atoms, n_channels + n_times_atom) or full-rank atoms
        of shape (n_atoms, n_channels, n_times_atom).
    n_channels : int
        Number of channels.
    positive : bool
        Activations are non-negative: an atom and its negative (at any lag)
        are then not alike. Otherwise signs are ignored.

    Returns
    -------
    corr_u : ndarray of shape (n_atoms, n_atoms)
        ``|<u_j, u_k>| / (||u_j|| ||u_k||)``; for full-rank atoms, the
        correlation of the whole atoms at their best lag (as ``corr_v``).
    corr_v : ndarray of shape (n_atoms, n_atoms)
        Largest normalised correlation of ``v_j`` and ``v_k`` over lags, with
        the sign of ``<u_j, u_k>`` applied when ``positive`` (so that it is
        high only when ``u_j v_j^T`` is close to a shifted ``+u_k v_k^T``),
        at least 0. The diagonals are 1 (0 for a zero atom).
    """
    n_atoms = D.shape[0]
    corr_u = np.zeros((n_atoms, n_atoms))
    corr_v = np.zeros((n_atoms, n_atoms))
    D = np.asarray(D, dtype=np.float64)
    if is_rank1(D):
        u, v = split_uv(D, n_channels)
        norms = np.linalg.norm(u, axis=1)
        for j in range(n_atoms):
            for k in range(j, n_atoms):
                nu = norms[j] * norms[k]
                signed_u = u[j] @ u[k] / nu if nu > 0 else 0.
                xcorr = _lagged_correlations(v[j], v[k])
                if positive:
                    best = np.max(np.sign(signed_u) * xcorr) if signed_u else 0.
                else:
                    best = np.max(np.abs(xcorr))
                corr_u[j, k] = corr_u[k, j] = abs(signed_u)
                corr_v[j, k] = corr_v[k, j] = max(best, 0.)
        return corr_u, corr_v
    norms = np.sqrt(np.sum(D * D, axis=(1, 2)))
    for j in range(n_atoms):
        for k in range(j, n_atoms):
            norm = norms[j] * norms[k]
            if norm == 0:
                continue
            xcorr = sum(np.correlate(D[j, c], D[k, c], mode="full")
                        for c in range(D.shape[1])) / norm
            best = np.max(xcorr) if positive else np.max(np.abs(xcorr))
            corr_u[j, k] = corr_u[k, j] = corr_v[j, k] = corr_v[k, j] = \
                max(best, 0.)
    return corr_u, corr_v


def duplicate_pairs(D, n_channels, max_corr=MAX_CORR, positive=True):
    """Pairs of atoms that are (nearly) the same atom up to a shift.

    Parameters
    ----------
    D : ndarray
        ``uv`` or full-rank dictionary (see :func:`atom_similarity`).
    n_channels : int
        Number of channels.
    max_corr : float
        Both correlations of :func:`atom_similarity` must reach it.
    positive : bool
        See :func:`atom_similarity`.

    Returns
    -------
    pairs : list of tuple
        ``(j, k, corr_u, corr_v)`` with ``j < k``, by decreasing
        ``corr_u * corr_v``.
    """
    corr_u, corr_v = atom_similarity(D, n_channels, positive=positive)
    pairs = [(j, k, float(corr_u[j, k]), float(corr_v[j, k]))
             for j in range(len(D)) for k in range(j + 1, len(D))
             if corr_u[j, k] >= max_corr and corr_v[j, k] >= max_corr]
    return sorted(pairs, key=lambda p: -p[2] * p[3])
