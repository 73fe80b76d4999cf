"""z-step: convolutional sparse coding of signals on a fixed dictionary.

``sparse_encode`` checks its inputs once and hands the work, trial by trial, to
``_encode_trial``. The default solver, LGCD, runs entirely in compiled code
(:mod:`cdl._kernels.lgcd`); ``gcd`` is the same kernel with one segment;
``fista`` and ``l-bfgs`` are first-order baselines working on whole arrays
(:mod:`cdl.coding.solvers`).
"""
import time

import numpy as np
from joblib import Parallel, delayed

from cdl.model.objective import compute_DtD
from cdl.model.shapes import get_n_times_atom
from cdl.utils.interrupt import interrupts_as_keyboard_interrupt
from cdl.utils.log import logger, verbose
from cdl.utils.validation import (
    _as_float_array,
    check_bool,
    check_dictionary,
    check_finite,
    check_int,
    check_n_jobs,
    check_option,
    check_reg,
    check_scalar,
    check_X,
)

from .gap import primal_and_gap
from .solvers import (
    FIRST_ORDER,
    coordinate_descent,
    coordinate_descent_objective,
)

#: The z-step solvers of :func:`sparse_encode`.
SOLVERS = ("lgcd", "gcd", "fista", "l-bfgs")


STOPS = ("tol", "gap")


@verbose
def sparse_encode(X, D, reg, solver="lgcd", z0=None, tol=1e-3, max_iter=1000,
                  positive=True, stop="tol", n_jobs=1, return_info=False,
                  solver_kwargs=None, dtype=None, verbose=None):
    """Compute sparse activations of signals on a fixed dictionary.

    Solves, independently for each trial,
    ``min_z 0.5 ||X - sum_k z_k * D_k||^2 + sum_k reg_k ||z_k||_1``
    (with ``z >= 0`` when ``positive``).

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Signals. A 2-D array (n_channels, n_times) is taken as one trial.
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).
    reg : float | ndarray of shape (n_atoms,)
        Regularisation (absolute, not a fraction of lambda_max), >= 0.
    solver : 'lgcd' | 'gcd' | 'fista' | 'l-bfgs'
        Locally greedy or greedy coordinate descent, accelerated proximal
        gradient, or L-BFGS-B on the smooth reformulation.
    z0 : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Warm start (zeros if None).
    tol : float
        With ``stop='tol'``: coordinate descent stops when no coordinate
        would change by more than ``tol * std(X[n])`` (the scale of the
        trial, as in alphacsc, so that ``tol`` does not depend on the units of
        the data); fista and l-bfgs stop when the largest change of z in an
        iteration is below that value. With
        ``stop='gap'``: stop when the duality gap is below ``tol`` times the
        objective value.
    max_iter : int
        Maximum number of passes over all segments (coordinate descent) or of
        iterations (fista, l-bfgs).
    positive : bool
        Constrain activations to be non-negative (default, as in alphacsc).
    stop : 'tol' | 'gap'
        Stopping rule; 'gap' certifies the solution with the duality gap.
    n_jobs : int
        Number of processes over trials (joblib; 1 runs in this process).
    return_info : bool
        Also return a dict per call with the iterations, time, objective and
        duality gap.
    solver_kwargs : dict | None
        Solver options: ``seg_len`` for 'lgcd' (default ``2 * n_times_atom``),
        ``freeze_support`` (only coordinates non-zero in ``z0`` may change).
    dtype : 'float64' | 'float32' | None
        Computation dtype; None keeps a float input dtype.
    %(verbose)s

    Returns
    -------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations, ``n_times_valid = n_times - n_times_atom + 1``.
    info : dict
        Only if ``return_info``: ``n_iter`` (per trial), ``n_updates``,
        ``time``, ``objective`` and ``duality_gap`` (summed over trials).

    See Also
    --------
    cdl.sparse_encode_chunked : the same z-step window by window, in bounded
        memory, for recordings given as memory maps or lazy MNE Raw.
    """
    X = check_X(X, dtype=dtype)
    D, n_times_atom = check_dictionary(D, n_channels=X.shape[1], dtype=X.dtype)
    check_n_times_atom(n_times_atom, X.shape[2])
    reg = check_reg(reg, D.shape[0])
    check_option("solver", solver, SOLVERS)
    check_option("stop", stop, STOPS)
    tol = check_scalar("tol", tol, min_value=0.)
    max_iter = check_int("max_iter", max_iter, min_value=1)
    n_jobs = check_n_jobs(n_jobs)
    positive = check_bool("positive", positive)
    return_info = check_bool("return_info", return_info)
    solver_kwargs = check_solver_kwargs(solver_kwargs, n_times_atom)
    shape_z = (X.shape[0], D.shape[0], X.shape[2] - n_times_atom + 1)
    if z0 is not None:
        z0 = check_z0(z0, shape_z, X.dtype, positive)
    z, info = _sparse_encode(X, D, reg, solver=solver, z0=z0, tol=tol,
                             max_iter=max_iter, positive=positive, stop=stop,
                             n_jobs=n_jobs, **solver_kwargs)
    return (z, info) if return_info else z


