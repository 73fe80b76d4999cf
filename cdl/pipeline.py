"""From a recording file to a fitted model, activations and DriPP, as functions.

These are the steps behind the ``cdl fit``, ``cdl encode``, ``cdl report`` and
``cdl dripp`` commands, usable from Python too. A model fitted here keeps, in
its file's metadata, the recording it came from and how that recording was
preprocessed, so that a new recording can be encoded the same way.
"""
from pathlib import Path

import numpy as np

from ._logging import logger
from ._pipeline_dripp import driver_names_of, run_dripp

__all__ = ["LOAD_DEFAULTS", "activations_of", "backend_kwargs", "data_summary",
           "driver_names_of", "fit_recording", "load_for_cdl", "load_like_model",
           "load_model", "model_metadata", "n_times_atom_of", "run_dripp",
           "save_fitted", "write_outputs"]

#: How ``cdl fit`` reads a recording unless told otherwise.
LOAD_DEFAULTS = dict(picks="data", notch=None, l_freq=1., h_freq=None,
                     sfreq=None, montage="auto")


def load_for_cdl(path, scale=None, **load_options):
    """Read and preprocess a recording for CDL.

    Parameters
    ----------
    path : path-like
        Any file :func:`data_fetchers.load_recording` reads.
    scale : float | None
        Divide the signal by this number; None divides it by its standard
        deviation (and records the factor).
    **load_options
        ``picks, notch, l_freq, h_freq, sfreq, montage`` (defaults in
        :data:`LOAD_DEFAULTS`).

    Returns
    -------
    recording : data_fetchers.Recording
        ``preprocessing['scale']`` holds the factor the signal was divided by.
    """
    from data_fetchers import load_recording

    options = {**LOAD_DEFAULTS, **load_options}
    unknown = sorted(set(options) - set(LOAD_DEFAULTS))
    if unknown:
        raise TypeError(f"Unknown option(s) {unknown}; the options are "
                        f"{sorted(LOAD_DEFAULTS)}.")
    picks = options.pop("picks")
    recording = load_recording(path, picks=picks, scaling=None, **options)
    std = float(recording.X.std())
    if scale is None:
        if std == 0:
            raise ValueError(f"{path} is flat: every picked channel is constant.")
        scale = std
    recording.X /= scale
    recording.preprocessing.update(scaling="global", scale=float(scale))
    return recording


def n_times_atom_of(atom_duration, recording):
    """Atom length in samples, checked against the length of the trials.

    Parameters
    ----------
    atom_duration : float
        Atom length in seconds.
    recording : data_fetchers.Recording
        Gives the sampling rate and the trial length.

    Returns
    -------
    n_times_atom : int
        At least 2 samples.
    """
    if not atom_duration > 0:
        raise ValueError(f"atom duration must be > 0 s, got {atom_duration}.")
    n_times_atom = max(2, round(atom_duration * recording.sfreq))
    n_times = recording.X.shape[2]
    if n_times_atom > n_times:
        raise ValueError(
            f"atom duration {atom_duration:g} s ({n_times_atom} samples) is "
            f"longer than the recording ({n_times / recording.sfreq:g} s, "
            f"{n_times} samples per trial).")
    return n_times_atom


def backend_kwargs(backend=None, n_workers=None):
    """Estimator parameters of a z-step backend.

    Parameters
    ----------
    backend : 'local' | 'mpi' | None
        In-process z-step, or DICOD over MPI workers: spawned, or the ranks
        of the ``mpirun`` job this process belongs to (see
        :func:`dicod.run_mpi`). None: 'mpi' when ``n_workers`` is given or
        under ``mpirun``, else 'local'.
    n_workers : int | None
        Workers of the 'mpi' backend; None: the other ranks under
        ``mpirun``, else one per CPU core.

    Returns
    -------
    kwargs : dict
        Empty for 'local'; ``solver_z='dicod', n_workers=...`` for 'mpi'.
    """
    from dicod import world_size

    from ._validation import check_int, check_option

    size = world_size()
    if backend is None:
        backend = "mpi" if n_workers is not None or size > 1 else "local"
    check_option("backend", backend, ("local", "mpi"))
    if n_workers is not None:
        check_int("n_workers", n_workers, min_value=1)
    if backend == "local":
        if n_workers is not None:
            raise ValueError("n_workers (--n-workers) sets the workers of the "
                             "'mpi' backend; it does not combine with 'local'.")
        if size > 1:
            raise ValueError(f"this process is one of {size} of an mpirun job: "
                             f"use the 'mpi' backend (--backend mpi), or run "
                             f"without mpirun.")
        return {}
    if size > 1 and n_workers is not None and n_workers != size - 1:
        raise ValueError(f"under mpirun -n {size} the workers are the {size - 1} "
                         f"ranks other than the root: leave n_workers "
                         f"(--n-workers) out or set it to {size - 1}, got "
                         f"{n_workers}.")
    return dict(solver_z="dicod", n_workers=n_workers)


