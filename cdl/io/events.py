"""Atom occurrences as MNE events and annotations, and their files.

:func:`activations_to_events` and :func:`activations_to_annotations` turn
activations ``z`` of shape (n_trials, n_atoms, n_times_valid) into MNE events
or :class:`mne.Annotations`, one per occurrence of
:func:`cdl.model.occurrences.find_occurrences` (a local maximum of an atom's
activations, timed at the peak of its waveform when ``v`` is given), so that
one can epoch on atom occurrences; :func:`model_to_events` and
:func:`model_to_annotations` do it for a fitted estimator and
:func:`write_activations` writes them to files.
"""
from pathlib import Path

import numpy as np

from cdl.model.occurrences import as_trials, find_occurrences

#: Extra columns of the annotations, in this order in the text file.
EXTRAS = ("atom", "trial", "amplitude", "window_start")


def _occurrences(z, threshold, n_times, trial_starts, v=None, timing="peak",
                 absolute=False):
    """Occurrences and the sample of each in the data (0 = first sample)."""
    z = as_trials(z)
    n_trials, _, n_times_valid = z.shape
    if trial_starts is not None:
        offsets = np.asarray(trial_starts)
        if offsets.shape != (n_trials,) or offsets.dtype.kind not in "iu":
            raise ValueError(f"trial_starts must hold one integer per trial, "
                             f"shape ({n_trials},), got {offsets!r}.")
    elif n_times is not None:
        if int(n_times) < n_times_valid:
            raise ValueError(f"n_times (the length of each trial of X) must be "
                             f">= n_times_valid={n_times_valid}, got {n_times}.")
        offsets = np.arange(n_trials) * int(n_times)
    elif n_trials == 1:
        offsets = np.zeros(1, dtype=int)
    else:
        raise ValueError(f"z holds {n_trials} trials: give n_times (the length "
                         f"of each trial of X) or trial_starts to place them "
                         f"in time.")
    occ = find_occurrences(z, v=v, threshold=threshold, timing=timing,
                           absolute=absolute)
    sample = offsets[occ["trial"]].astype(np.int64) + occ["time"]
    order = np.lexsort((occ["atom"], sample))
    return sample[order], occ[order], offsets


def activations_to_events(z, first_samp=0, threshold=0., n_times=None,
                          trial_starts=None, v=None, timing="peak",
                          absolute=False):
    """Turn activations into an MNE events array, one event per occurrence.

    An occurrence is a local maximum of an atom's activations (see
    :mod:`cdl.model.occurrences`), so an activation spread over neighbouring
    samples gives one event, not one per nonzero sample.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations; a 2-D array is one trial.
    first_samp : int
        ``raw.first_samp`` of the recording, so that the events follow MNE's
        convention (samples counted from the start of the acquisition).
    threshold : float
        An occurrence's amplitude must be ``> threshold`` (>= 0).
    n_times : int | None
        Length of each trial of ``X``. Trial ``n`` is taken to start at sample
        ``n * n_times`` of the data (consecutive splits of one recording).
        Needed when ``z`` has more than one trial, unless ``trial_starts``.
    trial_starts : array of int of shape (n_trials,) | None
        Start of each trial in the data (0 = first sample of the data), e.g.
        ``Recording.trial_starts`` from :mod:`data_fetchers`. Overrides
        ``n_times``.
    v : ndarray of shape (n_atoms, n_times_atom) | None
        Waveforms: occurrences are timed at the sample of the largest
        ``|v_k|`` (``timing='peak'``). None: at the window start.
    timing : 'peak' | 'start' | array of int
        See :func:`cdl.model.occurrences.timing_offsets`.
    absolute : bool
        Local maxima of ``|z|`` (a fit with ``positive=False``).

    Returns
    -------
    events : ndarray of shape (n_events, 3)
        Columns: sample of the occurrence (``first_samp`` + offset of the
        trial + window start + timing offset), 0, atom index + 1. Sorted by
        sample, then atom.
        The matching ``event_id`` is ``{f'atom_{k}': k + 1}``. Two atoms
        starting on the same sample give two events with the same sample:
        pass ``event_repeated='merge'`` or ``'drop'`` to :class:`mne.Epochs`.
    """
    sample, occ, _ = _occurrences(z, threshold, n_times, trial_starts, v,
                                  timing, absolute)
    events = np.zeros((len(sample), 3), dtype=np.int64)
    events[:, 0] = int(first_samp) + sample
    events[:, 2] = occ["atom"] + 1
    return events