def check_solver_kwargs(solver_kwargs, n_times_atom):
    """Validate the options of the z-solver: ``seg_len``, ``freeze_support``."""
    if solver_kwargs is None:
        return {}
    if not isinstance(solver_kwargs, dict):
        raise TypeError(f"solver_kwargs must be a dict or None, got "
                        f"{type(solver_kwargs).__name__}.")
    solver_kwargs = dict(solver_kwargs)
    unknown = set(solver_kwargs) - {"seg_len", "freeze_support"}
    if unknown:
        raise ValueError(f"Unknown solver_kwargs {sorted(unknown)}; allowed are "
                         f"'seg_len' and 'freeze_support'.")
    if solver_kwargs.get("seg_len") is not None:
        solver_kwargs["seg_len"] = check_int(
            "solver_kwargs['seg_len']", solver_kwargs["seg_len"], min_value=1)
    if "freeze_support" in solver_kwargs:
        solver_kwargs["freeze_support"] = check_bool(
            "solver_kwargs['freeze_support']", solver_kwargs["freeze_support"])
    return solver_kwargs


def check_z0(z0, shape_z, dtype, positive):
    """Validate a warm start of shape ``shape_z`` (a 2-D array is one trial)."""
    z0 = np.array(_as_float_array("z0", z0, dtype))
    if z0.ndim == 2 and shape_z[0] == 1:
        z0 = z0[None]
    if z0.shape != shape_z:
        raise ValueError(f"z0 must have shape {shape_z}, got {z0.shape}.")
    check_finite("z0", z0)
    if positive and np.any(z0 < 0):
        raise ValueError("z0 must be non-negative when positive=True.")
    return z0


def check_n_times_atom(n_times_atom, n_times):
    """Raise a clear error when atoms are longer than the signal."""
    if n_times_atom > n_times:
        raise ValueError(f"n_times_atom ({n_times_atom}) must not exceed the "
                         f"number of time samples of X ({n_times}).")


def _sparse_encode(X, D, reg, solver="lgcd", z0=None, tol=1e-3, max_iter=1000,
                   positive=True, stop="tol", n_jobs=1, seg_len=None,
                   freeze_support=False, DtD=None, scales=None, sq_norms=None,
                   min_decrease=None):
    """Encode checked inputs (no validation); returns ``(z, info)``.

    ``scales``, ``sq_norms``: ``np.std`` and ``sum X ** 2`` of each trial, if
    the caller keeps them (computed here otherwise). ``min_decrease``
    (float64 coordinate descent only; the learning loop's inexact z-steps,
    see :mod:`cdl.learn.precision`): each trial's descent also stops after the
    first block of ``CHECK_EVERY`` sweeps that decreases its objective by less
    than this value.
    """
    n_trials, n_channels, _ = X.shape
    n_times_atom = get_n_times_atom(D, n_channels)
    if DtD is None:
        DtD = compute_DtD(D, n_channels)
    kwargs = dict(solver=solver, tol=tol, max_iter=max_iter, positive=positive,
                  stop=stop, seg_len=seg_len or 2 * n_times_atom,
                  freeze_support=freeze_support, min_decrease=min_decrease)
    z0s = [None] * n_trials if z0 is None else list(z0)
    scales = [None] * n_trials if scales is None else list(scales)
    sq_norms = [None] * n_trials if sq_norms is None else list(sq_norms)
    if n_jobs == 1 or n_trials == 1:
        with interrupts_as_keyboard_interrupt():
            results = [_encode_trial(X[i], D, DtD, reg, z0s[i], scale=scales[i],
                                     sq_norm=sq_norms[i], **kwargs)
                       for i in range(n_trials)]
    else:
        results = Parallel(n_jobs=n_jobs)(
            delayed(_encode_trial)(X[i], D, DtD, reg, z0s[i], scale=scales[i],
                                   sq_norm=sq_norms[i], **kwargs)
            for i in range(n_trials))
    z = np.stack([r[0] for r in results])
    infos = [r[1] for r in results]
    info = dict(solver=solver,
                n_iter=[i["n_iter"] for i in infos],
                n_updates=int(sum(i["n_updates"] for i in infos)),
                time=float(sum(i["time"] for i in infos)),
                objective=float(sum(i["objective"] for i in infos)),
                duality_gap=float(sum(i["duality_gap"] for i in infos)),
                n_stopped_early=int(sum(i["stopped_early"] for i in infos)))
    logger.debug("z-step %s: objective %.6e, gap %.2e, %.3f s", solver,
                 info["objective"], info["duality_gap"], info["time"])
    return z, info


