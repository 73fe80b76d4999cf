"""The d-step of full-rank atoms: FISTA on the sufficient statistics."""
import numpy as np

from cdl._kernels import stats
from cdl.utils.validation import check_dictionary, check_int, check_scalar

from .projections import (
    check_stats,
    check_window,
    prox_D,
)

# Largest (n_atoms * n_times_atom) ** 2 for which the full-rank operator is stored
# as a dense matrix (32 MB) and applied by BLAS.
DENSE_OPERATOR_MAX = 2 ** 22


def _full_rank_operator(ztz, window):
    """Return ``apply(D) = w * ztz_times_atoms(ztz, w * D)`` for any channel count.

    The operator acts on each channel alike, so it is a (n_atoms * n_times_atom)
    square matrix applied to the channels; when small enough it is stored and
    applied as one matrix product.
    """
    n_atoms, n_times_atom = ztz.shape[0], len(window)
    size = n_atoms * n_times_atom
    if size ** 2 > DENSE_OPERATOR_MAX:
        def apply(D):
            return window * stats.ztz_times_atoms(
                ztz, np.ascontiguousarray(D * window))
        return apply
    lags = (np.arange(n_times_atom)[:, None] - np.arange(n_times_atom)[None]
            + n_times_atom - 1)
    T = ztz[:, :, lags].transpose(0, 2, 1, 3).reshape(size, size)
    w_all = np.tile(window, n_atoms)
    T = T * w_all[:, None] * w_all[None, :]

    def apply(D):
        D_cols = D.transpose(0, 2, 1).reshape(size, -1)
        out = (T @ D_cols).reshape(n_atoms, n_times_atom, -1)
        return np.ascontiguousarray(out.transpose(0, 2, 1))
    return apply


def _power_iteration(apply, shape, n_iter=100, tol=1e-7):
    """Largest eigenvalue of the symmetric PSD operator ``apply``."""
    x = np.random.RandomState(0).randn(*shape)
    x /= np.linalg.norm(x)
    lmbd = 0.
    for _ in range(n_iter):
        y = apply(x)
        new_lmbd = float(np.sum(x * y))
        norm = np.linalg.norm(y)
        if norm == 0.:
            return 0.
        x = y / norm
        if abs(new_lmbd - lmbd) <= tol * new_lmbd:
            return new_lmbd
        lmbd = new_lmbd
    return lmbd


def update_D(D, ztz, ztX, max_iter=300, tol=1e-8, window=None):
    """Update full-rank atoms from the sufficient statistics (full-rank d-step).

    FISTA with projection onto ``||D_k||_F <= 1`` and step ``1 / L``, where ``L``
    is the largest eigenvalue of ``D -> ztz_times_atoms(ztz, D)`` found by power
    iteration (the operator acts on each channel alike, so the iteration runs on
    one channel). The objective of each iterate is computed exactly from the
    quadratic; an iterate that would increase it is rejected and the momentum
    restarted from the last accepted point, so the objective never increases.

    Parameters
    ----------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)
        Starting atoms; projected onto the constraint first.
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
    ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
    max_iter : int
        Maximum number of FISTA iterations.
    tol : float
        Stop when an iteration changes ``D`` by less than ``tol * ||D||``.
    window : ndarray of shape (n_times_atom,) | None
        Temporal taper: the atoms are ``D_k * window``; the returned ``D`` is the
        un-windowed one.

    Returns
    -------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)
    """
    max_iter = check_int("max_iter", max_iter, min_value=0)
    tol = check_scalar("tol", tol, min_value=0.)
    dtype = np.result_type(D, np.float32)
    if np.ndim(D) != 3:
        raise ValueError(f"D must have shape (n_atoms, n_channels, n_times_atom), "
                         f"got {np.shape(D)}; use update_uv for rank-1 atoms.")
    D, n_times_atom = check_dictionary(D, None, np.float64)
    n_atoms = len(D)
    ztz, ztX = check_stats(ztz, ztX, n_atoms, n_times_atom)
    window = check_window(window, n_times_atom)
    x = prox_D(D)
    apply = _full_rank_operator(ztz, window)
    lipschitz = 1.01 * _power_iteration(apply, (n_atoms, 1, n_times_atom))
    if lipschitz == 0.:
        return x.astype(dtype, copy=False)
    b = ztX * window
    x = _fista_D(x, apply, b, lipschitz, max_iter, tol)
    return x.astype(dtype, copy=False)


def _fista_D(x, apply, b, lipschitz, max_iter, tol):
    """Monotone FISTA on ``0.5 <D, A D> - <b, D>`` over ``||D_k||_F <= 1``."""
    Ax = apply(x)
    y, Ay, t = x, Ax, 1.
    for _ in range(max_iter):
        new_x = prox_D(y - (Ay - b) / lipschitz)
        new_Ax = apply(new_x)
        delta = new_x - x
        # Exact change of the objective from x to new_x.
        change = np.sum(delta * (Ax - b)) + 0.5 * np.sum(delta * (new_Ax - Ax))
        sq_delta = np.sum(delta * delta)
        converged = sq_delta <= tol ** 2 * np.sum(x * x)
        if change > 0:
            if converged:
                break
            if y is x:  # a plain projected step failed: L was underestimated
                lipschitz *= 2.
            y, Ay, t = x, Ax, 1.
            continue
        new_t = 0.5 * (1. + np.sqrt(1. + 4. * t * t))
        beta = (t - 1.) / new_t
        y = new_x + beta * delta
        Ay = new_Ax + beta * (new_Ax - Ax)
        x, Ax, t = new_x, new_Ax, new_t
        if converged:
            break
    return x
