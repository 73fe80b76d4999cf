"""Objective, gradients, lambda_max and sufficient statistics.

Thin wrappers over the compiled kernels that accept a dictionary given either as
``uv`` (rank-1, 2-D) or as ``D`` (full rank, 3-D). Inputs are assumed checked
(see :mod:`cdl._validation`); shapes follow DESIGN.md.
"""
import numpy as np

from ._kernels import conv, stats


def is_rank1(D):
    """Whether the dictionary is given as ``uv`` (2-D) rather than ``D`` (3-D)."""
    return D.ndim == 2


def split_uv(uv, n_channels):
    """Return ``u`` of shape (n_atoms, n_channels) and ``v`` (n_atoms, n_times_atom)."""
    return uv[:, :n_channels], uv[:, n_channels:]


def get_n_times_atom(D, n_channels):
    """Atom length of a ``uv`` or ``D`` dictionary."""
    return D.shape[1] - n_channels if is_rank1(D) else D.shape[2]


def to_full_rank(D, n_channels):
    """Full-rank atoms of shape (n_atoms, n_channels, n_times_atom)."""
    if not is_rank1(D):
        return D
    u, v = split_uv(D, n_channels)
    return u[:, :, None] * v[:, None, :]


def correlate(X_trial, D):
    """Correlation of each atom with one trial.

    Parameters
    ----------
    X_trial : ndarray of shape (n_channels, n_times)
    D : ndarray of shape (n_atoms, n_channels + n_times_atom) or (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    DtX : ndarray of shape (n_atoms, n_times_valid)
    """
    if is_rank1(D):
        u, v = split_uv(D, X_trial.shape[0])
        return conv.correlate_rows(np.ascontiguousarray(u @ X_trial),
                                   np.ascontiguousarray(v))
    return conv.correlate_full_rank(X_trial, D)


def reconstruct(z, D, n_channels):
    """Signal model ``X_hat`` of shape (n_trials, n_channels, n_times).

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
    D : ndarray, ``uv`` or full-rank dictionary
    n_channels : int
    """
    if is_rank1(D):
        u, v = split_uv(D, n_channels)
        v = np.ascontiguousarray(v)
        return np.stack([u.T @ conv.convolve_rows_sparse(z_n, v) for z_n in z])
    return np.stack([conv.reconstruct_full_rank(z_n, D) for z_n in z])


def compute_DtD(D, n_channels):
    """Atom cross-correlations of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)."""
    if is_rank1(D):
        u, v = split_uv(D, n_channels)
        return stats.compute_DtD_rank1(np.ascontiguousarray(u),
                                       np.ascontiguousarray(v))
    return stats.compute_DtD_full_rank(D)


def compute_ztz(z, n_times_atom):
    """Activation cross-correlations summed over trials.

    Returns
    -------
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
        ``ztz[k, l, d + n_times_atom - 1] = sum_{n, t} z[n, k, t] z[n, l, t + d]``.
    """
    ztz = np.zeros((z.shape[1], z.shape[1], 2 * n_times_atom - 1), dtype=z.dtype)
    for z_n in z:
        stats.accumulate_ztz(z_n, ztz)
    return ztz


def compute_ztX(z, X):
    """Correlation of activations with the signal, summed over trials.

    Returns
    -------
    ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
        ``ztX[k, c, j] = sum_{n, t} z[n, k, t] X[n, c, t + j]``.
    """
    n_times_atom = X.shape[2] - z.shape[2] + 1
    ztX = np.zeros((z.shape[1], X.shape[1], n_times_atom), dtype=X.dtype)
    for z_n, X_n in zip(z, X):
        stats.accumulate_ztX(z_n, X_n, ztX)
    return ztX


def lambda_max(X, D, per_atom=False):
    """Smallest ``reg`` for which the activations are all zero.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
    D : ndarray, ``uv`` or full-rank dictionary
    per_atom : bool
        Return one value per atom instead of the maximum over atoms.

    Returns
    -------
    lmbd_max : float or ndarray of shape (n_atoms,)
        ``max_{n, t} |(D_k corr X[n])(t)|`` (over atoms too unless ``per_atom``).
    """
    per_atom_max = np.max([np.abs(correlate(X_n, D)).max(axis=1) for X_n in X],
                          axis=0)
    return per_atom_max if per_atom else float(per_atom_max.max())


def compute_objective(X, z, D, reg):
    """``0.5 ||X - X_hat||_F^2 + sum_k reg_k ||z_k||_1``, summed over trials."""
    residual = X - reconstruct(z, D, X.shape[1])
    reg = np.broadcast_to(np.asarray(reg, dtype=float), (z.shape[1],))
    return float(0.5 * np.sum(residual * residual)
                 + np.sum(reg * np.abs(z).sum(axis=(0, 2))))


def gradient_z(X, z, D):
    """Gradient of the data-fit term with respect to ``z``.

    Returns
    -------
    grad : ndarray of shape (n_trials, n_atoms, n_times_valid)
    """
    residual = X - reconstruct(z, D, X.shape[1])
    return -np.stack([correlate(R_n, D) for R_n in residual])


def gradient_D(D, ztz, ztX):
    """Gradient of the data-fit term with respect to full-rank atoms.

    Parameters
    ----------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)
    ztz, ztX : ndarray
        Sufficient statistics (see :func:`compute_ztz`, :func:`compute_ztX`).

    Returns
    -------
    grad : ndarray of shape (n_atoms, n_channels, n_times_atom)
    """
    return stats.ztz_times_atoms(ztz, np.ascontiguousarray(D)) - ztX


def gradient_uv(uv, ztz, ztX, n_channels):
    """Gradients of the data-fit term with respect to ``u`` and ``v``.

    Returns
    -------
    grad_u : ndarray of shape (n_atoms, n_channels)
    grad_v : ndarray of shape (n_atoms, n_times_atom)
    """
    u, v = split_uv(uv, n_channels)
    W = stats.ztz_times_waveforms(ztz, np.ascontiguousarray(v))
    uu = u @ u.T
    # G_k = sum_l W[k, l] u_l^T - ztX[k]: the gradient in D, never formed.
    grad_v = np.einsum("kl,klj->kj", uu, W) - np.einsum("kc,kcj->kj", u, ztX)
    M = np.einsum("klj,kj->kl", W, v)
    grad_u = M @ u - np.einsum("kcj,kj->kc", ztX, v)
    return grad_u, grad_v


def data_fit_from_stats(D, ztz, ztX, XtX, n_channels):
    """``0.5 ||X - X_hat||^2`` computed from the sufficient statistics only.

    Parameters
    ----------
    XtX : float
        ``sum X ** 2`` over trials.
    """
    if is_rank1(D):
        u, v = split_uv(D, n_channels)
        W = stats.ztz_times_waveforms(ztz, np.ascontiguousarray(v))
        quad = np.einsum("kl,klj,kj->", u @ u.T, W, v)
        lin = np.einsum("kc,kcj,kj->", u, ztX, v)
    else:
        quad = np.sum(D * stats.ztz_times_atoms(ztz, np.ascontiguousarray(D)))
        lin = np.sum(D * ztX)
    return float(0.5 * XtX - lin + 0.5 * quad)
