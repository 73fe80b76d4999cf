"""The d-step of rank-1 atoms ``u_k v_k^T``: :func:`update_uv`.

The data-fit ``0.5 ||X - X_hat||^2`` is a function of the dictionary through
``ztz`` (n_atoms, n_atoms, 2 * n_times_atom - 1) and ``ztX`` (n_atoms,
n_channels, n_times_atom) only (:func:`cdl.model.objective.data_fit_from_stats`),
so nothing here costs more with ``n_times``.

With ``uv_constraint='separate'`` the objective is quadratic in ``u`` for ``v``
fixed and in ``v`` for ``u`` fixed. Each outer iteration takes up to
``U_STEPS`` projected gradient steps on ``u``, then ``V_STEPS`` on ``v``
(compiled, :mod:`cdl._kernels.dstep`): the step direction ``P(x - s g) - x`` is
followed by an exact line search on the quadratic (one Hessian product, which
also updates the gradient), and the trial step ``s`` starts from the previous
one, grown after a full step and shrunk otherwise. With ``'joint'`` the step is
a projected gradient step on ``uv`` with Armijo backtracking.

The update is monotone: the returned dictionary never has a larger data-fit
than the (projected) starting one.
"""
import numpy as np

from cdl._kernels import dstep
from cdl.model.shapes import split_uv
from cdl.utils.validation import check_dictionary, check_int, check_option, check_scalar

from .projections import (
    UV_CONSTRAINTS,
    _row_norms,
    check_stats,
    check_window,
    prox_uv,
)

# Steps per outer iteration: a step on u costs O(n_atoms^2 n_channels), a step on
# v one O(n_atoms^2 n_times_atom^2) correlation.
U_STEPS = 5


V_STEPS = 1


MAX_BACKTRACK = 40


STEP_GROWTH = 1.5


def _inverse(bound):
    """Step size ``1 / bound`` (1 when the bound is 0: any step is safe then)."""
    return 1. / bound if bound > 0 else 1.


def update_uv(uv, ztz, ztX, n_channels, uv_constraint="separate", max_iter=100,
              tol=1e-7, window=None):
    """Update rank-1 atoms from the sufficient statistics (the rank-1 d-step).

    Parameters
    ----------
    uv : ndarray of shape (n_atoms, n_channels + n_times_atom)
        Starting atoms; projected onto the constraint first.
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
    ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
    n_channels : int
    uv_constraint : {'separate', 'joint'}
        ``'separate'``: alternate projected gradient on ``u`` (``||u_k|| <= 1``)
        and ``v`` (``||v_k|| <= 1``); ``'joint'``: projected gradient on ``uv``
        with ``||[u_k, v_k]|| <= 1``.
    max_iter : int
        Maximum number of outer iterations. With ``'separate'`` one iteration is
        up to 5 (cheap) steps on ``u`` and one step on ``v``; with ``'joint'``,
        one step on ``uv``.
    tol : float
        Stop when an iteration changes ``uv`` by less than ``tol * ||uv||``
        (Frobenius norms); with ``'separate'`` a block whose next step would be
        that small is left as is.
    window : ndarray of shape (n_times_atom,) | None
        Temporal taper: the atoms are ``u_k (v_k * window)``; the returned ``v``
        is the un-windowed one.

    Returns
    -------
    uv : ndarray of shape (n_atoms, n_channels + n_times_atom)
        New atoms, feasible, with a data-fit no larger than the projected start.
    """
    check_option("uv_constraint", uv_constraint, UV_CONSTRAINTS)
    max_iter = check_int("max_iter", max_iter, min_value=0)
    tol = check_scalar("tol", tol, min_value=0.)
    dtype = np.result_type(uv, np.float32)
    if np.ndim(uv) != 2:
        raise ValueError(f"uv must have shape (n_atoms, n_channels + "
                         f"n_times_atom), got {np.shape(uv)}; use update_D for "
                         f"full-rank atoms.")
    uv, n_times_atom = check_dictionary(uv, n_channels, np.float64, name="uv")
    ztz, ztX = check_stats(ztz, ztX, len(uv), n_times_atom)
    window = check_window(window, n_times_atom)
    uv = prox_uv(uv, n_channels, uv_constraint)
    solve = _alternate_pgd if uv_constraint == "separate" else _joint_pgd
    uv = solve(uv, ztz, ztX, n_channels, window, max_iter, tol)
    return uv.astype(dtype, copy=False)


