"""MNE integration and model files.

- :func:`mne_to_X` (and :func:`raw_to_X`, :func:`epochs_to_X`) turn MNE objects
  into ``X`` of shape (n_trials, n_channels, n_times).
- :func:`activations_to_events` and :func:`activations_to_annotations` turn
  activations ``z`` of shape (n_trials, n_atoms, n_times_valid) into MNE events
  or :class:`mne.Annotations`, so that one can epoch on atom occurrences.
- :func:`save_model` and :func:`read_model` store arrays, parameters and the
  essentials of an :class:`mne.Info` in a versioned ``.npz`` file with a JSON
  header, without pickle.

Nothing here depends on the estimators; MNE is imported only when needed.
"""
import inspect
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ._logging import warn

#: Version of the model file layout written by :func:`save_model`.
FORMAT_VERSION = 1
_FORMAT = "cdl-meeg model"
_HEADER = "__cdl_model__"
_ARRAY_KINDS = "biufc"  # bool, int, uint, float, complex: no objects, no pickle


class _ModelFileError(ValueError):
    """A model file problem already described for the user."""


def mne_to_X(inst, picks=None):
    """Return the signal of an MNE Raw, Epochs or Evoked as ``X``.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs | mne.Evoked
        A Raw or an Evoked gives one trial; Epochs give one trial per epoch.
    picks : str | list | slice | None
        Channels, as in MNE (types such as ``'eeg'``, names or indices). None
        takes the data channels (EEG, MEG, ...; no stim). As in MNE, picks by
        type (and None) leave out the channels marked bad; names and indices
        keep them.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        float64 copy of the data.
    info : mne.Info
        Info of the picked channels.
    """
    import mne
    from mne._fiff.pick import _picks_to_idx  # the picks MNE methods accept

    if not isinstance(inst, (mne.io.BaseRaw, mne.BaseEpochs, mne.Evoked)):
        raise TypeError(f"inst must be an mne.io.Raw, mne.Epochs or mne.Evoked, "
                        f"got {type(inst).__name__}.")
    idx = _picks_to_idx(inst.info, picks, none="data", exclude="bads")
    X = np.asarray(inst.get_data(picks=idx), dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    return np.ascontiguousarray(X), mne.pick_info(inst.info, idx)


def raw_to_X(raw, picks=None):
    """Return a Raw as ``X`` of shape (1, n_channels, n_times): one trial.

    See :func:`mne_to_X` for the parameters.
    """
    import mne

    if not isinstance(raw, mne.io.BaseRaw):
        raise TypeError(f"raw must be an mne.io.Raw, got {type(raw).__name__}.")
    return mne_to_X(raw, picks)


def epochs_to_X(epochs, picks=None):
    """Return Epochs as ``X`` of shape (n_epochs, n_channels, n_times).

    See :func:`mne_to_X` for the parameters.
    """
    import mne

    if not isinstance(epochs, mne.BaseEpochs):
        raise TypeError(f"epochs must be an mne.Epochs, got "
                        f"{type(epochs).__name__}.")
    return mne_to_X(epochs, picks)


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


def _check_fname(fname, must_exist):
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"fname must be a path-like, got {type(fname).__name__}.")
    fname = Path(fname).expanduser()
    if fname.suffix != ".npz":
        raise ValueError(f"fname must end with '.npz', got '{fname.name}'.")
    if must_exist and not fname.is_file():
        raise FileNotFoundError(f"Model file not found: {fname}")
    return fname


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _to_json(params):
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise TypeError(f"params must be a dict with str keys, got {params!r}.")
    for key, value in params.items():
        try:
            json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as err:
            raise TypeError(f"params['{key}'] cannot be stored in a model file "
                            f"(JSON numbers, strings, lists, dicts, None): "
                            f"{err}.") from None
    return json.loads(json.dumps(params, default=_json_default))


def _info_to_dict(info):
    """The essentials of an Info: channels, types, rate, positions, montage."""
    montage = info.get_montage()
    positions = None
    if montage is not None:
        positions = {k: v for k, v in montage.get_positions().items()}
    chs = [dict(loc=ch["loc"], coil_type=int(ch["coil_type"]),
                coord_frame=int(ch["coord_frame"]), unit=int(ch["unit"]),
                unit_mul=int(ch["unit_mul"]), cal=float(ch["cal"]),
                range=float(ch["range"])) for ch in info["chs"]]
    dev_head_t = info["dev_head_t"]
    return _to_json(dict(
        ch_names=list(info["ch_names"]), ch_types=info.get_channel_types(),
        sfreq=float(info["sfreq"]), bads=list(info["bads"]), chs=chs,
        dev_head_t=None if dev_head_t is None else dev_head_t["trans"],
        montage=positions))


def _info_from_dict(spec):
    import mne

    info = mne.create_info(spec["ch_names"], spec["sfreq"], spec["ch_types"])
    for ch, saved in zip(info["chs"], spec["chs"], strict=True):
        ch["loc"] = np.asarray(saved["loc"], dtype=np.float64)
        for key in ("coil_type", "coord_frame", "unit", "unit_mul"):
            ch[key] = int(saved[key])
        ch["cal"], ch["range"] = saved["cal"], saved["range"]
    if spec["montage"] is not None:
        positions = spec["montage"]
        kwargs = {k: (None if v is None else np.asarray(v, dtype=np.float64))
                  for k, v in positions.items() if k not in ("ch_pos", "coord_frame")}
        ch_pos = {name: np.asarray(pos, dtype=np.float64)
                  for name, pos in positions["ch_pos"].items()}
        montage = mne.channels.make_dig_montage(
            ch_pos=ch_pos, coord_frame=positions["coord_frame"], **kwargs)
        info.set_montage(montage, on_missing="ignore", verbose=False)
    if spec["dev_head_t"] is not None:
        info["dev_head_t"] = mne.transforms.Transform(
            "meg", "head", np.asarray(spec["dev_head_t"], dtype=np.float64))
    info["bads"] = list(spec["bads"])
    return info


