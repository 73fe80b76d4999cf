"""One preprocessing function shared by every loader, and what it returns."""
import json
import numbers
from dataclasses import dataclass, field

import numpy as np

from cdl.io.channels import compensation_grade, pick_channels, set_compensation
from cdl.utils.log import logger, verbose, warn
from cdl.utils.validation import check_bool, check_option

from ._projectors import apply_projectors
from ._reference import apply_reference

_SCALINGS = (None, "per_channel", "global")
# Annotations MNE writes at the junction of concatenated recordings.
_BOUNDARIES = ("EDGE boundary", "BAD boundary")


@dataclass(repr=False)
class Recording:
    """A recording ready for convolutional dictionary learning.

    Attributes
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        The preprocessed signal, float64. A continuous recording that was not
        split is one trial.
    info : mne.Info
        Measurement info of the channels in ``X`` (with the montage, if any).
    events : ndarray of shape (n_events, 3)
        MNE events at the final sampling rate. As in MNE, the first column
        counts samples from the start of the acquisition, so it includes
        ``first_samp``; sample ``s`` is ``X[n, :, s - first_samp -
        trial_starts[n]]`` for the trial ``n`` that holds it.
    event_id : dict of str to int
        Names of the event codes.
    annotations : mne.Annotations
        Annotations of the recording (onsets in seconds, MNE convention).
    preprocessing : dict
        What was applied, JSON-serialisable: picks, dropped channels, notch,
        filter band, sampling rates, trial split, scaling and its factors
        (``X_unscaled = X * scale``, with ``scale`` per channel or global), the
        source files.
    trial_starts : ndarray of shape (n_trials,)
        Index, in the continuous preprocessed data (0 = first sample of the data),
        at which each trial starts.
    first_samp : int
        ``raw.first_samp`` of the preprocessed recording.
    raw : mne.io.Raw | None
        The preprocessed continuous recording before splitting and scaling,
        e.g. to epoch it on events (None if ``keep_raw=False``).
    """

    X: np.ndarray
    info: object
    events: np.ndarray
    event_id: dict
    annotations: object
    preprocessing: dict
    trial_starts: np.ndarray
    first_samp: int = 0
    raw: object = field(default=None)

    @property
    def sfreq(self):
        """Sampling frequency of ``X`` in Hz."""
        return float(self.info["sfreq"])

    def __repr__(self):
        n_trials, n_channels, n_times = self.X.shape
        return (f"<Recording | {n_trials} trial(s) x {n_channels} channels x "
                f"{n_times} samples at {self.sfreq:g} Hz, {len(self.events)} "
                f"events>")