def _alternate_pgd(uv, ztz, ztX, n_channels, window, max_iter, tol):
    """Alternate projected gradient on ``u`` and ``v`` ('separate' constraint).

    Each outer iteration forms the quadratic of each block with small matrix
    products (numpy) and runs its steps in the compiled
    :func:`cdl._kernels.dstep.projected_gradient` (the steps are where the
    time goes; the rest compiled only added to the first run's compile time).
    """
    u, v = (np.ascontiguousarray(a) for a in split_uv(uv, n_channels))
    n_atoms, n_times_atom = v.shape
    W = np.zeros((n_atoms, n_atoms, n_times_atom))
    dstep.correlate_waveforms(ztz, v * window, W)  # W[k, l] = T_kl (w v_l)
    scratch_u = (np.empty_like(u), np.empty_like(u))
    scratch_v = (np.empty_like(v), np.empty_like(v), np.empty_like(W))
    no_W = np.empty((0, 0, 0))
    step_u = step_v = 0.
    for _ in range(max_iter):
        u_old, v_old = u.copy(), v.copy()
        vw = v * window
        # M[k, l] = (w v_k)^T T_kl (w v_l), symmetrised; grad_u = M u - ztX w v.
        M = (W @ vw[:, :, None])[:, :, 0]
        M = 0.5 * (M + M.T)
        grad_u = M @ u - (ztX @ vw[:, :, None])[:, :, 0]
        if step_u <= 0.:
            step_u = _inverse(np.abs(M).sum(axis=1).max())
        step_u = dstep.projected_gradient(u, grad_u, step_u, U_STEPS, tol, M, ztz,
                                          window, no_W, *scratch_u, no_W)
        U = u @ u.T
        grad_v = ((U[:, None, :] @ W)[:, 0, :]
                  - (u[:, None, :] @ ztX)[:, 0, :]) * window
        if step_v <= 0.:
            step_v = _inverse(_hessian_bound(ztz, U, window))
        step_v = dstep.projected_gradient(v, grad_v, step_v, V_STEPS, tol, U, ztz,
                                          window, W, *scratch_v)
        sq_change = np.sum((u - u_old) ** 2) + np.sum((v - v_old) ** 2)
        if sq_change <= tol ** 2 * (np.sum(u_old ** 2) + np.sum(v_old ** 2)):
            break
    return np.concatenate([u, v], axis=1)


def _hessian_bound(ztz, gram, window):
    """Largest absolute row sum of a block Hessian ``gram[k, l] diag(w) T_kl diag(w)``.

    An upper bound on its norm: with ``gram = u u^T`` for the v-Hessian; with
    ``gram[k, l] = ||v_k|| ||v_l||`` it also bounds the u-Hessian ``M``.
    """
    per_pair = np.abs(ztz).sum(axis=2)
    return float((np.abs(gram) * per_pair).sum(axis=1).max() * np.max(window ** 2))


def _value_and_grad_uv(uv, ztz, ztX, n_channels, window):
    """Data-fit (without ``0.5 ||X||^2``) and its gradient in ``uv``."""
    u, v = split_uv(uv, n_channels)
    vw = v * window
    W = np.zeros((len(u), len(u), len(window)))
    dstep.correlate_waveforms(ztz, np.ascontiguousarray(vw), W)
    U = u @ u.T
    quad_v = np.einsum("kl,klj->kj", U, W)
    utX = np.einsum("kc,kcj->kj", u, ztX)
    value = 0.5 * np.sum(vw * quad_v) - np.sum(utX * vw)
    M = np.einsum("kj,klj->kl", vw, W)
    grad_u = 0.5 * (M + M.T) @ u - np.einsum("kcj,kj->kc", ztX, vw)
    grad_v = window * (quad_v - utX)
    return value, np.concatenate([grad_u, grad_v], axis=1)


def _joint_pgd(uv, ztz, ztX, n_channels, window, max_iter, tol):
    """Projected gradient with Armijo backtracking on ``uv`` ('joint' constraint)."""
    value, grad = _value_and_grad_uv(uv, ztz, ztX, n_channels, window)
    u, v = split_uv(uv, n_channels)
    v_norms = _row_norms(v)
    step = _inverse(_hessian_bound(ztz, u @ u.T, window)
                    + _hessian_bound(ztz, np.outer(v_norms, v_norms), window))
    for _ in range(max_iter):
        for _ in range(MAX_BACKTRACK):
            candidate = prox_uv(uv - step * grad, n_channels, "joint")
            delta = candidate - uv
            sq_delta = np.sum(delta * delta)
            if sq_delta == 0.:
                return uv
            new_value, new_grad = _value_and_grad_uv(candidate, ztz, ztX,
                                                     n_channels, window)
            if new_value <= value + np.sum(grad * delta) + sq_delta / (2 * step):
                break
            step *= 0.5
        else:
            return uv
        if new_value > value:  # Armijo guarantees a decrease up to rounding
            return uv
        uv, value, grad = candidate, new_value, new_grad
        if sq_delta <= tol ** 2 * np.sum(uv * uv):
            break
        step *= STEP_GROWTH
    return uv