def activations_to_annotations(z, sfreq, orig_time=None, first_samp=0,
                               threshold=0., n_times=None, trial_starts=None,
                               v=None, timing="peak", absolute=False):
    """Turn activations into :class:`mne.Annotations`, one per occurrence.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations; a 2-D array is one trial.
    sfreq : float
        Sampling frequency of ``X`` (Hz).
    orig_time : datetime | None
        ``raw.info['meas_date']``. With None, MNE reads onsets from the first
        sample of the data and ``first_samp`` is not used.
    first_samp : int
        ``raw.first_samp``; added to the onsets when ``orig_time`` is given, as
        MNE then counts onsets from the start of the acquisition.
    threshold, n_times, trial_starts, v, timing, absolute
        As in :func:`activations_to_events`.

    Returns
    -------
    annotations : mne.Annotations
        Description ``'atom_<k>'`` (k the atom index in ``z``), onset at the
        occurrence (the same samples as :func:`activations_to_events`), in
        seconds, duration 0. Each annotation's ``extras`` holds ``{'atom': k,
        'trial': n, 'amplitude': z value, 'window_start': sample of the
        atom's window start, counted as the onset}``. Pass them to
        ``raw.set_annotations`` (or ``raw.annotations + ...``) of the same
        recording, then epoch with :func:`mne.events_from_annotations`.
    """
    import mne

    sfreq = float(sfreq)
    if not sfreq > 0:
        raise ValueError(f"sfreq must be > 0, got {sfreq}.")
    sample, occ, offsets = _occurrences(z, threshold, n_times, trial_starts, v,
                                        timing, absolute)
    first = int(first_samp) if orig_time is not None else 0
    onset = (first + sample) / sfreq
    window = first + offsets[occ["trial"]] + occ["start"]
    extras = [dict(atom=int(k), trial=int(n), amplitude=float(a),
                   window_start=int(w))
              for k, n, a, w in zip(occ["atom"], occ["trial"], occ["amplitude"],
                                    window, strict=True)]
    return mne.Annotations(onset, np.zeros(len(onset)),
                           [f"atom_{k}" for k in occ["atom"]],
                           orig_time=orig_time, extras=extras)


def _model_z(model):
    """Activations and sampling rate (None without ``info_``) of a model."""
    z = getattr(model, "z_hat_", None)
    if z is None:
        raise ValueError(f"{type(model).__name__} is not fitted: it has no "
                         f"z_hat_; call fit first.")
    info = getattr(model, "info_", None)
    sfreq = None if info is None else float(info["sfreq"])
    return np.asarray(z), sfreq


def _model_timing(model, timing):
    """Waveforms and sign convention of a fitted model's occurrences."""
    v = getattr(model, "v_hat_", None)
    return dict(v=None if v is None else np.asarray(v), timing=timing,
                absolute=not getattr(model, "positive", True))


def model_to_events(model, z=None, first_samp=0, threshold=0.,
                    trial_starts=None, timing="peak"):
    """MNE events of the atom occurrences of a fitted estimator.

    Parameters
    ----------
    model : BatchCDL | OnlineCDL | GreedyCDL
        Fitted estimator.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations to export (e.g. from ``model.transform``); default
        ``model.z_hat_``.
    first_samp : int
        ``raw.first_samp`` of the recording.
    threshold : float
        An occurrence's amplitude must be ``> threshold``.
    trial_starts : array of int of shape (n_trials,) | None
        Start of each trial in the data; by default trials are consecutive
        pieces of ``n_times_valid + n_times_atom - 1`` samples.
    timing : 'peak' | 'start'
        Occurrences at the peak of each atom's ``|v|`` (default) or at the
        start of its window.

    Returns
    -------
    events : ndarray of shape (n_events, 3)
        One event per occurrence (:func:`cdl.model.occurrences.find_occurrences`),
        see :func:`activations_to_events`.
    event_id : dict of str to int
        ``{'atom_<k>': k + 1}`` for every atom.
    """
    z = _model_z(model)[0] if z is None else np.asarray(z)
    n_times = z.shape[-1] + int(model.n_times_atom) - 1
    events = activations_to_events(z, first_samp=first_samp, threshold=threshold,
                                   n_times=n_times, trial_starts=trial_starts,
                                   **_model_timing(model, timing))
    event_id = {f"atom_{k}": k + 1 for k in range(z.shape[-2])}
    return events, event_id


