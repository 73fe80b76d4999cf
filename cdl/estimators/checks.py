"""Checks of the estimators' parameters (run in ``fit``)."""
import numpy as np

from cdl.coding import SOLVERS
from cdl.coding.encode import check_n_times_atom
from cdl.learn import LMBD_MAX
from cdl.learn.checkpoint import check_checkpoint_path
from cdl.learn.revival_params import check_revive_atoms
from cdl.utils.validation import (
    check_bool,
    check_dtype,
    check_int,
    check_keys,
    check_n_jobs,
    check_option,
    check_scalar,
)

from .encoders import BACKENDS

# 'dicod' distributes the z-step over the workers of the ``dicod`` package.
SOLVERS_Z = SOLVERS + ("dicod",)
SOLVERS_D = ("auto", "alternate", "alternate_adaptive", "joint", "fista")
UV_CONSTRAINTS = ("auto", "separate", "joint")


def validate_params(est, X):
    """Check the parameters of ``est`` against the shape of ``X``."""
    check_int("n_atoms", est.n_atoms, min_value=1)
    check_int("n_times_atom", est.n_times_atom, min_value=1)
    check_n_times_atom(est.n_times_atom, X.shape[2])
    check_scalar("reg", est.reg, min_value=0.)
    check_int("n_iter", est.n_iter, min_value=1)
    check_n_jobs(est.n_jobs)
    for name in ("rank1", "window", "positive", "unbiased_z_hat", "sort_atoms"):
        check_bool(name, getattr(est, name))
    if est.callback is not None and not callable(est.callback):
        raise TypeError(f"callback must be callable or None, got "
                        f"{type(est.callback).__name__}.")
    check_solver_kwargs(est)
    if est.checkpoint is not None:
        check_checkpoint_path(est.checkpoint)
    check_int("checkpoint_every", est.checkpoint_every, min_value=1)
    check_option("solver_z", est.solver_z, SOLVERS_Z)
    check_distributed_params(est)
    check_option("solver_d", est.solver_d, SOLVERS_D)
    check_option("uv_constraint", est.uv_constraint, UV_CONSTRAINTS)
    check_option("lmbd_max", est.lmbd_max, LMBD_MAX)
    check_scalar("eps", est.eps, min_value=0.)
    check_revive_atoms(est.revive_atoms)
    if not est.rank1 and est.solver_d in ("alternate", "alternate_adaptive",
                                          "joint"):
        raise ValueError(f"solver_d={est.solver_d!r} needs rank1=True; use "
                         f"'fista' or 'auto' for full-rank atoms.")
    if est.rank1 and est.solver_d == "fista":
        raise ValueError("solver_d='fista' is for full-rank atoms (rank1=False).")
    if est.chunk_len is not None:
        check_int("chunk_len", est.chunk_len, min_value=1)
        if est.solver_z != "lgcd" or est.unbiased_z_hat:
            raise ValueError(f"chunk_len (window-by-window encoding) works with "
                             f"solver_z='lgcd' and unbiased_z_hat=False, got "
                             f"solver_z={est.solver_z!r}, unbiased_z_hat="
                             f"{est.unbiased_z_hat!r}.")


SOLVER_Z_KWARGS = ("tol", "max_iter", "seg_len", "inexact")
DICOD_Z_KWARGS = ("tol", "max_iter", "strategy", "soft_lock", "timeout",
                  "inexact")
SOLVER_D_KWARGS = ("tol", "max_iter")


def check_distributed_params(est):
    """Check ``n_workers`` and ``backend``, which only ``solver_z='dicod'`` uses."""
    if est.solver_z != "dicod":
        for name, default in (("n_workers", None), ("backend", "auto")):
            if getattr(est, name) != default:
                raise ValueError(f"{name} sets up the workers of solver_z='dicod'; "
                                 f"with solver_z={est.solver_z!r} leave it at "
                                 f"{default!r} (got {getattr(est, name)!r}).")
        return
    if est.n_workers is not None:
        check_int("n_workers", est.n_workers, min_value=1)
    check_option("backend", est.backend, BACKENDS)
    if est.chunk_len is not None:
        raise ValueError("chunk_len (window-by-window encoding) and "
                         "solver_z='dicod' (the signal split across workers) "
                         "do not combine; set chunk_len=None.")
    if check_dtype(est.dtype) == np.float32:
        raise ValueError("solver_z='dicod' computes in float64; use "
                         "dtype='float64' or None.")


def check_solver_kwargs(est):
    """Check the keys and values of ``solver_z_kwargs`` and ``solver_d_kwargs``."""
    z_kwargs = DICOD_Z_KWARGS if est.solver_z == "dicod" else SOLVER_Z_KWARGS
    for name, allowed in (("solver_z_kwargs", z_kwargs),
                          ("solver_d_kwargs", SOLVER_D_KWARGS)):
        value = getattr(est, name)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict or None, got "
                            f"{type(value).__name__}.")
        check_keys(name, value, allowed)
        if "tol" in value:
            check_scalar(f"{name}['tol']", value["tol"], min_value=0.)
        if "max_iter" in value:
            check_int(f"{name}['max_iter']", value["max_iter"], min_value=1)
        if value.get("seg_len") is not None:
            check_int(f"{name}['seg_len']", value["seg_len"], min_value=1)
        if "inexact" in value:
            check_bool(f"{name}['inexact']", value["inexact"])
        if value.get("timeout") is not None:
            check_scalar(f"{name}['timeout']", value["timeout"], min_value=0.)