@verbose
def preprocess(raw, *, picks="data", bads=None, drop_bads=True, reject_flat=None,
               reference=None, notch=None, l_freq=None, h_freq=None, sfreq=None,
               event_id=None, stim_channel=None, n_splits=None, trial_duration=None,
               split_at_boundaries=True, scaling=None, compensation=None,
               proj=True, keep_raw=True, copy=True, n_jobs=None, verbose=None):
    """Turn an MNE Raw into a :class:`Recording`, in a fixed order of steps.

    The steps run in this order: find events (stim channel, else annotations),
    set the CTF compensation grade, pick channel types, drop bad and flat
    channels, set the EEG reference, apply the SSP projectors, notch
    filter, band-pass filter, resample, cut into trials, scale.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording; it is loaded into memory if needed.
    picks : str | list of str | None
        Channels to keep, as in :meth:`mne.io.Raw.pick`: a channel type
        (``'eeg'``, ``'grad'``, ``'mag'``), ``'data'`` (the MEG and EEG data
        channels: never MEG reference, stim, EOG, ECG or misc channels, see
        :func:`cdl.io.channels.pick_channels`), or channel names. Picks by
        type never take MEG reference channels unless ``'ref_meg'`` is
        named. None keeps every channel.
    bads : list of str | None
        Channel names to mark as bad, in addition to ``raw.info['bads']``.
    drop_bads : bool
        Whether to drop the channels marked as bad.
    reject_flat : float | None
        Drop a channel when its standard deviation is below ``reject_flat``
        times the median standard deviation of the channels of its type
        (e.g. ``1e-3`` drops disconnected electrodes). None: no check.
    reference : None | 'average' | str | list of str
        EEG reference: None keeps the recording's (with ``proj=True``, an
        average-reference projector of the file is applied with the other
        projectors, as MNE does); ``'average'`` subtracts the mean of the EEG
        channels kept (skipped, with a warning, with fewer than 3); channel
        name(s) subtract their mean. Only EEG channels change; an
        average-reference projector in the file is then replaced.
        ``preprocessing['reference']`` records the reference set here and
        ``preprocessing['projectors']`` the projectors applied.
    notch : float | list of float | None
        Line-noise frequencies (Hz) removed by :meth:`mne.io.Raw.notch_filter`.
    l_freq, h_freq : float | None
        Band-pass edges (Hz) given to :meth:`mne.io.Raw.filter`; None leaves the
        side open.
    sfreq : float | None
        Resample to this rate (Hz); events follow.
    event_id : dict | None
        Event names and codes to keep. None keeps all events.
    stim_channel : str | list of str | None
        Stim channel(s) for :func:`mne.find_events`; None lets MNE choose. When
        the recording has no stim channel, events come from its annotations.
    n_splits : int | None
        Cut the recording into this many trials of equal length (the remainder
        at the end is dropped).
    trial_duration : float | None
        Cut the recording into trials of this duration (s) instead.
    split_at_boundaries : bool
        If the raw joins several recordings (``'EDGE boundary'`` annotations,
        as :func:`mne.concatenate_raws` writes), cut there first: each
        recording gives its own trial(s), cropped to the shortest.
    scaling : None | 'per_channel' | 'global'
        Divide each channel by its standard deviation, or the whole signal by
        its standard deviation.
    compensation : int | None
        CTF gradient compensation grade to bring the recording to, before
        picking (once the reference channels are left out the grade cannot
        change). None keeps the grade of the file. The grade of the result
        is recorded (``preprocessing['compensation_grade']``, None for other
        systems).
    proj : bool
        Apply the recording's SSP projectors (e.g. Neuromag's empty-room
        projectors), as ``mne.Epochs`` does by default; False leaves the
        data unprojected. ``preprocessing['projectors']`` lists those
        applied.
    keep_raw : bool
        Keep the preprocessed Raw in ``Recording.raw``.
    copy : bool
        Work on a copy of ``raw`` (otherwise ``raw`` is modified in place).
    n_jobs : int | None
        Jobs for MNE's filtering and resampling.
    %(verbose)s

    Returns
    -------
    recording : Recording
        The signal ``X`` of shape (n_trials, n_channels, n_times) and what goes
        with it.
    """
    import mne

    if not isinstance(raw, mne.io.BaseRaw):
        raise TypeError(f"raw must be an instance of mne.io.Raw, got "
                        f"{type(raw).__name__}.")
    check_option("scaling", scaling, _SCALINGS)
    proj = check_bool("proj", proj)
    if n_splits is not None and trial_duration is not None:
        raise ValueError("Give n_splits or trial_duration, not both "
                         f"(got n_splits={n_splits!r}, "
                         f"trial_duration={trial_duration!r}).")
    raw = raw.copy() if copy else raw
    raw.load_data(verbose=False)
    record = dict(source=[str(f) for f in raw.filenames if f is not None],
                  sfreq_original=float(raw.info["sfreq"]))

    events, events_from = _find_events(raw, stim_channel, event_id)
    set_compensation(raw, compensation)
    record["compensation_grade"] = compensation_grade(raw.info)
    if picks is not None:
        raw.pick(pick_channels(raw.info, picks, exclude=()), verbose=False)
    record["picks"] = _plain(picks)
    record["dropped_channels"] = _drop_channels(raw, bads, drop_bads, reject_flat)
    record["reference"] = apply_reference(raw, reference)
    record["projectors"] = apply_projectors(raw, proj)

    if notch is not None:
        notch = np.atleast_1d(np.asarray(notch, dtype=float))
        nyquist = raw.info["sfreq"] / 2.
        if np.any(notch <= 0) or np.any(notch >= nyquist):
            raise ValueError(f"notch frequencies must lie in (0, {nyquist:g}) Hz "
                             f"(below Nyquist), got {notch.tolist()}.")
        raw.notch_filter(notch, picks=_signal_picks(raw), n_jobs=n_jobs,
                         verbose=False)
        notch = notch.tolist()
    record["notch"] = notch
    if l_freq is not None or h_freq is not None:
        _check_band(l_freq, h_freq, raw.info["sfreq"])
        raw.filter(l_freq, h_freq, picks=_signal_picks(raw), n_jobs=n_jobs,
                   verbose=False)
    record.update(l_freq=_plain(l_freq), h_freq=_plain(h_freq))
    if sfreq is not None and float(sfreq) != raw.info["sfreq"]:
        if len(events):
            raw, events = raw.resample(sfreq, events=events, n_jobs=n_jobs,
                                       verbose=False)
        else:
            raw.resample(sfreq, n_jobs=n_jobs, verbose=False)
    record["sfreq"] = float(raw.info["sfreq"])
    if events_from == "annotations":  # seconds -> samples at the final rate
        events, _ = _find_events(raw, stim_channel=False, event_id=event_id)
    events_id = _event_id(raw, events, events_from, event_id)
    record["events_from"] = events_from

    data = raw.get_data()
    starts, n_times = _trial_layout(raw, data.shape[1], n_splits, trial_duration,
                                    split_at_boundaries)
    X = np.stack([data[:, s:s + n_times] for s in starts]).astype(np.float64)
    record.update(n_splits=_plain(n_splits), trial_duration=_plain(trial_duration),
                  n_trials=len(starts), n_times_trial=int(n_times))
    X, scale = _scale(X, scaling)
    record.update(scaling=scaling, scale=scale)
    logger.info(f"Preprocessed recording: X of shape {X.shape} at "
                f"{record['sfreq']:g} Hz, {len(events)} events.")
    return Recording(X=X, info=raw.info.copy(), events=events,
                     event_id=events_id, annotations=raw.annotations.copy(),
                     preprocessing=record, trial_starts=np.asarray(starts),
                     first_samp=int(raw.first_samp),
                     raw=raw if keep_raw else None)


