"""From CDL activations ``z`` and MNE annotations to DriPP event times."""
import numpy as np

from cdl.model.occurrences import as_trials, find_occurrences
from cdl.utils.log import logger, verbose
from cdl.utils.validation import check_option, check_scalar

THRESHOLDS = ("percentile", "absolute", "relative")


@verbose
def events_from_activations(z, sfreq, threshold="percentile", value=0.0,
                            tmin=0.0, v=None, timing="peak", trial_starts=None,
                            verbose=None):
    """Turn CDL activations into event times, one array per atom.

    An event is an occurrence of :func:`cdl.model.occurrences.find_occurrences`
    (a positive local maximum of ``z[n, k]``) whose amplitude is at least the
    threshold of atom ``k``, timed at the peak of the atom's waveform when
    ``v`` is given (so that DriPP latencies are those of that peak).

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) or (n_atoms, n_times_valid)
        Non-negative activations, e.g. ``BatchCDL.z_hat_``.
    sfreq : float
        Sampling frequency of ``z``, in Hz.
    threshold : 'percentile' | 'absolute' | 'relative'
        How ``value`` defines each atom's threshold: a percentile (0 to 100)
        of the amplitudes of the atom's local maxima, an absolute amplitude,
        or a fraction (0 to 1) of the atom's largest activation.
    value : float
        The threshold parameter; the default 0 keeps every local maximum.
    tmin : float
        Time in seconds of sample 0 of ``z`` (added to all times).
    v : ndarray of shape (n_atoms, n_times_atom) | None
        Waveforms: events at the sample of the largest ``|v_k|`` after the
        window start (``timing='peak'``). None: at the window start.
    timing : 'peak' | 'start' | array of int
        See :func:`cdl.model.occurrences.timing_offsets`.
    trial_starts : array of int of shape (n_trials,) | None
        Sample of the recording at which each trial starts; by default the
        trials are consecutive pieces of ``n_times_valid`` samples.
    verbose : bool | str | int | None
        Log level for this call.

    Returns
    -------
    atom_times : list of ndarray
        For each atom, sorted event times in seconds, ``tmin + (trial start
        + time in the trial) / sfreq``.
    """
    z = as_trials(z)
    if not np.all(np.isfinite(z)):
        raise ValueError("z contains NaN or infinite values.")
    if np.any(z < 0):
        raise ValueError("z must be non-negative (activations of a CDL fit "
                         "with positive=True).")
    sfreq = check_scalar("sfreq", sfreq, 0, strict=True)
    tmin = check_scalar("tmin", tmin)
    check_option("threshold", threshold, THRESHOLDS)
    value = check_scalar("value", value, 0)
    if threshold == "percentile" and value > 100:
        raise ValueError(f"value must be in [0, 100] for threshold="
                         f"'percentile', got {value}.")
    n_trials, n_atoms, n_times = z.shape
    starts = np.arange(n_trials) * n_times if trial_starts is None \
        else np.asarray(trial_starts)
    if starts.shape != (n_trials,):
        raise ValueError(f"trial_starts must hold one sample per trial "
                         f"({n_trials}), got shape {starts.shape}.")
    occ = find_occurrences(z, v=v, timing=timing)
    out = []
    for k in range(n_atoms):
        mine = occ[occ["atom"] == k]
        trial, sample, amp = mine["trial"], mine["time"], mine["amplitude"]
        if amp.size == 0:
            out.append(np.empty(0))
            continue
        if threshold == "percentile":
            level = np.percentile(amp, value)
        elif threshold == "relative":
            level = value * amp.max()
        else:
            level = value
        keep = amp >= level
        times = tmin + (starts[trial[keep]] + sample[keep]) / sfreq
        out.append(np.sort(times))
        logger.info("Atom %d: %d events (threshold %.3g).", k, keep.sum(),
                    level)
    return out


def drivers_from_annotations(annotations_or_events, sfreq, event_id=None,
                             first_samp=0):
    """Driver times from MNE annotations or an events array.

    Parameters
    ----------
    annotations_or_events : mne.Annotations | ndarray of shape (n_events, 3)
        Annotations (onsets in seconds) or MNE events (sample, 0, id), e.g.
        from ``mne.find_events`` or ``mne.events_from_annotations``.
    sfreq : float
        Sampling frequency, to convert event samples to seconds.
    event_id : dict | list of str | list of int | None
        Which drivers to keep: a dict ``{name: id}`` as returned by
        ``mne.events_from_annotations``, a list of annotation descriptions
        or of event ids. None keeps all of them.
    first_samp : int
        Sample of the recording that is sample 0 of ``z`` (e.g.
        ``raw.first_samp``); subtracted from event samples, and
        ``first_samp / sfreq`` from annotation onsets.

    Returns
    -------
    driver_times : list of ndarray
        One sorted array of times (seconds) per driver.
    names : list of str
        The name of each driver.
    """
    if hasattr(annotations_or_events, "onset"):
        times = np.asarray(annotations_or_events.onset, dtype=float)
        times = times - first_samp / sfreq
        labels = np.array([str(d) for d in annotations_or_events.description])
        if event_id is None:
            names = sorted(set(labels.tolist()))
        else:
            names = [str(e) for e in event_id]  # dict keys or list
        keys = names
    else:
        events = np.asarray(annotations_or_events)
        if events.ndim != 2 or events.shape[1] != 3:
            raise ValueError("annotations_or_events must be mne.Annotations or "
                             "an events array of shape (n_events, 3), got "
                             f"shape {events.shape}.")
        times = (events[:, 0] - first_samp) / sfreq
        labels = events[:, 2]
        if event_id is None:
            keys = sorted(set(labels.tolist()))
            names = [str(i) for i in keys]
        elif isinstance(event_id, dict):
            names, keys = list(event_id), list(event_id.values())
        else:
            keys = list(event_id)
            names = [str(i) for i in keys]
    drivers = [np.sort(times[labels == key]) for key in keys]
    missing = [n for n, d in zip(names, drivers) if d.size == 0]
    if missing:
        raise ValueError(f"event_id: no event found for {missing}.")
    return drivers, names
