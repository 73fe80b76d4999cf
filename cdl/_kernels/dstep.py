"""Compiled inner loops of the rank-1 d-step (alternate projected gradient).

With ``v`` fixed the data-fit is a quadratic in ``u`` with Hessian ``M (x) I``,
``M[k, l] = (w v_k)^T T_kl (w v_l)``; with ``u`` fixed it is a quadratic in ``v``
with Hessian blocks ``U[k, l] diag(w) T_kl diag(w)``, ``U = u u^T``; ``T_kl`` is
the Toeplitz matrix of ``ztz[k, l]`` and ``w`` the temporal window.

Each step computes the projected-gradient direction ``delta = P(x - s g) - x``,
applies the Hessian to it once, and moves to the exact minimiser of the quadratic
on the segment ``[x, x + delta]`` (feasible by convexity). The objective thus
decreases by at least ``-0.5 * g . delta > 0`` at every step and no Hessian
product is wasted on a rejected trial. The trial step ``s`` adapts: it grows by
``STEP_GROWTH`` when the whole segment is taken, and is scaled by the line-search
fraction otherwise. The Hessian product also updates the gradient exactly.
"""
import numpy as np

from . import jit

EPS_SQ = 1e-28  # squared relative change below which a block is stationary
STEP_GROWTH = 1.5
MIN_SHRINK = 1e-3
MAX_STEP = 1e30  # growth cap, reached only along directions of zero curvature


@jit
def correlate_waveforms(ztz, v, W):  # pragma: no cover
    """Add the activation cross-correlations applied to each waveform to ``W``.

    Same result as :func:`cdl._kernels.stats.ztz_times_waveforms`, accumulated in
    place with a loop order that the compiler vectorises.

    Parameters
    ----------
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
    v : ndarray of shape (n_atoms, n_times_atom)
    W : ndarray of shape (n_atoms, n_atoms, n_times_atom)
        ``W[k, l, j] += sum_i ztz[k, l, j - i + n_times_atom - 1] * v[l, i]``.
    """
    n_atoms, n_times_atom = v.shape
    for k in range(n_atoms):
        for l in range(n_atoms):
            for d in range(-n_times_atom + 1, n_times_atom):
                a = ztz[k, l, d + n_times_atom - 1]
                if a == 0.:
                    continue
                j0 = max(0, d)
                j1 = min(n_times_atom, n_times_atom + d)
                out = W[k, l, j0:j1]
                src = v[l, j0 - d:j1 - d]
                for j in range(j1 - j0):
                    out[j] += a * src[j]


@jit
def ball_step(x, grad, step, delta):  # pragma: no cover
    """Projected gradient step on rows constrained to the unit ball.

    Parameters
    ----------
    x, grad, delta : ndarray of shape (n_rows, n_cols)
        ``delta`` receives ``proj(x - step * grad) - x``, row by row.
    step : float

    Returns
    -------
    sq_norm : float
        ``||delta||^2``.
    """
    sq_norm = 0.
    for k in range(x.shape[0]):
        row_norm = 0.
        for c in range(x.shape[1]):
            delta[k, c] = x[k, c] - step * grad[k, c]
            row_norm += delta[k, c] * delta[k, c]
        scale = 1. / np.sqrt(row_norm) if row_norm > 1. else 1.
        for c in range(x.shape[1]):
            delta[k, c] = scale * delta[k, c] - x[k, c]
            sq_norm += delta[k, c] * delta[k, c]
    return sq_norm


@jit
def _dot(a, b):  # pragma: no cover
    acc = 0.
    for k in range(a.shape[0]):
        for c in range(a.shape[1]):
            acc += a[k, c] * b[k, c]
    return acc


@jit
def _mix(A, x, out):  # pragma: no cover
    """``out = A @ x`` for a small square ``A``, without allocation."""
    for k in range(A.shape[0]):
        for c in range(x.shape[1]):
            out[k, c] = 0.
        for l in range(A.shape[1]):
            a = A[k, l]
            for c in range(x.shape[1]):
                out[k, c] += a * x[l, c]


