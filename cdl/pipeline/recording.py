"""Reading a recording for CDL, as at fit time or as a model's recording was."""
import numpy as np

from data_fetchers import load_recording

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
