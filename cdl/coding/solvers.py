"""The z-step solvers of one trial: LGCD (compiled), FISTA and L-BFGS."""
import numpy as np
from scipy import optimize

from cdl._kernels import lgcd as lgcd_kernels
from cdl.model.objective import _reconstruct as reconstruct
from cdl.model.objective import correlate

# Coordinate descent runs in compiled calls of a few sweeps each, reading or
# writing about this many coordinates per call (a converged segment counts 1,
# an update its window; tens of ms): Ctrl-C is seen between calls.
SWEEP_BUDGET = 2 ** 22


#: With ``min_decrease`` (inexact z-steps of the learning loop), the objective
#: is checked after every block of this many sweeps.
CHECK_EVERY = 10


def coordinate_descent(X_n, D, reg, state, tol, max_iter, positive):
    """LGCD in compiled calls of a few sweeps each (interruptible by Ctrl-C).

    The kernel state (activations, beta and the best candidate of every
    segment) persists across calls, so the calls give exactly the updates of
    one long call. Each call reads or writes about ``SWEEP_BUDGET``
    coordinates (whole sweeps: at least one).

    With ``state['min_decrease']`` (a float, float64 problems only), the
    descent also stops after the first block of ``CHECK_EVERY`` sweeps that
    decreases the objective by less than that value
    (:func:`coordinate_descent_objective` after each block: one compiled pass
    over the state); ``state['stopped_early']`` says whether it did.
    """
    z = state["z"]
    if state.get("lgcd") is None:
        # One pass over the signal (its correlation with the atoms); the
        # kernel takes out the contributions of the warm start's non-zeros.
        state["DtX"] = correlate(X_n, D)
        state["lgcd"] = lgcd_kernels.lgcd_init(
            state["DtX"], z, state["DtD"], reg, state["seg_len"], positive,
            state["frozen"], from_signal=True)
    min_decrease = state.get("min_decrease")
    if X_n.dtype != np.float64:
        min_decrease = None  # the float32 objective is too coarse to compare
    block = max_iter if min_decrease is None else CHECK_EVERY
    previous = None if min_decrease is None else \
        coordinate_descent_objective(X_n, reg, state, positive)[0]
    state["stopped_early"] = False
    n_sweeps = n_updates = 0
    while n_sweeps < max_iter:
        n_s, n_u, max_change = lgcd_kernels.lgcd_run(
            state["lgcd"], tol, min(block - n_sweeps % block, max_iter - n_sweeps),
            SWEEP_BUDGET)
        n_sweeps += n_s
        n_updates += n_u
        if max_change <= tol or n_s == 0:
            break
        if min_decrease is not None and n_sweeps % block == 0:
            current = coordinate_descent_objective(X_n, reg, state, positive)[0]
            if previous - current < min_decrease:
                state["stopped_early"] = True
                break
            previous = current
    lgcd_kernels.lgcd_result(state["lgcd"], z)
    return n_sweeps, n_updates


def coordinate_descent_objective(X_n, reg, state, positive):
    """Objective and duality gap of a coordinate descent state, without a pass
    over the signal (the same values as :func:`cdl.coding.primal_and_gap`).

    With ``c = D corr X`` (kept from the start of the solve) and ``r = D corr
    residual = ||D_k||^2 (g - z) + reg_k`` (``g`` kept current by the kernel):
    ``||residual||^2 = ||X||^2 - <z, c> - <z, r>`` and ``<residual, X> =
    ||X||^2 - <z, c>``; the dual point is the residual scaled so that
    ``max r <= reg``. One compiled pass over the state
    (:func:`cdl._kernels.lgcd.lgcd_sums`). Float64 states only (the rounding
    of a float32 ``g`` is too coarse for the objective).
    """
    DtD = state["DtD"]
    norms = np.diagonal(DtD[:, :, DtD.shape[2] // 2]).astype(np.float64)
    reg = np.asarray(reg, dtype=np.float64)
    if state.get("XtX") is None:
        state["XtX"] = float(np.sum(X_n * X_n))
    XtX = state["XtX"]
    sums = np.empty((5, DtD.shape[0]))
    z_c = lgcd_kernels.lgcd_sums(state["lgcd"], state["DtX"], sums)
    gz_max, gz_min, l1, z_sum, z_gz = sums
    sq_residual = max(XtX - z_c - float(np.sum(norms * z_gz + reg * z_sum)), 0.)
    objective = 0.5 * sq_residual + float(np.sum(reg * l1))
    corr_max = norms * gz_max + reg
    if not positive:
        corr_max = np.maximum(corr_max, -(norms * gz_min + reg))
    corr_max[norms <= 0] = 0.  # a zero atom correlates with nothing
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(corr_max > 0, reg / corr_max, np.inf)
    scale = min(1., float(ratios.min()))
    dual = scale * (XtX - z_c) - 0.5 * scale * scale * sq_residual
    return objective, max(objective - dual, 0.)


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
