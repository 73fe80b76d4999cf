"""How an estimator's ``fit`` runs: checks, data, initialisation, encoder, loop.

Kept apart from :mod:`cdl.estimators` (which holds the parameters and the
fitted views) so that both stay short. ``fit_estimator`` validates the
parameters, prepares ``X`` (in memory, or as a window-by-window source when
``chunk_len`` is set), builds the initial dictionary or reads a checkpoint,
then runs :func:`cdl.learn.learn_dictionary` with the right encoder.
"""
import os

import numpy as np

from ._logging import logger
from ._validation import (
    check_bool,
    check_dtype,
    check_int,
    check_n_jobs,
    check_option,
    check_random_state,
    check_scalar,
    check_X,
)
from .checkpoint import (
    check_checkpoint_path,
    check_resumable,
    fingerprint,
    jsonable_params,
    read_checkpoint,
    write_checkpoint,
)
from .coding import SOLVERS, _sparse_encode, check_n_times_atom
from .dictionary import update_D, update_uv
from .encoder import LocalEncoder
from .init_dict import init_dictionary
from .learn import LMBD_MAX, apply_window, learn_dictionary
from .objective import compute_ztz, to_full_rank

# 'dicod' distributes the z-step over the workers of the ``dicod`` package.
SOLVERS_Z = SOLVERS + ("dicod",)
SOLVERS_D = ("auto", "alternate", "alternate_adaptive", "joint", "fista")
UV_CONSTRAINTS = ("auto", "separate", "joint")
# With chunk_len, the initial dictionary is drawn from at most this many
# samples (the first ones of each trial): the rest is never loaded at once.
INIT_SAMPLES = 2 ** 17


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


SOLVER_Z_KWARGS = ("tol", "max_iter", "seg_len")
DICOD_Z_KWARGS = ("tol", "max_iter", "strategy", "soft_lock", "timeout")
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
    from dicod._launch import BACKENDS
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
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise ValueError(f"{name} has unknown keys {unknown}; allowed keys "
                             f"are {list(allowed)}.")
        if "tol" in value:
            check_scalar(f"{name}['tol']", value["tol"], min_value=0.)
        if "max_iter" in value:
            check_int(f"{name}['max_iter']", value["max_iter"], min_value=1)
        if value.get("seg_len") is not None:
            check_int(f"{name}['seg_len']", value["seg_len"], min_value=1)
        if value.get("timeout") is not None:
            check_scalar(f"{name}['timeout']", value["timeout"], min_value=0.)


def prepare(est, X, picks=None):
    """``X`` as a checked array (or a source with ``chunk_len``) and its Info.

    ``picks`` selects the channels of an MNE Raw or Epochs (as in MNE).
    """
    dtype = check_dtype(est.dtype)
    if dtype is None and est.solver_z == "dicod":
        dtype = np.float64
    if getattr(est, "chunk_len", None) is not None:
        from ._sources import as_source
        source = as_source(X, dtype=dtype)
        return source, getattr(source, "info", None)
    info = None
    if hasattr(X, "info") and hasattr(X, "get_data"):
        from .io import mne_to_X  # mne is imported only for MNE objects
        X, info = mne_to_X(X, picks=picks)
    elif picks is not None:
        raise ValueError("picks selects channels of an mne Raw or Epochs; "
                         "index the array instead.")
    return check_X(X, dtype=dtype), info


def make_update_d(n_channels, rank1, uv_constraint="separate",
                  solver_d_kwargs=None, window=None):
    """The d-step ``update_d(D, ztz, ztX) -> D`` of :mod:`cdl.dictionary`."""
    kwargs = dict(solver_d_kwargs or {})
    if rank1:
        return lambda D, ztz, ztX: update_uv(D, ztz, ztX, n_channels,
                                             uv_constraint=uv_constraint,
                                             window=window, **kwargs)
    return lambda D, ztz, ztX: update_D(D, ztz, ztX, window=window, **kwargs)