def save_model(fname, arrays, params, info=None, overwrite=False):
    """Write a model to a ``.npz`` file with a JSON header, without pickle.

    Parameters
    ----------
    fname : path-like
        Output file; must end with ``.npz``.
    arrays : dict of str to ndarray
        Numeric arrays (e.g. ``{'uv': uv, 'z': z}``), written bit for bit.
        Names must not start with ``'__'``.
    params : dict
        Parameters, JSON-serialisable (numbers, strings, lists, dicts, None;
        numpy scalars and arrays are converted to lists; tuples become lists).
    info : mne.Info | None
        Stored as its essentials: channel names and types, sampling rate, bad
        channels, channel positions and coil types, device-to-head transform
        and the montage, enough to redraw topomaps.
    overwrite : bool
        Replace an existing file. If False, an existing file raises
        FileExistsError.

    Returns
    -------
    fname : Path
        The file written.
    """
    import mne

    from . import __version__

    fname = _check_fname(fname, must_exist=False)
    if fname.exists() and not overwrite:
        raise FileExistsError(f"{fname} exists; pass overwrite=True to replace it.")
    if not fname.parent.is_dir():
        raise FileNotFoundError(f"Folder {fname.parent} does not exist.")
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of str to ndarray, got "
                        f"{type(arrays).__name__}.")
    data = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name.startswith("__") \
                or "/" in name:
            raise ValueError(f"arrays keys must be non-empty names without '/' "
                             f"that do not start with '__', got {name!r}.")
        value = np.asanyarray(value)
        if type(value) is not np.ndarray or value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"arrays['{name}'] must be a numeric or boolean "
                            f"ndarray, got {type(value).__name__} of dtype "
                            f"{getattr(value, 'dtype', None)}.")
        data[name] = value
    if info is not None and not isinstance(info, mne.Info):
        raise TypeError(f"info must be an mne.Info or None, got "
                        f"{type(info).__name__}.")
    header = dict(
        format=_FORMAT, format_version=FORMAT_VERSION, software="cdl-meeg",
        software_version=__version__, params=_to_json(params),
        info=None if info is None else _info_to_dict(info),
        arrays={k: dict(dtype=v.dtype.str, shape=list(v.shape))
                for k, v in data.items()})
    data[_HEADER] = np.array(json.dumps(header))
    tmp = fname.with_name(f".{fname.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fid:
            np.savez(fid, **data)
        os.replace(tmp, fname)
    finally:
        if tmp.exists():
            tmp.unlink()
    return fname


def read_model(fname):
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    fname : path-like
        A ``.npz`` model file.

    Returns
    -------
    arrays : dict of str to ndarray
        The arrays, bit for bit as saved.
    params : dict
        The parameters.
    info : mne.Info | None
        An Info rebuilt from the stored essentials, or None.

    Raises
    ------
    ValueError
        If the file is not a model file, is corrupted or truncated, or was
        written with a newer format version than this software reads.
    """
    fname = _check_fname(fname, must_exist=True)
    corrupted = (f"{fname} is corrupted or truncated and cannot be read as a "
                 f"cdl model file")
    try:
        with np.load(fname, allow_pickle=False) as npz:
            if _HEADER not in npz.files:
                raise _ModelFileError(f"{fname} is not a cdl model file (no "
                                 f"'{_HEADER}' header); write models with "
                                 f"cdl.io.save_model.")
            header = _parse_header(npz[_HEADER], fname)
            names = set(npz.files) - {_HEADER}
            if names != set(header["arrays"]):
                raise _ModelFileError(f"{corrupted}: it holds arrays {sorted(names)} "
                                 f"but its header lists "
                                 f"{sorted(header['arrays'])}.")
            arrays = {name: np.array(npz[name]) for name in sorted(names)}
    except _ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as err:
        raise _ModelFileError(f"{corrupted} ({type(err).__name__}: {err}).") \
            from None
    for name, array in arrays.items():
        spec = header["arrays"][name]
        if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
            raise _ModelFileError(f"{corrupted}: array '{name}' has dtype "
                             f"{array.dtype.str} and shape {array.shape}, the "
                             f"header says {spec['dtype']} and {spec['shape']}.")
    info = None
    if header["info"] is not None:
        try:
            info = _info_from_dict(header["info"])
        except (KeyError, TypeError, ValueError) as err:
            raise _ModelFileError(f"{corrupted}: its Info cannot be rebuilt "
                                  f"({type(err).__name__}: {err}).") from None
    return arrays, header["params"], info


def _parse_header(raw_header, fname):
    try:
        header = json.loads(str(raw_header[()]))
        version = header["format_version"]
        ok = header.get("format") == _FORMAT and isinstance(version, int)
    except (ValueError, KeyError, TypeError, IndexError):
        ok = False
    if not ok:
        raise _ModelFileError(f"{fname} is corrupted: its model header cannot be "
                         f"parsed.")
    if version > FORMAT_VERSION:
        raise _ModelFileError(
            f"{fname} was written with model format version {version} (by "
            f"cdl-meeg {header.get('software_version')}); this cdl-meeg "
            f"reads versions up to {FORMAT_VERSION}. Upgrade cdl-meeg to read it.")
    for key in ("params", "info", "arrays"):
        if key not in header:
            raise _ModelFileError(f"{fname} is corrupted: its header has no "
                             f"'{key}' entry.")
    return header
