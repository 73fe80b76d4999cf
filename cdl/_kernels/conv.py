"""Correlations and convolutions between signals, atoms and activations.

A trial ``X`` is (n_channels, n_times), full-rank atoms ``D`` are (n_atoms,
n_channels, n_times_atom), rank-1 atoms are split into ``u`` (n_atoms,
n_channels) and ``v`` (n_atoms, n_times_atom), activations ``z`` of one trial are
(n_atoms, n_times_valid) with n_times_valid = n_times - n_times_atom + 1.
"""
import numpy as np

from . import jit


@jit
def correlate_rows(signals, kernels):  # pragma: no cover
    """Valid correlation of each row of ``signals`` with the same row of ``kernels``.

    Parameters
    ----------
    signals : ndarray of shape (n_rows, n_times)
    kernels : ndarray of shape (n_rows, n_times_atom)

    Returns
    -------
    out : ndarray of shape (n_rows, n_times - n_times_atom + 1)
        ``out[k, t] = sum_j signals[k, t + j] * kernels[k, j]``.
    """
    n_rows, n_times = signals.shape
    n_times_atom = kernels.shape[1]
    n_times_valid = n_times - n_times_atom + 1
    out = np.zeros((n_rows, n_times_valid), dtype=signals.dtype)
    for k in range(n_rows):
        for j in range(n_times_atom):
            w = kernels[k, j]
            if w == 0:
                continue
            for t in range(n_times_valid):
                out[k, t] += w * signals[k, t + j]
    return out


@jit
def correlate_full_rank(X, D):  # pragma: no cover
    """Multichannel valid correlation of one trial with full-rank atoms.

    Parameters
    ----------
    X : ndarray of shape (n_channels, n_times)
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    out : ndarray of shape (n_atoms, n_times_valid)
        ``out[k, t] = sum_{c, j} X[c, t + j] * D[k, c, j]``.
    """
    n_channels, n_times = X.shape
    n_atoms, _, n_times_atom = D.shape
    n_times_valid = n_times - n_times_atom + 1
    out = np.zeros((n_atoms, n_times_valid), dtype=X.dtype)
    for k in range(n_atoms):
        for c in range(n_channels):
            for j in range(n_times_atom):
                w = D[k, c, j]
                if w == 0:
                    continue
                for t in range(n_times_valid):
                    out[k, t] += w * X[c, t + j]
    return out


@jit
def convolve_rows_sparse(z, v):  # pragma: no cover
    """Full convolution of each activation row with its waveform, skipping zeros.

    Parameters
    ----------
    z : ndarray of shape (n_atoms, n_times_valid)
    v : ndarray of shape (n_atoms, n_times_atom)

    Returns
    -------
    out : ndarray of shape (n_atoms, n_times_valid + n_times_atom - 1)
    """
    n_atoms, n_times_valid = z.shape
    n_times_atom = v.shape[1]
    out = np.zeros((n_atoms, n_times_valid + n_times_atom - 1), dtype=z.dtype)
    for k in range(n_atoms):
        for t in range(n_times_valid):
            a = z[k, t]
            if a == 0:
                continue
            for j in range(n_times_atom):
                out[k, t + j] += a * v[k, j]
    return out


@jit
def reconstruct_full_rank(z, D):  # pragma: no cover
    """Signal model ``sum_k conv_full(z[k], D[k])`` of one trial, skipping zeros.

    Parameters
    ----------
    z : ndarray of shape (n_atoms, n_times_valid)
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    X_hat : ndarray of shape (n_channels, n_times)
    """
    n_atoms, n_times_valid = z.shape
    _, n_channels, n_times_atom = D.shape
    X_hat = np.zeros((n_channels, n_times_valid + n_times_atom - 1), dtype=z.dtype)
    for k in range(n_atoms):
        for t in range(n_times_valid):
            a = z[k, t]
            if a == 0:
                continue
            for c in range(n_channels):
                for j in range(n_times_atom):
                    X_hat[c, t + j] += a * D[k, c, j]
    return X_hat
