"""Atom cross-correlations (DtD) and the sufficient statistics ztz and ztX."""
import numpy as np

from . import jit


@jit
def compute_DtD_full_rank(D):  # pragma: no cover
    """Cross-correlations between full-rank atoms.

    Parameters
    ----------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    DtD : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
        ``DtD[k, l, d + n_times_atom - 1] = sum_{c, j} D[k, c, j] * D[l, c, j + d]``.
    """
    n_atoms, n_channels, n_times_atom = D.shape
    DtD = np.zeros((n_atoms, n_atoms, 2 * n_times_atom - 1), dtype=D.dtype)
    for k in range(n_atoms):
        for l in range(n_atoms):
            for d in range(-n_times_atom + 1, n_times_atom):
                j0 = max(0, -d)
                j1 = min(n_times_atom, n_times_atom - d)
                acc = 0.
                for c in range(n_channels):
                    for j in range(j0, j1):
                        acc += D[k, c, j] * D[l, c, j + d]
                DtD[k, l, d + n_times_atom - 1] = acc
    return DtD


@jit
def compute_DtD_rank1(u, v):  # pragma: no cover
    """Cross-correlations between rank-1 atoms ``u[k] v[k]^T``.

    Parameters
    ----------
    u : ndarray of shape (n_atoms, n_channels)
    v : ndarray of shape (n_atoms, n_times_atom)

    Returns
    -------
    DtD : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
        Same convention as :func:`compute_DtD_full_rank`.
    """
    n_atoms, n_times_atom = v.shape
    DtD = np.zeros((n_atoms, n_atoms, 2 * n_times_atom - 1), dtype=v.dtype)
    for k in range(n_atoms):
        for l in range(n_atoms):
            uu = 0.
            for c in range(u.shape[1]):
                uu += u[k, c] * u[l, c]
            for d in range(-n_times_atom + 1, n_times_atom):
                acc = 0.
                for j in range(max(0, -d), min(n_times_atom, n_times_atom - d)):
                    acc += v[k, j] * v[l, j + d]
                DtD[k, l, d + n_times_atom - 1] = uu * acc
    return DtD


@jit
def accumulate_ztz(z, ztz):  # pragma: no cover
    """Add the activation cross-correlations of one trial to ``ztz`` in place.

    Parameters
    ----------
    z : ndarray of shape (n_atoms, n_times_valid)
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
        ``ztz[k, l, d + n_times_atom - 1] += sum_t z[k, t] * z[l, t + d]``.
    """
    n_atoms, n_times_valid = z.shape
    n_times_atom = (ztz.shape[2] + 1) // 2
    for k in range(n_atoms):
        for t in range(n_times_valid):
            a = z[k, t]
            if a == 0:
                continue
            d0 = max(-n_times_atom + 1, -t)
            d1 = min(n_times_atom, n_times_valid - t)
            for l in range(n_atoms):
                for d in range(d0, d1):
                    ztz[k, l, d + n_times_atom - 1] += a * z[l, t + d]


@jit
def accumulate_ztX(z, X, ztX):  # pragma: no cover
    """Add the activation-signal correlations of one trial to ``ztX`` in place.

    Parameters
    ----------
    z : ndarray of shape (n_atoms, n_times_valid)
    X : ndarray of shape (n_channels, n_times)
    ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
        ``ztX[k, c, j] += sum_t z[k, t] * X[c, t + j]``.
    """
    n_atoms, n_times_valid = z.shape
    n_channels, n_times_atom = ztX.shape[1], ztX.shape[2]
    for k in range(n_atoms):
        for t in range(n_times_valid):
            a = z[k, t]
            if a == 0:
                continue
            for c in range(n_channels):
                for j in range(n_times_atom):
                    ztX[k, c, j] += a * X[c, t + j]


@jit
def ztz_times_waveforms(ztz, v):  # pragma: no cover
    """Apply the activation cross-correlations to each pair of waveforms.

    Parameters
    ----------
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
    v : ndarray of shape (n_atoms, n_times_atom)

    Returns
    -------
    W : ndarray of shape (n_atoms, n_atoms, n_times_atom)
        ``W[k, l, j] = sum_d ztz[k, l, d + n_times_atom - 1] * v[l, j - d]``.
    """
    n_atoms, n_times_atom = v.shape
    W = np.zeros((n_atoms, n_atoms, n_times_atom), dtype=v.dtype)
    for k in range(n_atoms):
        for l in range(n_atoms):
            for j in range(n_times_atom):
                acc = 0.
                for i in range(n_times_atom):
                    acc += ztz[k, l, j - i + n_times_atom - 1] * v[l, i]
                W[k, l, j] = acc
    return W


@jit
def ztz_times_atoms(ztz, D):  # pragma: no cover
    """Apply the activation cross-correlations to full-rank atoms.

    Parameters
    ----------
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    G : ndarray of shape (n_atoms, n_channels, n_times_atom)
        ``G[k, c, j] = sum_{l, d} ztz[k, l, d + n_times_atom - 1] * D[l, c, j - d]``,
        the gradient of ``0.5 ||X_hat||^2`` with respect to ``D``.
    """
    n_atoms, n_channels, n_times_atom = D.shape
    G = np.zeros((n_atoms, n_channels, n_times_atom), dtype=D.dtype)
    for k in range(n_atoms):
        for l in range(n_atoms):
            for j in range(n_times_atom):
                for i in range(n_times_atom):
                    w = ztz[k, l, j - i + n_times_atom - 1]
                    if w == 0:
                        continue
                    for c in range(n_channels):
                        G[k, c, j] += w * D[l, c, i]
    return G
