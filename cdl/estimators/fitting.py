"""How an estimator's ``fit`` runs: checks, data, initialisation, encoder, loop.

Kept apart from :mod:`cdl.estimators.base` (which holds the parameters and
the fitted views) so that both stay short. ``fit_estimator`` validates the
parameters, prepares ``X`` (in memory, or as a window-by-window source when
``chunk_len`` is set), builds the initial dictionary or reads a checkpoint,
then runs :func:`cdl.learn.learn_dictionary` with the right encoder.
"""
import numpy as np

from cdl.coding.encode import _sparse_encode
from cdl.dictionary import init_dictionary, make_update_d
from cdl.io.channels import channel_types, compensation_grade
from cdl.io.from_mne import mne_to_X
from cdl.io.scaling import (
    apply_type_scalings,
    channel_factors,
    check_same_types,
    compute_type_scalings,
    streaming_type_std,
)
from cdl.io.sources import RawSource, as_source
from cdl.learn import Reviver, apply_window, learn_dictionary
from cdl.learn.checkpoint import (
    check_checkpoint_path,
    check_resumable,
    fingerprint,
    read_checkpoint,
    write_checkpoint,
)
from cdl.learn.revival_params import check_revive_atoms
from cdl.model.objective import compute_ztz
from cdl.model.shapes import to_full_rank
from cdl.utils.log import logger
from cdl.utils.params import jsonable_params
from cdl.utils.validation import check_dtype, check_random_state, check_X

from .checks import validate_params
from .encoders import make_encoder

# With chunk_len, the initial dictionary is drawn from at most this many
# samples (the first ones of each trial): the rest is never loaded at once.
INIT_SAMPLES = 2 ** 17
#: The estimators' ``D_init=None``: 'ssa', chosen with
#: ``benchmarks/bench_inits.py`` (with atom revival: every true atom recovered
#: in all fits of the issue's simulation and of the battery; on the 8 EEGBCI
#: runs no atom with fewer than 5 occurrences, no duplicate, and never a
#: higher objective than without revival; deterministic).
DEFAULT_D_INIT = "ssa"


def prepare(est, X, picks=None, scalings=None):
    """``X`` as a checked array (or a source with ``chunk_len``), its Info and
    the scalings applied to it.

    ``picks`` selects the channels of an MNE Raw or Epochs (as in MNE; by
    default the MEG and EEG data channels). An MNE object's channel types are
    put on a common footing (see :mod:`cdl.io.scaling`): ``scalings='std'``
    computes a factor per type (at fit time), a dict applies given factors
    (a fitted model's ``scalings_``), None leaves the data in its units.
    Arrays are taken as they are (``scalings`` is then None).
    """
    dtype = check_dtype(est.dtype)
    if dtype is None and est.solver_z == "dicod":
        dtype = np.float64
    is_mne = hasattr(X, "info") and hasattr(X, "get_data")
    if getattr(est, "chunk_len", None) is not None:
        source = as_source(X, dtype=dtype, picks=picks)
        info = getattr(source, "info", None)
        if isinstance(source, RawSource) and scalings is not None:
            types = channel_types(info)
            scalings = streaming_type_std(source, types) if scalings == "std" \
                else _checked(scalings, types)
            source.factors = channel_factors(types, scalings)
        return source, info, scalings if isinstance(source, RawSource) else None
    info = None
    if is_mne:
        X, info = mne_to_X(X, picks=picks)
        if scalings is not None:
            types = channel_types(info)
            scalings = compute_type_scalings(X, types, "std") \
                if scalings == "std" else _checked(scalings, types)
            X = apply_type_scalings(X, types, scalings)
    elif picks is not None:
        raise ValueError("picks selects channels of an mne Raw or Epochs; "
                         "index the array instead.")
    return check_X(X, dtype=dtype), info, scalings if is_mne else None


def _checked(scalings, types):
    check_same_types(scalings, types, what="X (an MNE object)", extra_ok=True)
    return scalings


def check_compensation(est, X):
    """Refuse an MNE object at another CTF compensation grade than the fit's."""
    info_fit = getattr(est, "info_", None)
    if info_fit is None or not hasattr(X, "info"):
        return
    fitted, given = compensation_grade(info_fit), compensation_grade(X.info)
    if fitted is not None and given is not None and fitted != given:
        raise ValueError(f"X has CTF compensation grade {given}, the model was "
                         f"fitted at grade {fitted}: call "
                         f"X.apply_gradient_compensation({fitted}) first.")


def _init_signal(X):
    """In-memory signal the initial dictionary is drawn from."""
    if isinstance(X, np.ndarray):
        return X
    n_trials, _, n_times = X.shape
    n_keep = min(n_times, max(INIT_SAMPLES // n_trials, 1))
    return np.stack([X.read(n, 0, n_keep) for n in range(n_trials)])


def fit_estimator(est, X, resume=None, picks=None):
    """Fit ``est`` on ``X`` (the body of ``fit``); returns ``est``."""
    X, info, scalings = prepare(est, X, picks=picks, scalings="std")
    validate_params(est, X)
    fname = resume_path(est, resume)
    meta = run_meta(est, X) if (fname or est.checkpoint) else None
    rng = check_random_state(est.random_state)
    window = est._window()
    n_channels = X.shape[1]
    n_atoms_start = est._n_atoms_at_start()
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
            _init_signal(X), est.n_atoms, est.n_times_atom,
            D_init=DEFAULT_D_INIT if est.D_init is None else est.D_init,
            rank1=est.rank1, uv_constraint=est._uv_constraint(), window=window,
            random_state=rng)[:n_atoms_start]
    encoder = make_encoder(est, X, n_atoms_start)
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
            reviver=make_reviver(est, window), inexact_z=est._inexact_z(),
            **est._learning_schedule(rng))
        z_hat = encoder.get_z_hat()
    set_fitted(est, apply_window(result["D"], window, n_channels), z_hat,
               result, info, X)
    est.scalings_ = scalings
    return est


def make_reviver(est, window):
    """The :class:`cdl.learn.Reviver` of ``est.revive_atoms``, or None."""
    params = check_revive_atoms(est.revive_atoms)
    if params is None:
        return None
    return Reviver(**params, rank1=est.rank1, uv_constraint=est._uv_constraint(),
                   taper=window, positive=est.positive, n_atoms=est.n_atoms)


def set_fitted(est, D, z_hat, result, info, X):
    """Set the fitted attributes of ``est`` from the learning ``result``."""
    n_channels = X.shape[1]
    est.reg_ = result["reg"]
    position = np.arange(D.shape[0])  # of each learned atom in the attributes
    if est.sort_atoms:
        energy = np.diagonal(compute_ztz(z_hat, est.n_times_atom)[
            :, :, est.n_times_atom - 1]) * np.sum(
                to_full_rank(D, n_channels) ** 2, axis=(1, 2))
        order = np.argsort(-energy, kind="stable")
        D, z_hat, est.reg_ = D[order], z_hat[:, order], est.reg_[order]
        position[order] = np.arange(D.shape[0])
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
    # Revival tries name atoms as the fitted attributes do (after sorting).
    est.revived_ = [dict(iteration=int(i), atom=int(position[k]), reason=str(r),
                         accepted=bool(a))
                    for i, k, r, a in result.get("revival_log", [])]
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