@jit
def _hessian_v(ztz, U, window, delta, W_delta, h_delta):  # pragma: no cover
    """``h_delta[k] = w * sum_l U[k, l] T_kl (w * delta_l)``; ``W_delta = T (w delta)``.
    """
    # h_delta holds the windowed delta until it gets its own value.
    for k in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            h_delta[k, j] = delta[k, j] * window[j]
        for l in range(W_delta.shape[1]):
            for j in range(W_delta.shape[2]):
                W_delta[k, l, j] = 0.
    correlate_waveforms(ztz, h_delta, W_delta)
    for k in range(U.shape[0]):
        for j in range(h_delta.shape[1]):
            h_delta[k, j] = 0.
        for l in range(U.shape[1]):
            a = U[k, l]
            for j in range(h_delta.shape[1]):
                h_delta[k, j] += a * W_delta[k, l, j]
        for j in range(h_delta.shape[1]):
            h_delta[k, j] *= window[j]


@jit
def _projected_gradient(x, grad, step, max_steps, tol, A, ztz, window, W, delta,
                        h_delta, W_delta):  # pragma: no cover
    """Projected gradient with exact line search on the unit-ball rows of ``x``.

    The Hessian is ``A (x) I`` when ``W`` is empty (the ``u`` phase), else the
    ``v``-Hessian of :func:`_hessian_v` with ``A = U``; then ``W = T (w v)`` is kept
    up to date. ``x``, ``grad`` and ``W`` are updated in place; ``delta``,
    ``h_delta`` (shaped as ``x``) and ``W_delta`` (as ``W``) are scratch.

    Returns
    -------
    step : float
        The next trial step size.
    """
    is_v = W.size > 0
    for _ in range(max_steps):
        sq_delta = ball_step(x, grad, step, delta)
        if sq_delta <= max(tol * tol, EPS_SQ) * _dot(x, x):
            break  # stationary up to tol (or rounding)
        if is_v:
            _hessian_v(ztz, A, window, delta, W_delta, h_delta)
        else:
            _mix(A, delta, h_delta)
        slope = _dot(grad, delta)
        if slope >= 0.:
            break  # rounding dominates: no descent direction left
        curvature = _dot(delta, h_delta)
        alpha = 1.
        if curvature > -slope:  # the minimiser along delta is before its end
            alpha = -slope / curvature
        for k in range(x.shape[0]):
            for c in range(x.shape[1]):
                x[k, c] += alpha * delta[k, c]
                grad[k, c] += alpha * h_delta[k, c]
        if is_v:
            for k in range(W.shape[0]):
                for l in range(W.shape[1]):
                    for j in range(W.shape[2]):
                        W[k, l, j] += alpha * W_delta[k, l, j]
        if alpha == 1.:
            step = min(step * STEP_GROWTH, MAX_STEP)
        else:
            step *= max(alpha, MIN_SHRINK)
    return step


