"""The z-step solvers of one trial: LGCD (compiled), FISTA and L-BFGS."""
import numpy as np
from scipy import optimize

from cdl._kernels import lgcd as lgcd_kernels
from cdl.model.objective import _reconstruct as reconstruct
from cdl.model.objective import correlate

# Coordinate descent runs in compiled calls of a few sweeps each, over about
# this many coordinates per call (tens of ms): Ctrl-C is seen between calls.
SWEEP_BUDGET = 2 ** 22


def coordinate_descent(X_n, D, reg, state, tol, max_iter, positive):
    """LGCD in compiled calls of a few sweeps each (interruptible by Ctrl-C).

    The kernel state (activations, beta and the best candidate of every
    segment) persists across calls, so the calls give exactly the updates of
    one long call. About ``SWEEP_BUDGET`` coordinates are swept per call.
    """
    z = state["z"]
    if state.get("lgcd") is None:
        residual = X_n - reconstruct(z[None], D, X_n.shape[0])[0]
        norms = np.diagonal(state["DtD"][:, :, state["DtD"].shape[2] // 2])
        beta = correlate(residual, D) + z * norms[:, None]
        state["lgcd"] = lgcd_kernels.lgcd_init(
            beta, z, state["DtD"], reg, state["seg_len"], positive,
            state["frozen"])
    per_call = max(1, SWEEP_BUDGET // max(z.size, 1))
    n_sweeps = n_updates = 0
    while n_sweeps < max_iter:
        n_s, n_u, max_change = lgcd_kernels.lgcd_run(
            state["lgcd"], tol, min(per_call, max_iter - n_sweeps))
        n_sweeps += n_s
        n_updates += n_u
        if max_change <= tol or n_s == 0:
            break
    lgcd_kernels.lgcd_result(state["lgcd"], z)
    return n_sweeps, n_updates


def _prox(z, threshold, positive, frozen):
    z = lgcd_kernels.soft_threshold(z, threshold, positive)
    if frozen.size:
        z[frozen] = 0.
    return z


def _smooth_grad(X_n, D, z):
    residual = X_n - reconstruct(z[None], D, X_n.shape[0])[0]
    return -correlate(residual, D), residual


def _lipschitz(X_n, D, z_shape, n_power_iter=50):
    """Largest eigenvalue of the convolution operator, by power iteration.

    Computed in float64 whatever the dtype of the problem: in float32 the
    norms of ``A b`` overflow for atoms of norm above ~1e9.
    """
    rng = np.random.RandomState(0)
    b = rng.rand(*z_shape)
    D = D.astype(np.float64)
    lip = 0.
    zeros = np.zeros(X_n.shape)
    for _ in range(n_power_iter):
        b /= np.linalg.norm(b)
        Ab = _smooth_grad(zeros, D, b)[0]
        lip = float(np.linalg.norm(Ab))
        if lip == 0:  # zero dictionary: the smooth part is constant
            return 1.
        b = Ab
    return lip * 1.01


def _fista(X_n, D, reg, state, tol, max_iter, positive):
    z = state["z"]
    if "lipschitz" not in state:
        state["lipschitz"] = _lipschitz(X_n, D, z.shape)
    step = 1. / state["lipschitz"]
    threshold = (reg * step).astype(z.dtype)
    y, z_old, momentum = z.copy(), z.copy(), 1.
    for it in range(max_iter):  # noqa: B007 (the count is returned)
        grad = _smooth_grad(X_n, D, y)[0]
        z_new = _prox(y - step * grad, threshold, positive, state["frozen"])
        diff = np.abs(z_new - z_old).max()
        momentum_new = (1 + np.sqrt(1 + 4 * momentum ** 2)) / 2
        y = z_new + (momentum - 1) / momentum_new * (z_new - z_old)
        if np.sum((z_new - z_old) * (y - z_new)) > 0:  # adaptive restart
            y, momentum_new = z_new.copy(), 1.
        z_old, momentum = z_new, momentum_new
        if diff < tol:
            break
    z[:] = z_old
    return it + 1, 0


def _lbfgs(X_n, D, reg, state, tol, max_iter, positive):
    z = state["z"]
    shape = z.shape
    free = ~state["frozen"] if state["frozen"].size else np.ones(shape, bool)
    reg_full = np.broadcast_to(reg[:, None], shape)

    def fun(x):
        zp = x[:z.size].reshape(shape)
        zz = zp if positive else zp - x[z.size:].reshape(shape)
        grad, residual = _smooth_grad(X_n, D, zz * free)
        grad = grad * free
        value = 0.5 * np.sum(residual ** 2)
        if positive:
            return value + np.sum(reg_full * zp), (grad + reg_full).ravel()
        zm = x[z.size:].reshape(shape)
        value += np.sum(reg_full * (zp + zm))
        return value, np.concatenate([(grad + reg_full).ravel(),
                                      (reg_full - grad).ravel()])

    if positive:
        x0 = z.ravel().astype(np.float64)
    else:
        x0 = np.concatenate([np.maximum(z, 0).ravel(), np.maximum(-z, 0).ravel()])
    result = optimize.minimize(
        fun, x0, jac=True, method="L-BFGS-B", bounds=[(0, None)] * x0.size,
        options=dict(maxiter=max_iter, ftol=0., gtol=tol * 1e-2, maxcor=20))
    x = result.x
    zz = x[:z.size].reshape(shape) if positive else \
        x[:z.size].reshape(shape) - x[z.size:].reshape(shape)
    z[:] = zz * free
    return max(result.nit, 1), 0


FIRST_ORDER = {"fista": _fista, "l-bfgs": _lbfgs}