def model_to_annotations(model, z=None, sfreq=None, orig_time=None,
                         first_samp=0, threshold=0., trial_starts=None,
                         timing="peak"):
    """:class:`mne.Annotations` of the atom occurrences of a fitted estimator.

    Parameters
    ----------
    model : BatchCDL | OnlineCDL | GreedyCDL
        Fitted estimator.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations to export; default ``model.z_hat_``.
    sfreq : float | None
        Sampling frequency; default ``model.info_['sfreq']``.
    orig_time, first_samp, threshold, trial_starts
        As in :func:`activations_to_annotations` (``raw.info['meas_date']``,
        ``raw.first_samp``); trials are consecutive by default.
    timing : 'peak' | 'start'
        As in :func:`model_to_events`.

    Returns
    -------
    annotations : mne.Annotations
        Description ``'atom_<k>'``, onset at the occurrence (the events of
        :func:`model_to_events`), amplitude and window start in ``extras``.
    """
    z_model, model_sfreq = _model_z(model)
    z = z_model if z is None else np.asarray(z)
    sfreq = model_sfreq if sfreq is None else sfreq
    if sfreq is None:
        raise ValueError("sfreq is needed: the model has no info_ (it was "
                         "fitted on an array); pass sfreq=.")
    n_times = z.shape[-1] + int(model.n_times_atom) - 1
    return activations_to_annotations(z, sfreq, orig_time=orig_time,
                                      first_samp=first_samp, threshold=threshold,
                                      n_times=n_times, trial_starts=trial_starts,
                                      **_model_timing(model, timing))


def write_activations(prefix, annotations, events, overwrite=False):
    """Write atom occurrences as MNE annotations and events files.

    Parameters
    ----------
    prefix : path-like
        Common start of the file names, e.g. ``out/activations``.
    annotations : mne.Annotations
        From :func:`model_to_annotations`.
    events : ndarray of shape (n_events, 3)
        From :func:`model_to_events`.
    overwrite : bool
        Replace existing files.

    Returns
    -------
    fnames : dict of str to Path
        ``'annot_fif'`` (``<prefix>-annot.fif``, read back with
        :func:`mne.read_annotations`, extras kept), ``'annot_txt'``
        (``<prefix>-annot.txt``: ``onset, duration, description, atom,
        trial, amplitude, window_start``, in that order, one line per
        occurrence; :func:`mne.read_annotations` reads it) and ``'events'``
        (``<prefix>-eve.fif``, for :func:`mne.read_events`; event code ``k +
        1`` is atom ``k``).
    """
    import mne

    prefix = Path(prefix)
    fnames = dict(annot_fif=prefix.with_name(prefix.name + "-annot.fif"),
                  annot_txt=prefix.with_name(prefix.name + "-annot.txt"),
                  events=prefix.with_name(prefix.name + "-eve.fif"))
    if not overwrite:
        existing = [str(f) for f in fnames.values() if f.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} exists; pass overwrite=True "
                                  f"to replace it.")
    annotations.save(fnames["annot_fif"], overwrite=True, verbose=False)
    write_annotations_txt(fnames["annot_txt"], annotations)
    mne.write_events(fnames["events"], events, overwrite=True, verbose=False)
    return fnames


def write_annotations_txt(fname, annotations, columns=EXTRAS):
    """Write annotations as MNE's text format with a fixed column order.

    MNE's own writer puts the extra columns in the order of a Python set,
    which changes from run to run; here they come in the order of
    ``columns`` (those no annotation has are left out).

    Parameters
    ----------
    fname : path-like
        ``.txt`` file, replaced if it exists.
    annotations : mne.Annotations
    columns : sequence of str
        Extra columns, in order.

    Returns
    -------
    fname : Path
    """
    extras = list(getattr(annotations, "extras", None) or [{}] * len(annotations))
    present = [c for c in columns if any(c in e for e in extras)]
    lines = ["# MNE-Annotations"]
    if annotations.orig_time is not None:
        lines.append(f"# orig_time : "
                     f"{annotations.orig_time.replace(tzinfo=None)}")
    lines.append("# " + ", ".join(["onset", "duration", "description", *present]))
    for onset, duration, desc, extra in zip(annotations.onset,
                                            annotations.duration,
                                            annotations.description, extras):
        cells = [repr(float(onset)), repr(float(duration)), str(desc)]
        cells += [_cell(extra.get(c)) for c in present]
        lines.append(",".join(cells))
    Path(fname).write_text("\n".join(lines) + "\n")
    return Path(fname)


def _cell(value):
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, float) else str(value)