def _check_band(l_freq, h_freq, sfreq):
    """Refuse filter edges the sampling rate cannot hold, naming the option."""
    nyquist = sfreq / 2.
    for name, value in (("l_freq", l_freq), ("h_freq", h_freq)):
        if value is not None and not 0 < value < nyquist:
            raise ValueError(f"{name} must lie in (0, {nyquist:g}) Hz, below the "
                             f"Nyquist frequency of this recording (sampled at "
                             f"{sfreq:g} Hz), got {value:g}; give another value "
                             f"or none.")
    if l_freq is not None and h_freq is not None and not l_freq < h_freq:
        raise ValueError(f"l_freq ({l_freq:g} Hz) must be below h_freq "
                         f"({h_freq:g} Hz).")


def _signal_picks(raw):
    """The channels to filter: every picked one but stim channels (MNE's
    default, the data channels, would leave EOG or misc picks unfiltered)."""
    return [i for i, t in enumerate(raw.get_channel_types()) if t != "stim"]


def _plain(value):
    """Return ``value`` as plain Python (JSON-friendly) numbers and lists."""
    if value is None or isinstance(value, str):
        return value
    try:
        value = np.asarray(value).tolist()
        json.dumps(value)
    except (TypeError, ValueError):
        value = repr(value)
    return value


def _find_events(raw, stim_channel, event_id):
    """Return (events, source), source being 'stim', 'annotations' or None."""
    import mne

    empty = np.zeros((0, 3), dtype=int)
    has_stim = len(mne.pick_types(raw.info, stim=True, exclude=())) > 0
    if stim_channel is not False and (has_stim or stim_channel is not None):
        events = mne.find_events(raw, stim_channel=stim_channel, shortest_event=1,
                                 verbose=False)
        if event_id is not None:
            events = mne.pick_events(events, include=list(event_id.values()))
        if len(events):
            return events, "stim"
    descriptions = set(raw.annotations.description) - set(_BOUNDARIES)
    if any(not d.upper().startswith(("BAD", "EDGE")) for d in descriptions):
        kwargs = dict(event_id=event_id) if event_id is not None else {}
        events, _ = mne.events_from_annotations(raw, verbose=False, **kwargs)
        return events, "annotations"
    return empty, None


def _event_id(raw, events, events_from, event_id):
    import mne

    if event_id is not None:
        return dict(event_id)
    if events_from == "annotations":
        return mne.events_from_annotations(raw, verbose=False)[1]
    return {str(code): int(code) for code in np.unique(events[:, 2])}