def _init_signal(X):
    """In-memory signal the initial dictionary is drawn from."""
    if isinstance(X, np.ndarray):
        return X
    n_trials, _, n_times = X.shape
    n_keep = min(n_times, max(INIT_SAMPLES // n_trials, 1))
    return np.stack([X.read(n, 0, n_keep) for n in range(n_trials)])


def n_workers_of(est, n_times):
    """Workers of ``solver_z='dicod'``: ``n_workers``, or by default the ranks
    of an ``mpirun`` job but the root, else one per core (at most one per two
    atom lengths of signal)."""
    if est.n_workers is not None:
        return est.n_workers
    from dicod import world_size
    if world_size() > 1 and est.backend in ("auto", "mpirun"):
        return world_size() - 1
    n_valid = n_times - est.n_times_atom + 1
    return max(1, min(os.cpu_count() or 1, n_valid // (2 * est.n_times_atom)))


def dicod_kwargs(est):
    """Arguments of the DICOD workers of ``est`` (``solver_z='dicod'``)."""
    return dict(backend=est.backend, hostfile=getattr(est, "hostfile", None),
                worker_timeout=getattr(est, "worker_timeout", 60.))


def _make_encoder(est, X, n_atoms):
    if est.solver_z == "dicod":
        from dicod import DistributedEncoder
        return DistributedEncoder(
            X, n_atoms, est.n_times_atom, n_workers=n_workers_of(est, X.shape[2]),
            solver_kwargs=est._solver_z_kwargs(), positive=est.positive,
            random_state=est.random_state, **dicod_kwargs(est))
    if est.chunk_len is None:
        return LocalEncoder(X, n_atoms, est.n_times_atom, solver=est.solver_z,
                            solver_kwargs=est._solver_z_kwargs(),
                            positive=est.positive, n_jobs=est.n_jobs)
    from ._chunked_encoder import ChunkedEncoder
    return ChunkedEncoder(X, n_atoms, est.n_times_atom,
                          solver_kwargs=est._solver_z_kwargs(),
                          positive=est.positive, chunk_len=est.chunk_len)


def fit_estimator(est, X, resume=None, picks=None):
    """Fit ``est`` on ``X`` (the body of ``fit``); returns ``est``."""
    X, info = prepare(est, X, picks=picks)
    validate_params(est, X)
    fname = resume_path(est, resume)
    meta = run_meta(est, X) if (fname or est.checkpoint) else None
    rng = check_random_state(est.random_state)
    window = est._window()
    n_channels = X.shape[1]
    n_atoms_start = 1 if type(est).__name__ == "GreedyCDL" else est.n_atoms
    state = None
    if fname is not None:
        state, saved_meta = read_checkpoint(fname)
        check_resumable(saved_meta, meta, fname)
        if est.random_state is None:  # never set the global generator
            rng = np.random.RandomState()
        D_init = state["D"]
        logger.info("Resuming from %s after %d iteration(s)", fname,
                    state["n_iter"])
    else:
        D_init = init_dictionary(
            _init_signal(X), est.n_atoms, est.n_times_atom, D_init=est.D_init,
            rank1=est.rank1, uv_constraint=est._uv_constraint(), window=window,
            random_state=rng)[:n_atoms_start]
    encoder = _make_encoder(est, X, n_atoms_start)
    logger.info("Fitting %s with %d atoms of %d samples on X of shape %s",
                type(est).__name__, est.n_atoms, est.n_times_atom, X.shape)
    with encoder:
        result = learn_dictionary(
            encoder, D_init, est.reg,
            make_update_d(n_channels, est.rank1, est._uv_constraint(),
                          est.solver_d_kwargs, window),
            n_iter=est.n_iter, lmbd_max=est.lmbd_max, eps=est.eps,
            window=window, callback=est.callback, random_state=rng,
            checkpoint=checkpoint_writer(est, meta),
            checkpoint_every=est.checkpoint_every, state=state,
            **est._learning_schedule(rng))
        z_hat = encoder.get_z_hat()
    set_fitted(est, apply_window(result["D"], window, n_channels), z_hat,
               result, info, X)
    return est


def set_fitted(est, D, z_hat, result, info, X):
    """Set the fitted attributes of ``est`` from the learning ``result``."""
    n_channels = X.shape[1]
    est.reg_ = result["reg"]
    if est.sort_atoms:
        energy = np.diagonal(compute_ztz(z_hat, est.n_times_atom)[
            :, :, est.n_times_atom - 1]) * np.sum(
                to_full_rank(D, n_channels) ** 2, axis=(1, 2))
        order = np.argsort(-energy, kind="stable")
        D, z_hat, est.reg_ = D[order], z_hat[:, order], est.reg_[order]
    est.n_channels_ = n_channels
    if est.rank1:
        est.uv_hat_ = D
    est.D_hat_ = to_full_rank(D, n_channels)
    est.interrupted_ = bool(result["interrupted"])
    if est.unbiased_z_hat and not est.interrupted_:
        z_hat = unbiased_z(est, X, D, z_hat)
    est.z_hat_ = z_hat
    est.pobj_ = result["pobj"]
    est.times_ = result["times"]
    est.n_iter_ = result["n_iter"]
    est.info_ = info


def unbiased_z(est, X, D, z):
    """Refit the activations ``z`` without penalty on their support (LGCD)."""
    kwargs = est._solver_z_kwargs()
    z, _ = _sparse_encode(X, D, np.zeros(D.shape[0]), solver="lgcd", z0=z,
                          positive=est.positive, n_jobs=est.n_jobs,
                          freeze_support=True, tol=kwargs["tol"],
                          max_iter=kwargs["max_iter"])
    return z


def resume_path(est, resume):
    """The checkpoint to resume from, or None (see ``fit``)."""
    if resume is None or resume is False:
        return None
    if resume is True:
        if est.checkpoint is None:
            raise ValueError("resume=True needs the checkpoint parameter.")
        path = check_checkpoint_path(est.checkpoint)
        return path if path.exists() else None
    path = check_checkpoint_path(resume, name="resume")
    if not path.exists():
        raise FileNotFoundError(f"resume={str(resume)!r}: no such checkpoint.")
    return path


def run_meta(est, X):
    """What a checkpoint records to refuse resuming another problem."""
    return dict(estimator=type(est).__name__,
                params=jsonable_params(est.get_params()), X=fingerprint(X))


def checkpoint_writer(est, meta):
    """``write(state)`` for the learning loop, or None without checkpoint."""
    if est.checkpoint is None:
        return None
    fname = check_checkpoint_path(est.checkpoint)

    def write(state):
        write_checkpoint(fname, state, meta)
        logger.info("Checkpoint written to %s (%d iterations)", fname,
                    state["n_iter"])
    return write