def fit_recording(recording, n_atoms=8, atom_duration=0.5, reg=0.2, n_iter=30,
                  random_state=0, backend=None, n_workers=None, verbose=True):
    """Fit a BatchCDL on a preprocessed recording.

    Parameters
    ----------
    recording : data_fetchers.Recording
        From :func:`load_for_cdl`.
    n_atoms : int
        Number of atoms.
    atom_duration : float
        Atom length in seconds.
    reg : float
        Regularisation as a fraction of lambda_max.
    n_iter : int
        Maximum number of iterations.
    random_state : int | None
        Seed of the initialisation.
    backend : 'local' | 'mpi' | None
        z-step in this process, or distributed with DICOD (see
        :func:`backend_kwargs`).
    n_workers : int | None
        Workers of the 'mpi' backend.
    verbose : bool
        Progress bar.

    Returns
    -------
    model : BatchCDL
        Fitted, atoms sorted by energy, ``info_`` set to the recording's.
    """
    from .estimators import BatchCDL

    n_times_atom = n_times_atom_of(atom_duration, recording)
    model = BatchCDL(n_atoms=n_atoms, n_times_atom=n_times_atom, reg=reg,
                     n_iter=n_iter, D_init="chunk", sort_atoms=True,
                     random_state=random_state, verbose=verbose,
                     **backend_kwargs(backend, n_workers))
    model.fit(recording.X)
    model.info_ = recording.info
    return model


def model_metadata(recording, load_options, **extra):
    """What a model file keeps about its recording (JSON-friendly).

    Parameters
    ----------
    recording : data_fetchers.Recording
        From :func:`load_for_cdl`.
    load_options : dict
        The options given to :func:`load_for_cdl`.
    **extra
        More entries (e.g. ``atom_duration``).

    Returns
    -------
    metadata : dict
        ``recording`` (file), ``load_options``, ``scale``, ``sfreq``,
        ``n_trials``, ``n_times``, ``trial_starts``, ``first_samp`` and
        ``extra``.
    """
    prep = recording.preprocessing
    sources = prep.get("source") or [""]
    return dict(recording=str(sources[0]),
                load_options={**LOAD_DEFAULTS, **load_options},
                scale=prep["scale"], sfreq=recording.sfreq,
                n_trials=int(recording.X.shape[0]),
                n_times=int(recording.X.shape[2]),
                trial_starts=[int(s) for s in recording.trial_starts],
                first_samp=int(recording.first_samp), **extra)


def save_fitted(model, fname, metadata):
    """Save a fitted estimator and its metadata, replacing ``fname``.

    Parameters
    ----------
    model : fitted CDL estimator
    fname : path-like
        ``.npz`` file.
    metadata : dict
        From :func:`model_metadata`.

    Returns
    -------
    fname : Path
    """
    model.save(fname, overwrite=True, metadata=metadata)
    return Path(fname)


def load_model(fname):
    """Read a model file and its metadata.

    Parameters
    ----------
    fname : path-like
        ``.npz`` model file.

    Returns
    -------
    model : BatchCDL | OnlineCDL | GreedyCDL
    metadata : dict
    """
    from .estimators import read_model
    from .io import read_model_metadata

    return read_model(fname), read_model_metadata(fname)


