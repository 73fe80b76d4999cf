"""Compare learned atoms with reference atoms (e.g. the truth of a simulation)."""
import numpy as np
from scipy.optimize import linear_sum_assignment


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