@jit
def alternate_step(ztz, ztX, window, u, v, W, steps, u_steps, v_steps, tol,
                   work):  # pragma: no cover
    """One outer iteration of the rank-1 d-step: steps on ``u``, then on ``v``.

    Written with loops only (no ``np.dot``, reductions along an axis or array
    expressions): each of those compiles its own implementation and bounds
    checks, which made this kernel most of the compile time of a first fit.

    Parameters
    ----------
    ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
    ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
    window : ndarray of shape (n_times_atom,)
    u : ndarray of shape (n_atoms, n_channels)
        Feasible (``||u_k|| <= 1``), updated in place.
    v : ndarray of shape (n_atoms, n_times_atom)
        Feasible (``||v_k|| <= 1``), updated in place.
    W : ndarray of shape (n_atoms, n_atoms, n_times_atom)
        ``T_kl (w v_l)`` on entry, kept up to date in place.
    steps : ndarray of shape (2,)
        Trial step sizes for ``u`` and ``v`` (0: start from a safe bound);
        updated in place.
    u_steps, v_steps : int
        Maximum number of accepted steps on ``u`` and on ``v``.
    tol : float
        A phase stops when a step changes its block by less than ``tol`` times
        its norm.
    work : tuple of ndarray
        Scratch from :func:`alternate_work`.

    Returns
    -------
    sq_change : float
        ``||u_new - u||^2 + ||v_new - v||^2``.
    sq_norm : float
        ``||u||^2 + ||v||^2`` before the iteration.
    """
    M, U, vw, u_old, grad_u, du, hu, v_old, grad_v, dv, hv, W_delta, no_W = work
    n_atoms, n_channels, n_times_atom = ztX.shape
    for k in range(n_atoms):
        for j in range(n_times_atom):
            vw[k, j] = v[k, j] * window[j]
    # M[k, l] = (w v_k)^T T_kl (w v_l), symmetrised; grad_u = M u - ztX v.
    for k in range(n_atoms):
        for l in range(n_atoms):
            acc = 0.
            for j in range(n_times_atom):
                acc += W[k, l, j] * vw[k, j]
            M[k, l] = acc
    for k in range(n_atoms):
        for l in range(k + 1, n_atoms):
            m = 0.5 * (M[k, l] + M[l, k])
            M[k, l] = m
            M[l, k] = m
    for k in range(n_atoms):
        for c in range(n_channels):
            acc = 0.
            for l in range(n_atoms):
                acc += M[k, l] * u[l, c]
            b = 0.
            for j in range(n_times_atom):
                b += ztX[k, c, j] * vw[k, j]
            grad_u[k, c] = acc - b
            u_old[k, c] = u[k, c]
        for j in range(n_times_atom):
            v_old[k, j] = v[k, j]
    if steps[0] <= 0.:
        bound = 0.
        for k in range(n_atoms):
            row = 0.
            for l in range(n_atoms):
                row += abs(M[k, l])
            bound = max(bound, row)
        steps[0] = 1. / bound if bound > 0. else 1.
    steps[0] = _projected_gradient(u, grad_u, steps[0], u_steps, tol, M, ztz,
                                   window, no_W, du, hu, no_W)

    # U = u u^T; grad_v[k] = (sum_l U[k, l] W[k, l] - u_k^T ztX[k]) * window.
    for k in range(n_atoms):
        for l in range(n_atoms):
            acc = 0.
            for c in range(n_channels):
                acc += u[k, c] * u[l, c]
            U[k, l] = acc
    utX = hv  # scratch until the v phase
    for k in range(n_atoms):
        for j in range(n_times_atom):
            grad_v[k, j] = 0.
            utX[k, j] = 0.
        for l in range(n_atoms):
            a = U[k, l]
            for j in range(n_times_atom):
                grad_v[k, j] += a * W[k, l, j]
        for c in range(n_channels):
            a = u[k, c]
            for j in range(n_times_atom):
                utX[k, j] += a * ztX[k, c, j]
        for j in range(n_times_atom):
            grad_v[k, j] = (grad_v[k, j] - utX[k, j]) * window[j]
    if steps[1] <= 0.:
        max_w2 = 0.
        for j in range(n_times_atom):
            max_w2 = max(max_w2, window[j] * window[j])
        bound = 0.
        for k in range(n_atoms):
            row = 0.
            for l in range(n_atoms):
                acc = 0.
                for d in range(ztz.shape[2]):
                    acc += abs(ztz[k, l, d])
                row += abs(U[k, l]) * (acc * max_w2)
            bound = max(bound, row)
        steps[1] = 1. / bound if bound > 0. else 1.
    steps[1] = _projected_gradient(v, grad_v, steps[1], v_steps, tol, U, ztz,
                                   window, W, dv, hv, W_delta)
    sq_change = 0.
    for k in range(n_atoms):
        for c in range(n_channels):
            sq_change += (u[k, c] - u_old[k, c]) ** 2
        for j in range(n_times_atom):
            sq_change += (v[k, j] - v_old[k, j]) ** 2
    return sq_change, _dot(u_old, u_old) + _dot(v_old, v_old)


def alternate_work(n_atoms, n_channels, n_times_atom):
    """Scratch arrays of :func:`alternate_step` (float64)."""
    def empty(*shape):
        return np.zeros(shape)
    return (empty(n_atoms, n_atoms), empty(n_atoms, n_atoms),
            empty(n_atoms, n_times_atom),
            empty(n_atoms, n_channels), empty(n_atoms, n_channels),
            empty(n_atoms, n_channels), empty(n_atoms, n_channels),
            empty(n_atoms, n_times_atom), empty(n_atoms, n_times_atom),
            empty(n_atoms, n_times_atom), empty(n_atoms, n_times_atom),
            empty(n_atoms, n_atoms, n_times_atom), empty(0, 0, 0))
