"""From a recording file to a fitted model, activations and DriPP, as functions.

These are the steps behind the ``cdl fit``, ``cdl encode``, ``cdl report`` and
``cdl dripp`` commands, usable from Python too. A model fitted here keeps, in
its file's metadata, the recording it came from and how that recording was
preprocessed, so that a new recording can be encoded the same way.
"""
import inspect
from pathlib import Path

import numpy as np

from ._logging import logger

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
    """Atom length in samples, checked against the length of the trials."""
    if not atom_duration > 0:
        raise ValueError(f"atom duration must be > 0 s, got {atom_duration}.")
    n_times_atom = max(2, int(round(atom_duration * recording.sfreq)))
    n_times = recording.X.shape[2]
    if n_times_atom > n_times:
        raise ValueError(
            f"atom duration {atom_duration:g} s ({n_times_atom} samples) is "
            f"longer than the recording ({n_times / recording.sfreq:g} s, "
            f"{n_times} samples per trial).")
    return n_times_atom


def backend_kwargs(backend, n_workers=None):
    """Estimator parameters of a z-step backend ('local' or 'mpi')."""
    from .coding import SOLVERS
    from .estimators import BatchCDL

    if backend == "local":
        return {}
    if backend != "mpi":
        raise ValueError(f"backend must be 'local' or 'mpi', got {backend!r}.")
    params = inspect.signature(BatchCDL.__init__).parameters
    if "dicod" not in SOLVERS or "n_workers" not in params:
        raise ValueError("dicod backend not available: this cdl-meeg has no "
                         "distributed z-step yet; use --backend local.")
    return dict(solver_z="dicod", n_workers=n_workers)


def fit_recording(recording, n_atoms=8, atom_duration=0.5, reg=0.2, n_iter=30,
                  random_state=0, backend="local", n_workers=None, verbose=True):
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
    backend : 'local' | 'mpi'
        z-step in this process, or distributed with DICOD.
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
    """What a model file keeps about its recording (JSON-friendly)."""
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
    """Save a fitted estimator and its metadata to ``fname`` (``.npz``)."""
    from .io import set_model_metadata

    if "metadata" in inspect.signature(model.save).parameters:
        model.save(fname, overwrite=True, metadata=metadata)
    else:
        model.save(fname, overwrite=True)
        set_model_metadata(fname, metadata)
    return Path(fname)


def load_model(fname):
    """Read a model file and its metadata.

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
    """Table entries describing a preprocessed recording."""
    n_trials, n_channels, n_times = recording.X.shape
    return dict(file=str(path) if path else "-", channels=n_channels,
                trials=n_trials, seconds_per_trial=round(n_times / recording.sfreq, 3),
                sfreq=recording.sfreq,
                annotations=_annotation_counts(recording.annotations) or "none")


def _annotation_counts(annotations):
    names, counts = np.unique([str(d) for d in annotations.description],
                              return_counts=True)
    return ", ".join(f"{n} ({c})" for n, c in zip(names, counts))


def driver_names_of(annotations, drivers=None):
    """Annotation types used as DriPP drivers (not BAD/EDGE, not atoms)."""
    available = sorted({str(d) for d in annotations.description})
    usable = [d for d in available if not d.upper().startswith(("BAD", "EDGE"))
              and not d.startswith("atom_")]
    if drivers is None:
        if not usable:
            raise ValueError(f"The recording has no annotation to use as a "
                             f"driver (found {available or 'none'}).")
        return usable
    missing = [d for d in drivers if d not in available]
    if missing:
        raise ValueError(f"No annotation {missing} in the recording; it has "
                         f"{available or 'none'}.")
    return list(drivers)


def run_dripp(recording, z, drivers=None, lower=0.03, upper=0.8, percentile=0.,
              n_boot=100, null="chi2", n_null=99, random_state=0):
    """DriPP of every atom against every annotation type of a recording.

    Parameters
    ----------
    recording : data_fetchers.Recording
        Gives the annotations, trial layout and sampling rate.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of the recording.
    drivers : list of str | None
        Annotation descriptions used as drivers; None: all but BAD/EDGE.
    lower, upper : float
        Kernel support (s after each driver event).
    percentile : float
        Keep the activation peaks above this percentile of each atom's peaks.
    n_boot : int
        Bootstrap replicates for the confidence intervals (0: none).
    null : 'chi2' | 'chibar' | 'bootstrap'
        Null distribution of the likelihood-ratio tests (see
        :mod:`cdl.dripp.stats`: 'chi2' is fast and slightly liberal,
        'bootstrap' calibrated and slower).
    n_null : int
        Simulations of the 'bootstrap' null.
    random_state : int | None
        Seed of the bootstraps.

    Returns
    -------
    result : dict
        ``dripp`` (fitted :class:`cdl.dripp.DriPP`), ``driver_names``,
        ``lrt`` (likelihood-ratio tests) and ``ci`` (None if ``n_boot=0``).
    """
    from .dripp import fit_dripp_from_annotations

    names = driver_names_of(recording.annotations, drivers)
    z = np.asarray(z)
    n_trials, n_atoms, n_valid = z.shape
    starts = np.asarray(recording.trial_starts)
    n_total = int(starts.max()) + recording.X.shape[2]
    z_cont = np.zeros((n_atoms, n_total))  # trials back in their place in time
    for n, start in enumerate(starts):
        z_cont[:, start:start + n_valid] = np.maximum(z[n], 0)
    annotations = recording.annotations
    first_samp = recording.first_samp if annotations.orig_time is not None else 0
    dripp, names = fit_dripp_from_annotations(
        z_cont, recording.sfreq, annotations, event_id=names, lower=lower,
        upper=upper, threshold="percentile", value=percentile,
        first_samp=first_samp, t_max=n_total / recording.sfreq)
    lrt = dripp.likelihood_ratio_test(null=null, n_boot=n_null,
                                      random_state=random_state)
    ci = None
    if n_boot:
        logger.info("Bootstrap confidence intervals (%d replicates)", n_boot)
        ci = dripp.bootstrap_ci(n_boot=n_boot, random_state=random_state)
    return dict(dripp=dripp, driver_names=names, lrt=lrt, ci=ci)