def load_like_model(model, metadata, path):
    """Read a recording with the preprocessing and channels of a model.

    Parameters
    ----------
    model : fitted CDL estimator
        Gives the channels (``info_``) and the atom length.
    metadata : dict
        The model file's metadata (preprocessing and scale).
    path : path-like
        Recording file.

    Returns
    -------
    recording : data_fetchers.Recording
        ``X`` holds the model's channels, in its order.
    """
    import mne

    options = metadata.get("load_options", {})
    recording = load_for_cdl(path, scale=metadata.get("scale"), **options)
    info = model.info_
    if info is None:
        if recording.X.shape[1] != model.n_channels_:
            raise ValueError(f"{path} has {recording.X.shape[1]} channels after "
                             f"preprocessing, the model {model.n_channels_}.")
        return recording
    names = list(info["ch_names"])
    missing = [n for n in names if n not in recording.info["ch_names"]]
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} channel(s) of the model: "
                         f"{missing[:5]}{' ...' if len(missing) > 5 else ''}.")
    idx = [recording.info["ch_names"].index(n) for n in names]
    recording.X = np.ascontiguousarray(recording.X[:, idx])
    recording.info = mne.pick_info(recording.info, idx)
    if abs(recording.sfreq - info["sfreq"]) > 1e-6 * info["sfreq"]:
        raise ValueError(f"{path} is sampled at {recording.sfreq:g} Hz after "
                         f"preprocessing, the model at {info['sfreq']:g} Hz; "
                         f"the atoms would not match.")
    n_times_atom_of(model.n_times_atom / info["sfreq"], recording)
    return recording


def activations_of(model, metadata, recording):
    """Activations of a recording: ``z_hat_`` if it is the fitted one, else encode.

    Parameters
    ----------
    model : fitted CDL estimator
    metadata : dict
        The model file's metadata (gives the fitted recording's file).
    recording : data_fetchers.Recording
        From :func:`load_like_model`.

    Returns
    -------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
    encoded : bool
        True when the recording was encoded now.
    """
    source = recording.preprocessing.get("source") or [None]
    n_trials, _, n_times = recording.X.shape
    same = (Path(str(source[0])).resolve() == Path(metadata.get("recording", ""))
            .resolve() if source[0] and metadata.get("recording") else False)
    expected = (n_trials, model.z_hat_.shape[1], n_times - model.n_times_atom + 1)
    if same and model.z_hat_.shape == expected:
        return model.z_hat_, False
    logger.info("Encoding %s with the model's atoms", source[0])
    return model.transform(recording.X), True


def write_outputs(out_dir, model, recording, z):
    """Write the activations as annotations and events files.

    Parameters
    ----------
    out_dir : path-like
        Existing folder.
    model : fitted CDL estimator
    recording : data_fetchers.Recording
        Gives the trial layout, ``first_samp`` and the measurement date.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of ``recording``.

    Returns
    -------
    fnames : dict of str to Path
        See :func:`cdl.io.write_activations`.
    """
    from .io import model_to_annotations, model_to_events, write_activations

    kwargs = dict(first_samp=recording.first_samp,
                  trial_starts=recording.trial_starts)
    annotations = model_to_annotations(model, z=z, sfreq=recording.sfreq,
                                       orig_time=recording.info["meas_date"],
                                       **kwargs)
    events, _ = model_to_events(model, z=z, **kwargs)
    return write_activations(Path(out_dir) / "activations", annotations, events,
                             overwrite=True)


def data_summary(recording, path=None):
    """Table entries describing a preprocessed recording.

    Parameters
    ----------
    recording : data_fetchers.Recording
    path : path-like | None
        Its file.

    Returns
    -------
    summary : dict
        File, channels, trials, seconds per trial, sampling rate, counts of
        the annotation types.
    """
    n_trials, n_channels, n_times = recording.X.shape
    return dict(file=str(path) if path else "-", channels=n_channels,
                trials=n_trials, seconds_per_trial=round(n_times / recording.sfreq, 3),
                sfreq=recording.sfreq,
                annotations=_annotation_counts(recording.annotations) or "none")


def _annotation_counts(annotations):
    names, counts = np.unique([str(d) for d in annotations.description],
                              return_counts=True)
    return ", ".join(f"{n} ({c})" for n, c in zip(names, counts))