def _encode_trial(X_n, D, DtD, reg, z0, solver, tol, max_iter, positive, stop,
                  seg_len, freeze_support, scale=None, sq_norm=None,
                  min_decrease=None):
    """Solve the problem of one trial; returns ``(z, info)``."""
    t_start = time.perf_counter()
    n_channels, n_times = X_n.shape
    n_times_valid = n_times - get_n_times_atom(D, n_channels) + 1
    z = np.zeros((D.shape[0], n_times_valid), dtype=X_n.dtype)
    if z0 is not None:
        z[:] = z0
    frozen = (z == 0) if freeze_support else np.zeros((0, 0), dtype=np.bool_)
    run = coordinate_descent if solver in ("lgcd", "gcd") else FIRST_ORDER[solver]
    if solver == "gcd":
        seg_len = n_times_valid
    reg_k = reg_as(reg, X_n.dtype, DtD)
    state = dict(z=z, DtD=DtD, frozen=frozen, seg_len=seg_len, XtX=sq_norm,
                 min_decrease=min_decrease)
    # Changes of z are compared with tol times the scale of the signal (as in
    # alphacsc), so that tol means the same for data in volts or in units.
    scale = float(np.std(X_n)) if scale is None else scale
    inner_tol = tol * scale if scale > 0 else tol
    # Below the rounding of the dtype, changes never stop: floor the tolerance.
    inner_tol = max(inner_tol, 100 * np.finfo(X_n.dtype).eps * scale)
    n_iter = n_updates = 0
    while True:
        it, up = run(X_n, D, reg_k, state, inner_tol, max_iter - n_iter, positive)
        n_iter += it
        n_updates += up
        if run is coordinate_descent and X_n.dtype == np.float64:
            objective, gap = coordinate_descent_objective(X_n, reg_k, state,
                                                          positive)
        else:
            objective, gap = primal_and_gap(X_n, state["z"], D, reg_k, positive)
        if stop == "tol" or state.get("stopped_early") \
                or gap <= tol * max(objective, np.finfo(float).tiny) \
                or n_iter >= max_iter or inner_tol < 1e-14 * max(scale, 1e-300):
            break
        inner_tol /= 10.
    return state["z"], dict(n_iter=n_iter, n_updates=n_updates, objective=objective,
                            duality_gap=gap, time=time.perf_counter() - t_start,
                            stopped_early=bool(state.get("stopped_early")))


def reg_as(reg, dtype, DtD=None):
    """``reg`` in the computation dtype, capped where it cannot matter.

    A reg that large gives ``z_k = 0`` anyway (``|beta_k|`` is bounded by
    ``||residual|| ||D_k||``, far below the cap for signals that pass
    :func:`cdl.utils.validation.check_magnitude`), so capping changes no result.
    It keeps a huge float64 reg from becoming inf in float32 (0 * inf = NaN
    in the objective) and ``reg_k / ||D_k||^2``, which the LGCD kernel
    computes, from overflowing.
    """
    cap = np.full(len(reg), np.finfo(dtype).max / 4)
    if DtD is not None:
        norms = np.diagonal(DtD[:, :, DtD.shape[2] // 2]).astype(np.float64)
        cap = np.where(norms > 0, cap * np.minimum(norms, 1.), cap)
    return np.minimum(reg, cap).astype(dtype)
