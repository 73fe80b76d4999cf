"""Objective, gradients, lambda_max and sufficient statistics.

Thin wrappers over the compiled kernels that accept a dictionary given either as
``uv`` (rank-1, 2-D) or as ``D`` (full rank, 3-D) (:mod:`cdl.model.shapes`). The
public functions :func:`lambda_max`, :func:`compute_objective` and
:func:`reconstruct` check their inputs; the others (and the private ``_``
versions used inside the package) assume checked inputs
(see :mod:`cdl.utils.validation`).
"""
import numpy as np

from cdl._kernels import conv, dstep, stats
from cdl.utils.validation import (
    check_bool,
    check_dictionary,
    check_finite,
    check_reg,
    check_X,
)

from .shapes import get_n_times_atom, is_rank1, split_uv

# Long trials are correlated block by block: bounded temporaries, and control
# returns to Python (where Ctrl-C is seen) between blocks.
CORRELATE_BLOCK = 2 ** 16


def correlate(X_trial, D):
    """Correlation of each atom with one trial.

    Parameters
    ----------
    X_trial : ndarray of shape (n_channels, n_times)
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).

    Returns
    -------
    DtX : ndarray of shape (n_atoms, n_times_valid)
    """
    n_channels, n_times = X_trial.shape
    n_times_atom = get_n_times_atom(D, n_channels)
    n_times_valid = n_times - n_times_atom + 1
    if n_times_valid <= CORRELATE_BLOCK:
        return _correlate(X_trial, D)
    out = np.empty((D.shape[0], n_times_valid), dtype=X_trial.dtype)
    for start in range(0, n_times_valid, CORRELATE_BLOCK):
        stop = min(start + CORRELATE_BLOCK, n_times_valid)
        out[:, start:stop] = _correlate(
            np.ascontiguousarray(X_trial[:, start:stop + n_times_atom - 1]), D)
    return out


def _correlate(X_trial, D):
    if is_rank1(D):
        u, v = split_uv(D, X_trial.shape[0])
        return conv.correlate_rows(np.ascontiguousarray(u @ X_trial),
                                   np.ascontiguousarray(v))
    return conv.correlate_full_rank(X_trial, D)


def _check_z(z, n_trials, n_atoms, n_times_valid, dtype):
    """Validate activations against the shapes of X and D (2-D: one trial)."""
    from cdl.utils.validation import _as_float_array
    z = _as_float_array("z", z, dtype)
    if z.ndim == 2:
        z = z[None]
    expected = (n_trials, n_atoms, n_times_valid)
    if z.shape != expected:
        raise ValueError(f"z must have shape (n_trials, n_atoms, n_times_valid) "
                         f"= {expected} for these X and D, got {z.shape}.")
    check_finite("z", z)
    return z


def reconstruct(z, D, n_channels):
    """Signal model ``X_hat = sum_k z_k * D_k`` (full convolution).

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations (a 2-D array is one trial).
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).
    n_channels : int
        Number of channels (needed to split ``uv``).

    Returns
    -------
    X_hat : ndarray of shape (n_trials, n_channels, n_times_valid + n_times_atom - 1)
    """
    from cdl.utils.validation import _as_float_array, check_int
    n_channels = check_int("n_channels", n_channels, min_value=1)
    z = _as_float_array("z", z, None)
    D, _ = check_dictionary(D, n_channels=n_channels, dtype=z.dtype)
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3 or z.shape[1] != D.shape[0]:
        raise ValueError(f"z must have shape (n_trials, n_atoms, n_times_valid) "
                         f"with n_atoms={D.shape[0]}, got {z.shape}.")
    check_finite("z", z)
    return _reconstruct(z, D, n_channels)


def _reconstruct(z, D, n_channels):
    """:func:`reconstruct` on checked inputs."""
    if z.shape[0] == 0:
        n_times = z.shape[2] + get_n_times_atom(D, n_channels) - 1
        return np.zeros((0, n_channels, n_times), dtype=z.dtype)
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
        Signals (a 2-D array is one trial).
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).
    per_atom : bool
        Return one value per atom instead of the maximum over atoms.

    Returns
    -------
    lmbd_max : float or ndarray of shape (n_atoms,)
        ``max_{n, t} |(D_k corr X[n])(t)|`` (over atoms too unless ``per_atom``).
    """
    X = check_X(X)
    D, n_times_atom = check_dictionary(D, n_channels=X.shape[1], dtype=X.dtype)
    if n_times_atom > X.shape[2]:
        raise ValueError(f"n_times_atom ({n_times_atom}) must not exceed the "
                         f"number of time samples of X ({X.shape[2]}).")
    return _lambda_max(X, D, per_atom=check_bool("per_atom", per_atom))


def _lambda_max(X, D, per_atom=False):
    """:func:`lambda_max` on checked inputs (float64 result)."""
    per_atom_max = np.max([np.abs(correlate(X_n, D)).max(axis=1) for X_n in X],
                          axis=0).astype(np.float64)
    return per_atom_max if per_atom else float(per_atom_max.max())


def compute_objective(X, z, D, reg):
    """``0.5 ||X - X_hat||_F^2 + sum_k reg_k ||z_k||_1``, summed over trials.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Signals (a 2-D array is one trial).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations, ``n_times_valid = n_times - n_times_atom + 1``.
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).
    reg : float | ndarray of shape (n_atoms,)
        Regularisation, >= 0.

    Returns
    -------
    objective : float
        Accumulated in float64 whatever the dtype of the inputs.
    """
    X = check_X(X)
    D, n_times_atom = check_dictionary(D, n_channels=X.shape[1], dtype=X.dtype)
    n_times_valid = X.shape[2] - n_times_atom + 1
    if n_times_valid < 1:
        raise ValueError(f"n_times_atom ({n_times_atom}) must not exceed the "
                         f"number of time samples of X ({X.shape[2]}).")
    z = _check_z(z, X.shape[0], D.shape[0], n_times_valid, X.dtype)
    return _objective(X, z, D, check_reg(reg, D.shape[0]))


def _objective(X, z, D, reg):
    """:func:`compute_objective` on checked inputs."""
    # No activation (the start of a fit): the residual is X itself, exactly.
    residual = X - _reconstruct(z, D, X.shape[1]) if z.any() else X
    reg = np.broadcast_to(np.asarray(reg, dtype=float), (z.shape[1],))
    l1 = np.abs(z).sum(axis=(0, 2), dtype=np.float64)
    return float(0.5 * np.sum(residual * residual, dtype=np.float64)
                 + np.sum(reg * l1))


def gradient_z(X, z, D):
    """Gradient of the data-fit term with respect to ``z``.

    Returns
    -------
    grad : ndarray of shape (n_trials, n_atoms, n_times_valid)
    """
    residual = X - _reconstruct(z, D, X.shape[1])
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
        # The d-step's kernel (already compiled in a fit), not a second one.
        W = np.zeros((v.shape[0], v.shape[0], v.shape[1]))
        dstep.correlate_waveforms(np.ascontiguousarray(ztz, dtype=np.float64),
                                  np.ascontiguousarray(v, dtype=np.float64), W)
        quad = np.einsum("kl,klj,kj->", u @ u.T, W, v)
        lin = np.einsum("kc,kcj,kj->", u, ztX, v)
    else:
        quad = np.sum(D * stats.ztz_times_atoms(ztz, np.ascontiguousarray(D)))
        lin = np.sum(D * ztX)
    return float(0.5 * XtX - lin + 0.5 * quad)