def _drop_channels(raw, bads, drop_bads, reject_flat):
    """Mark and drop bad and flat channels; return the dropped names."""
    if bads is not None:
        bads = [bads] if isinstance(bads, str) else list(bads)
        missing = sorted(set(bads) - set(raw.ch_names))
        if missing:
            raise ValueError(f"bads names channels that are not in the recording "
                             f"(after picks): {missing}.")
        raw.info["bads"] = sorted(set(raw.info["bads"]) | set(bads))
    if reject_flat is not None:
        if not isinstance(reject_flat, numbers.Real) or reject_flat <= 0:
            raise ValueError(f"reject_flat must be a positive number or None, "
                             f"got {reject_flat!r}.")
        std = raw.get_data().std(axis=1)
        types = np.array(raw.get_channel_types())
        flat = []
        for ch_type in np.unique(types):
            mask = types == ch_type
            threshold = reject_flat * np.median(std[mask])
            flat += [raw.ch_names[i] for i in np.flatnonzero(mask & (std <= threshold))]
        if flat:
            logger.info(f"Flat channels: {flat}")
            raw.info["bads"] = sorted(set(raw.info["bads"]) | set(flat))
    dropped = list(raw.info["bads"]) if drop_bads else []
    if dropped:
        if len(dropped) == len(raw.ch_names):
            raise ValueError(f"All {len(dropped)} channels are bad or flat; "
                             f"nothing is left (bads={dropped}).")
        raw.drop_channels(dropped)
    return dropped


def _trial_layout(raw, n_samples, n_splits, trial_duration, split_at_boundaries):
    """Return the start index of each trial and the trial length in samples."""
    segments = [(0, n_samples)]
    if split_at_boundaries:
        annot = raw.annotations
        onsets = annot.onset[np.isin(annot.description, _BOUNDARIES)]
        if len(onsets):
            cuts = raw.time_as_index(onsets, use_rounding=True,
                                     origin=annot.orig_time)
            cuts = np.unique(np.clip(cuts, 0, n_samples))
            bounds = np.concatenate([[0], cuts[cuts > 0], [n_samples]])
            bounds = np.unique(bounds)
            segments = list(zip(bounds[:-1], bounds[1:], strict=True))
    lengths = [stop - start for start, stop in segments]
    if len(set(lengths)) > 1:
        warn(f"The recordings joined in this raw have different lengths "
             f"{lengths}; each is cropped to the shortest ({min(lengths)} "
             f"samples).")
    length = min(lengths)
    if n_splits is not None:
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) \
                or not 1 <= n_splits <= length:
            raise ValueError(f"n_splits must be an integer between 1 and "
                             f"{length} (the number of samples), got {n_splits!r}.")
        n_times, per_segment = length // n_splits, int(n_splits)
    elif trial_duration is not None:
        n_times = int(round(float(trial_duration) * raw.info["sfreq"]))
        if not 1 <= n_times <= length:
            raise ValueError(
                f"trial_duration must be between one sample and the recording "
                f"length ({length / raw.info['sfreq']:g} s), got "
                f"{trial_duration!r}.")
        per_segment = length // n_times
    else:
        n_times, per_segment = length, 1
    starts = [int(start) + i * n_times for start, _ in segments
              for i in range(per_segment)]
    return starts, n_times


def _scale(X, scaling):
    """Scale X in place; return it and the factors (JSON-friendly)."""
    if scaling is None:
        return X, None
    std = X.std(axis=(0, 2)) if scaling == "per_channel" else np.array([X.std()])
    if np.any(std == 0):
        raise ValueError("Cannot scale: some channels are constant (zero "
                         "standard deviation); drop them with reject_flat or "
                         "bads.")
    X /= std[None, :, None] if scaling == "per_channel" else std[0]
    return X, std.tolist() if scaling == "per_channel" else float(std[0])


def _option_names():
    import inspect

    params = inspect.signature(preprocess).parameters
    return sorted(n for n, p in params.items()
                  if p.kind is p.KEYWORD_ONLY and n not in ("copy", "verbose"))


def check_options(options):
    """Raise a TypeError naming the keys of ``options`` preprocess does not know."""
    allowed = _option_names()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"Unknown preprocessing option(s) {unknown}; the "
                        f"options are {allowed}.")
    if "proj" in options:  # before a file is read for nothing
        check_bool("proj", options["proj"])


def run_preprocess(raw, defaults, options, **record):
    """Preprocess a freshly read ``raw`` with a loader's defaults and options.

    Parameters
    ----------
    raw : mne.io.Raw
        Read by the loader; modified in place.
    defaults : dict
        The loader's default options.
    options : dict
        Options the user gave; they override ``defaults``.
    **record
        Extra entries for ``Recording.preprocessing`` (dataset, subject...).

    Returns
    -------
    recording : Recording
    """
    check_options(options)
    recording = preprocess(raw, copy=False, **{**defaults, **options})
    recording.preprocessing.update(record)
    return recording
