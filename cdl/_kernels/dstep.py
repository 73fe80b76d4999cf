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
def projected_gradient(x, grad, step, max_steps, tol, A, ztz, window, W, delta,
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
