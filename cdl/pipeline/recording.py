"""Reading a recording for CDL, as at fit time or as a model's recording was.

A recording is read with its MEG and EEG data channels (never reference,
stim, EOG or misc channels unless picked), at the CTF compensation grade of
the file, filtered, and each channel type divided by its own factor
(:mod:`cdl.io.scaling`); the factors are kept with the model, so that a new
recording is read and scaled the same way (:func:`load_like_model`).
"""
from pathlib import Path

import numpy as np

from cdl.io.channels import channel_types
from cdl.io.scaling import apply_type_scalings, compute_type_scalings
from cdl.utils.log import warn
from data_fetchers import fif_kind, load_recording

#: How ``cdl fit`` reads a recording unless told otherwise. ``l_freq='auto'``
#: is a 3 Hz high-pass for a continuous recording and none for epochs (too
#: short for it); ``reference='average'`` re-references the EEG channels to
#: their mean (MEG untouched); ``proj=True`` applies the file's SSP
#: projectors (as ``mne.Epochs``); ``scaling`` is a method of
#: :mod:`cdl.io.scaling`; ``compensation`` a CTF grade (None: the file's).
LOAD_DEFAULTS = dict(picks="data", reference="average", proj=True, notch=None,
                     l_freq="auto", h_freq=40., sfreq=None, montage="auto",
                     scaling="std", compensation=None)

# 3-40 Hz found blink and alpha atoms in every EEGBCI run tried (average
# reference) where 1 Hz-none (and 2-45 Hz) gave slow frontal waves only
# (benchmarks/bench_inits.py --settings physiology; see README, "Atoms you
# can trust").
_AUTO_L_FREQ = 3.


def load_for_cdl(path, scalings=None, **load_options):
    """Read and preprocess a recording (or an epochs file) for CDL.

    Parameters
    ----------
    path : path-like
        Any file :func:`data_fetchers.load_recording` reads (a continuous
        recording, or an epochs FIF file whose epochs are the trials).
    scalings : dict of str to float | None
        Factor of each channel type (e.g. a model's ``scalings_``); None
        computes them with the ``scaling`` option.
    **load_options
        ``picks, reference, proj, notch, l_freq, h_freq, sfreq, montage,
        scaling, compensation`` (defaults in :data:`LOAD_DEFAULTS`).

    Returns
    -------
    recording : data_fetchers.Recording
        ``X`` divided by the factor of each channel's type;
        ``preprocessing['scalings']`` holds the factors, and
        ``preprocessing['compensation_grade']`` the CTF grade.
    """
    options = {**LOAD_DEFAULTS, **load_options}
    unknown = sorted(set(options) - set(LOAD_DEFAULTS))
    if unknown:
        raise TypeError(f"Unknown option(s) {unknown}; the options are "
                        f"{sorted(LOAD_DEFAULTS)}.")
    method = options.pop("scaling")
    auto = options["l_freq"] == "auto"
    options["l_freq"] = _AUTO_L_FREQ if auto else options["l_freq"]
    recording = _load(path, auto, options)
    types = channel_types(recording.info)
    try:
        factors = compute_type_scalings(recording.X, types,
                                        method if scalings is None else scalings)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    recording.X = apply_type_scalings(recording.X, types, factors)
    recording.preprocessing.update(scaling=method if scalings is None
                                   else "the model's factors", scalings=factors,
                                   scale=None)
    return recording


def _load(path, auto_l_freq, options):
    """The recording; 'auto' high-pass only for a continuous one."""
    if auto_l_freq and _is_epochs_file(path):
        options["l_freq"] = None
    return load_recording(path, **options)


def _check_projectors(fitted, applied, path):
    """Warn when ``path`` got other SSP projectors than the model's recording."""
    if fitted is not None and list(fitted) != list(applied or []):
        warn(f"{path}: SSP projectors applied {list(applied or [])}, the model's "
             f"recording had {list(fitted)}: its field patterns may differ "
             f"from the model's in the directions the projectors remove.")


def _is_epochs_file(path):
    name = Path(path).name.lower()
    return name.endswith((".fif", ".fif.gz")) and fif_kind(path) == "epochs"


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
    """Read a recording with the preprocessing, channels and scaling of a model.

    Parameters
    ----------
    model : fitted CDL estimator
        Gives the channels (``info_``), the atom length and the factors of
        the channel types (``scalings_``).
    metadata : dict
        The model file's metadata (preprocessing, CTF compensation grade;
        for models saved before per-type scaling, the global ``scale``).
    path : path-like
        Recording file of the same system.

    Returns
    -------
    recording : data_fetchers.Recording
        ``X`` holds the model's channels, in its order, scaled as the
        model's recording was.
    """
    import mne

    options = {k: v for k, v in metadata.get("load_options", {}).items()
               if k in LOAD_DEFAULTS}
    # Models saved before the reference and proj options read EEG as
    # recorded, and SSP projectors were applied to epochs files only (by
    # mne.read_epochs).
    options.setdefault("reference", None)
    options.setdefault("proj", metadata.get("epochs") is not None)
    options["compensation"] = metadata.get("compensation_grade")
    scalings = getattr(model, "scalings_", None)
    if scalings is None and metadata.get("scale"):  # files of older versions
        scalings = {t: float(metadata["scale"])
                    for t in set(channel_types(model.info_))} \
            if model.info_ is not None else None
    recording = load_for_cdl(path, scalings=scalings, **options)
    _check_projectors(metadata.get("projectors"),
                      recording.preprocessing.get("projectors"), path)
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
        File, channels (counted by type), trials, seconds per trial,
        sampling rate, counts of the annotation types.
    """
    n_trials, n_channels, n_times = recording.X.shape
    return dict(file=str(path) if path else "-",
                channels=channel_counts(recording.info),
                trials=n_trials, seconds_per_trial=round(n_times / recording.sfreq, 3),
                sfreq=recording.sfreq,
                annotations=_annotation_counts(recording.annotations) or "none")


def channel_counts(info):
    """``'204 grad, 102 mag, 60 eeg'``: the channels of ``info`` by type."""
    types = channel_types(info)
    return ", ".join(f"{types.count(t)} {t}" for t in dict.fromkeys(types))


def _annotation_counts(annotations):
    names, counts = np.unique([str(d) for d in annotations.description],
                              return_counts=True)
    return ", ".join(f"{n} ({c})" for n, c in zip(names, counts))
