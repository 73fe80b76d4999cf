"""The d-step: update the atoms from the sufficient statistics ``ztz`` and ``ztX``.

The data-fit ``0.5 ||X - X_hat||^2`` is a function of the dictionary through
``ztz`` (n_atoms, n_atoms, 2 * n_times_atom - 1) and ``ztX`` (n_atoms, n_channels,
n_times_atom) only (:func:`cdl.objective.data_fit_from_stats`), so no function here
costs more with ``n_times``.

- Rank-1 atoms ``u_k v_k^T`` (:func:`update_uv`): with ``uv_constraint='separate'``
  the objective is quadratic in ``u`` for ``v`` fixed and in ``v`` for ``u`` fixed.
  Each outer iteration takes up to ``U_STEPS`` projected gradient steps on ``u``,
  then ``V_STEPS`` on ``v`` (compiled, :mod:`cdl._kernels.dstep`): the step
  direction ``P(x - s g) - x`` is followed by an exact line search on the
  quadratic (one Hessian product, which also updates the gradient), and the
  trial step ``s`` starts from the previous one, grown after a full step and
  shrunk otherwise. With ``'joint'`` the step is a projected gradient step on
  ``uv`` with Armijo backtracking.
- Full-rank atoms (:func:`update_D`): FISTA with step ``1 / L`` (``L`` by power
  iteration), restarted whenever an iterate would increase the objective.

Both are monotone: the returned dictionary never has a larger data-fit than the
(projected) starting one. The initialisations live in :mod:`cdl.init_dict`;
``init_dictionary`` is also importable from here.
"""
import numpy as np

from ._kernels import dstep, stats
from ._validation import check_dictionary, check_int, check_option, check_scalar
from .objective import split_uv

__all__ = ["prox_uv", "prox_D", "update_uv", "update_D"]

UV_CONSTRAINTS = ("separate", "joint")
# Steps per outer iteration: a step on u costs O(n_atoms^2 n_channels), a step on
# v one O(n_atoms^2 n_times_atom^2) correlation.
U_STEPS = 5
V_STEPS = 1
MAX_BACKTRACK = 40
STEP_GROWTH = 1.5
# Largest (n_atoms * n_times_atom) ** 2 for which the full-rank operator is stored
# as a dense matrix (32 MB) and applied by BLAS.
DENSE_OPERATOR_MAX = 2 ** 22


def __getattr__(name):
    """Give :func:`cdl.init_dict.init_dictionary` lazily (it imports this module)."""
    if name == "init_dictionary":
        from .init_dict import init_dictionary
        return init_dictionary
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _row_norms(x):
    return np.sqrt(np.sum(x * x, axis=-1))


def prox_uv(uv, n_channels, uv_constraint="separate"):
    """Project rank-1 atoms onto their norm constraint.

    Parameters
    ----------
    uv : ndarray of shape (n_atoms, n_channels + n_times_atom)
    n_channels : int
    uv_constraint : {'separate', 'joint'}
        ``'separate'``: ``||u_k|| <= 1`` and ``||v_k|| <= 1``; ``'joint'``:
        ``||[u_k, v_k]|| <= 1``.

    Returns
    -------
    uv : ndarray of shape (n_atoms, n_channels + n_times_atom)
        A new array; rows already inside the ball are unchanged.
    """
    check_option("uv_constraint", uv_constraint, UV_CONSTRAINTS)
    uv = np.array(uv, dtype=np.result_type(uv, np.float32))
    if uv_constraint == "joint":
        uv /= np.maximum(1., _row_norms(uv))[:, None]
    else:
        u, v = split_uv(uv, n_channels)
        u /= np.maximum(1., _row_norms(u))[:, None]
        v /= np.maximum(1., _row_norms(v))[:, None]
    return uv


def prox_D(D):
    """Project full-rank atoms onto ``||D_k||_F <= 1``.

    Parameters
    ----------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)
        A new array.
    """
    D = np.array(D, dtype=np.result_type(D, np.float32))
    norms = np.sqrt(np.sum(D * D, axis=(1, 2)))
    return D / np.maximum(1., norms)[:, None, None]


def _check_stats(ztz, ztX, n_atoms, n_times_atom):
    ztz = np.ascontiguousarray(ztz, dtype=np.float64)
    ztX = np.ascontiguousarray(ztX, dtype=np.float64)
    if ztz.shape != (n_atoms, n_atoms, 2 * n_times_atom - 1):
        raise ValueError(f"ztz must have shape (n_atoms, n_atoms, 2 * n_times_atom"
                         f" - 1) = {(n_atoms, n_atoms, 2 * n_times_atom - 1)}, "
                         f"got {ztz.shape}.")
    if ztX.shape[0] != n_atoms or ztX.ndim != 3 or ztX.shape[2] != n_times_atom:
        raise ValueError(f"ztX must have shape (n_atoms, n_channels, n_times_atom)"
                         f" with n_atoms={n_atoms}, n_times_atom={n_times_atom}, "
                         f"got {ztX.shape}.")
    return ztz, ztX


def _check_window(window, n_times_atom):
    """Return the temporal window as float64 ones when ``window`` is None."""
    if window is None:
        return np.ones(n_times_atom)
    if not isinstance(window, np.ndarray) or window.shape != (n_times_atom,):
        shape = getattr(window, "shape", type(window).__name__)
        raise ValueError(f"window must be None or an ndarray of shape "
                         f"(n_times_atom,) = ({n_times_atom},), got {shape}.")
    if not np.all(np.isfinite(window)):
        raise ValueError("window must hold finite values.")
    return np.ascontiguousarray(window, dtype=np.float64)


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
    ztz, ztX = _check_stats(ztz, ztX, len(uv), n_times_atom)
    window = _check_window(window, n_times_atom)
    uv = prox_uv(uv, n_channels, uv_constraint)
    solve = _alternate_pgd if uv_constraint == "separate" else _joint_pgd
    uv = solve(uv, ztz, ztX, n_channels, window, max_iter, tol)
    return uv.astype(dtype, copy=False)


def _alternate_pgd(uv, ztz, ztX, n_channels, window, max_iter, tol):
    """Alternate projected gradient on ``u`` and ``v`` ('separate' constraint)."""
    u, v = (np.ascontiguousarray(a) for a in split_uv(uv, n_channels))
    n_atoms, n_times_atom = v.shape
    W = np.zeros((n_atoms, n_atoms, n_times_atom))
    dstep.correlate_waveforms(ztz, v * window, W)  # W[k, l] = T_kl (w v_l)
    steps = np.zeros(2)
    for _ in range(max_iter):
        sq_change, sq_norm = dstep.alternate_step(
            ztz, ztX, window, u, v, W, steps, U_STEPS, V_STEPS, tol)
        if sq_change <= tol ** 2 * sq_norm:
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
    ztz, ztX = _check_stats(ztz, ztX, n_atoms, n_times_atom)
    window = _check_window(window, n_times_atom)
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
