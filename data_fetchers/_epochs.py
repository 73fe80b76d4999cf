"""Epochs (trials) as a :class:`Recording`, as :func:`preprocess` does for a Raw.

The epochs are laid end to end: epoch ``n`` is trial ``n`` and starts at
sample ``n * n_times`` of that layout; its event (the epoch's time 0) is at
sample ``n * n_times - round(tmin * sfreq)``, with the epochs' event names,
in ``events`` and as annotations. Events and annotations written for the
trials count samples in that layout.
"""
import numpy as np

from cdl.io.channels import compensation_grade, pick_channels
from cdl.utils.log import logger
from cdl.utils.validation import check_bool

from ._preprocess import Recording, _plain, _scale
from ._projectors import apply_projectors
from ._reference import apply_reference

#: Options of :func:`preprocess` that apply to epochs (the others cut or
#: search a continuous recording).
EPOCHS_OPTIONS = ("picks", "bads", "drop_bads", "reference", "proj", "notch",
                  "l_freq", "h_freq", "sfreq", "scaling", "compensation", "n_jobs")


def preprocess_epochs(epochs, *, picks="data", bads=None, drop_bads=True,
                      reference=None, proj=True, notch=None, l_freq=None, h_freq=None,
                      sfreq=None, scaling=None, compensation=None, n_jobs=None,
                      **others):
    """Turn MNE Epochs into a :class:`Recording` with one trial per epoch.

    Parameters
    ----------
    epochs : mne.Epochs
        Loaded epochs; modified in place.
    picks, bads, drop_bads, reference, proj, notch, l_freq, h_freq, sfreq
        As in :func:`data_fetchers.preprocess` (``load_recording`` reads
        epochs files with their projectors unapplied; Epochs made with
        ``proj=True`` have them applied already); the filters run on each
        epoch (short epochs and low high-pass edges give
        MNE's warning about the filter length).
    scaling, compensation, n_jobs
        As in :func:`data_fetchers.preprocess`.
    **others
        Options of :func:`data_fetchers.preprocess` that do not apply to
        epochs: refused unless left at their defaults (None, or True for
        ``split_at_boundaries``).

    Returns
    -------
    recording : Recording
        ``raw`` is None; ``preprocessing['epochs']`` holds the number of
        epochs, ``tmin`` and ``tmax``.
    """
    proj = check_bool("proj", proj)
    given = {k: v for k, v in others.items()
             if v is not None and not (k == "split_at_boundaries" and v)}
    if given:
        raise ValueError(f"{sorted(given)} do not apply to an epochs file (its "
                         f"trials are the epochs); the options for epochs are "
                         f"{list(EPOCHS_OPTIONS)}.")
    filename = getattr(epochs, "filename", None)
    record = dict(source=[str(filename)] if filename else [],
                  sfreq_original=float(epochs.info["sfreq"]))
    if compensation is not None and compensation != compensation_grade(epochs.info):
        raise ValueError(f"The epochs are at CTF compensation grade "
                         f"{compensation_grade(epochs.info)}, {compensation} is "
                         f"asked; the grade of epochs cannot be changed here.")
    record["compensation_grade"] = compensation_grade(epochs.info)
    if bads is not None:
        epochs.info["bads"] = sorted(set(epochs.info["bads"]) | set(
            [bads] if isinstance(bads, str) else bads))
    if picks is not None:
        epochs.pick(pick_channels(epochs.info, picks, exclude=()), verbose=False)
    dropped = list(epochs.info["bads"]) if drop_bads else []
    if dropped:
        epochs.drop_channels(dropped)
    record.update(picks=_plain(picks), dropped_channels=dropped,
                  reference=apply_reference(epochs, reference),
                  projectors=apply_projectors(epochs, proj))
    if notch is not None:
        from mne.filter import notch_filter
        notch = np.atleast_1d(np.asarray(notch, dtype=float)).tolist()
        epochs._data = notch_filter(epochs.get_data(), epochs.info["sfreq"], notch,
                                    n_jobs=n_jobs, verbose=False)
    if l_freq is not None or h_freq is not None:
        epochs.filter(l_freq, h_freq, n_jobs=n_jobs, verbose=False)
    if sfreq is not None and float(sfreq) != epochs.info["sfreq"]:
        epochs.resample(sfreq, n_jobs=n_jobs, verbose=False)
    record.update(notch=notch, l_freq=_plain(l_freq), h_freq=_plain(h_freq),
                  sfreq=float(epochs.info["sfreq"]))
    X = np.ascontiguousarray(epochs.get_data(), dtype=np.float64)
    n_epochs, _, n_times = X.shape
    X, scale = _scale(X, scaling)
    starts = np.arange(n_epochs) * n_times
    zero = int(round(-epochs.tmin * epochs.info["sfreq"]))
    events = np.array(epochs.events)
    events[:, 0] = starts + zero
    names = {code: name for name, code in epochs.event_id.items()}
    annotations = _annotations(events, names, epochs.info["sfreq"])
    record.update(scaling=scaling, scale=scale, n_trials=n_epochs,
                  n_times_trial=int(n_times), events_from="epochs",
                  epochs=dict(n_epochs=n_epochs, tmin=float(epochs.tmin),
                              tmax=float(epochs.tmax)))
    logger.info(f"Epochs as trials: X of shape {X.shape} at "
                f"{record['sfreq']:g} Hz.")
    return Recording(X=X, info=epochs.info.copy(), events=events,
                     event_id=dict(epochs.event_id), annotations=annotations,
                     preprocessing=record, trial_starts=starts, first_samp=0,
                     raw=None)


def _annotations(events, names, sfreq):
    import mne

    return mne.Annotations(events[:, 0] / sfreq, np.zeros(len(events)),
                           [names.get(int(c), str(int(c))) for c in events[:, 2]])
