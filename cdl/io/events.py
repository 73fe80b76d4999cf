"""Atom occurrences as MNE events and annotations, and their files.

:func:`activations_to_events` and :func:`activations_to_annotations` turn
activations ``z`` of shape (n_trials, n_atoms, n_times_valid) into MNE events
or :class:`mne.Annotations`, so that one can epoch on atom occurrences;
:func:`model_to_events` and :func:`model_to_annotations` do it for a fitted
estimator and :func:`write_activations` writes them to files.
"""
import inspect
from pathlib import Path

import numpy as np

from cdl.utils.log import warn


def _occurrences(z, threshold, n_times, trial_starts):
    """Return sample (from the start of the data), atom, amplitude, trial."""
    z = np.asarray(z)
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3 or z.dtype.kind not in "biuf":
        raise ValueError(f"z must be a real array of shape (n_trials, n_atoms, "
                         f"n_times_valid), got shape {z.shape}, dtype {z.dtype}.")
    n_trials, _, n_times_valid = z.shape
    threshold = float(threshold)
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}.")
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
    trial, atom, t = np.nonzero(np.abs(z) > threshold)
    sample = offsets[trial].astype(np.int64) + t
    order = np.lexsort((atom, sample))
    return sample[order], atom[order], z[trial, atom, t][order], trial[order]


def activations_to_events(z, first_samp=0, threshold=0., n_times=None,
                          trial_starts=None):
    """Turn activations into an MNE events array, one event per occurrence.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations; a 2-D array is one trial.
    first_samp : int
        ``raw.first_samp`` of the recording, so that the events follow MNE's
        convention (samples counted from the start of the acquisition).
    threshold : float
        An occurrence is an entry with ``|z| > threshold``.
    n_times : int | None
        Length of each trial of ``X``. Trial ``n`` is taken to start at sample
        ``n * n_times`` of the data (consecutive splits of one recording).
        Needed when ``z`` has more than one trial, unless ``trial_starts``.
    trial_starts : array of int of shape (n_trials,) | None
        Start of each trial in the data (0 = first sample of the data), e.g.
        ``Recording.trial_starts`` from :mod:`data_fetchers`. Overrides
        ``n_times``.

    Returns
    -------
    events : ndarray of shape (n_events, 3)
        Columns: sample of the atom's start (``first_samp`` + offset of the
        trial + index in ``z``), 0, atom index + 1. Sorted by sample, then atom.
        The matching ``event_id`` is ``{f'atom_{k}': k + 1}``. Two atoms
        starting on the same sample give two events with the same sample:
        pass ``event_repeated='merge'`` or ``'drop'`` to :class:`mne.Epochs`.
    """
    sample, atom, _, _ = _occurrences(z, threshold, n_times, trial_starts)
    events = np.zeros((len(sample), 3), dtype=np.int64)
    events[:, 0] = int(first_samp) + sample
    events[:, 2] = atom + 1
    return events


def activations_to_annotations(z, sfreq, orig_time=None, first_samp=0,
                               threshold=0., n_times=None, trial_starts=None):
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
    threshold, n_times, trial_starts
        As in :func:`activations_to_events`.

    Returns
    -------
    annotations : mne.Annotations
        Description ``'atom_<k>'`` (k the atom index in ``z``), onset at the
        atom's start in seconds, duration 0. Each annotation's ``extras`` holds
        ``{'amplitude': z value, 'atom': k, 'trial': n}``. Pass them to
        ``raw.set_annotations`` (or ``raw.annotations + ...``) of the same
        recording, then epoch with :func:`mne.events_from_annotations`.
    """
    import mne

    sfreq = float(sfreq)
    if not sfreq > 0:
        raise ValueError(f"sfreq must be > 0, got {sfreq}.")
    sample, atom, amplitude, trial = _occurrences(z, threshold, n_times,
                                                  trial_starts)
    start = int(first_samp) if orig_time is not None else 0
    onset = (start + sample) / sfreq
    description = [f"atom_{k}" for k in atom]
    kwargs = {}
    if "extras" in inspect.signature(mne.Annotations).parameters:  # MNE >= 1.10
        kwargs["extras"] = [dict(amplitude=float(a), atom=int(k), trial=int(n))
                            for a, k, n in zip(amplitude, atom, trial, strict=True)]
    else:
        warn("Annotations have no extras before MNE 1.10: the amplitudes are "
             "not kept; use activations_to_events and z instead.")
    return mne.Annotations(onset, np.zeros(len(onset)), description,
                           orig_time=orig_time, **kwargs)


def _model_z(model):
    """Activations and sampling rate (None without ``info_``) of a model."""
    z = getattr(model, "z_hat_", None)
    if z is None:
        raise ValueError(f"{type(model).__name__} is not fitted: it has no "
                         f"z_hat_; call fit first.")
    info = getattr(model, "info_", None)
    sfreq = None if info is None else float(info["sfreq"])
    return np.asarray(z), sfreq


def model_to_events(model, z=None, first_samp=0, threshold=0.,
                    trial_starts=None):
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
        An occurrence is an entry with ``|z| > threshold``.
    trial_starts : array of int of shape (n_trials,) | None
        Start of each trial in the data; by default trials are consecutive
        pieces of ``n_times_valid + n_times_atom - 1`` samples.

    Returns
    -------
    events : ndarray of shape (n_events, 3)
        See :func:`activations_to_events`.
    event_id : dict of str to int
        ``{'atom_<k>': k + 1}`` for every atom.
    """
    z = _model_z(model)[0] if z is None else np.asarray(z)
    n_times = z.shape[-1] + int(model.n_times_atom) - 1
    events = activations_to_events(z, first_samp=first_samp, threshold=threshold,
                                   n_times=n_times, trial_starts=trial_starts)
    event_id = {f"atom_{k}": k + 1 for k in range(z.shape[-2])}
    return events, event_id


def model_to_annotations(model, z=None, sfreq=None, orig_time=None,
                         first_samp=0, threshold=0., trial_starts=None):
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

    Returns
    -------
    annotations : mne.Annotations
        Description ``'atom_<k>'``, onset at the atom's start, amplitude in
        ``extras``.
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
                                      n_times=n_times, trial_starts=trial_starts)


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
        :func:`mne.read_annotations`, amplitudes kept), ``'annot_txt'``
        (``<prefix>-annot.txt``, one ``onset, duration, description, ...``
        line per occurrence, also readable by :func:`mne.read_annotations`)
        and ``'events'`` (``<prefix>-eve.fif``, for :func:`mne.read_events`;
        event code ``k + 1`` is atom ``k``).
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
    annotations.save(fnames["annot_txt"], overwrite=True, verbose=False)
    mne.write_events(fnames["events"], events, overwrite=True, verbose=False)
    return fnames
