"""Model files: a versioned ``.npz`` with a JSON header, without pickle.

:func:`write_model_file` stores arrays bit for bit, JSON parameters, the essentials of
an :class:`mne.Info` and free-form metadata (e.g. the preprocessing of the
recording the model was fitted on); :func:`read_model_file` reads them back and
turns every problem with the file into one clear ``ValueError``. Public
through :mod:`cdl.io`.
"""
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from cdl.utils.files import write_npz_atomic

#: Version of the model file layout written by :func:`write_model_file`.
FORMAT_VERSION = 1
_FORMAT = "cdl-meeg model"
_HEADER = "__cdl_model__"
_ARRAY_KINDS = "biufc"  # bool, int, uint, float, complex: no objects, no pickle


class _ModelFileError(ValueError):
    """A model file problem already described for the user."""


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


def _to_json(params, name="params"):
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise TypeError(f"{name} must be a dict with str keys, got {params!r}.")
    for key, value in params.items():
        try:
            json.dumps(value, default=_json_default)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}['{key}'] cannot be stored in a model file "
                            f"(JSON numbers, strings, lists, dicts, None): "
                            f"{err}.") from None
    return json.loads(json.dumps(params, default=_json_default))


def _info_to_dict(info):
    """The essentials of an Info: channels, types, rate, positions, digitisation.

    The digitised points (fiducials, HPI coils, EEG electrodes, head shape)
    are stored as they are (kind, ident, position, frame): rebuilding them
    through a montage fails for some files (e.g. MNE's sample data, whose EEG
    reference electrode has no channel).
    """
    chs = [dict(loc=ch["loc"], coil_type=int(ch["coil_type"]),
                coord_frame=int(ch["coord_frame"]), unit=int(ch["unit"]),
                unit_mul=int(ch["unit_mul"]), cal=float(ch["cal"]),
                range=float(ch["range"])) for ch in info["chs"]]
    dig = [dict(kind=int(d["kind"]), ident=int(d["ident"]), r=d["r"],
                coord_frame=int(d["coord_frame"])) for d in info["dig"] or []]
    dev_head_t = info["dev_head_t"]
    return _to_json(dict(
        ch_names=list(info["ch_names"]), ch_types=info.get_channel_types(),
        sfreq=float(info["sfreq"]), bads=list(info["bads"]), chs=chs,
        dev_head_t=None if dev_head_t is None else dev_head_t["trans"],
        dig=dig, montage=None))


def _info_from_dict(spec):
    import mne
    from mne._fiff._digitization import DigPoint

    info = mne.create_info(spec["ch_names"], spec["sfreq"], spec["ch_types"])
    for ch, saved in zip(info["chs"], spec["chs"], strict=True):
        ch["loc"] = np.asarray(saved["loc"], dtype=np.float64)
        for key in ("coil_type", "coord_frame", "unit", "unit_mul"):
            ch[key] = int(saved[key])
        ch["cal"], ch["range"] = saved["cal"], saved["range"]
    if spec.get("dig"):
        with info._unlock():
            info["dig"] = [DigPoint(kind=d["kind"], ident=d["ident"],
                                    r=np.asarray(d["r"], dtype=np.float64),
                                    coord_frame=d["coord_frame"])
                           for d in spec["dig"]]
    elif spec.get("montage") is not None:  # files written before the dig key
        _set_saved_montage(info, spec["montage"])
    if spec["dev_head_t"] is not None:
        info["dev_head_t"] = mne.transforms.Transform(
            "meg", "head", np.asarray(spec["dev_head_t"], dtype=np.float64))
    info["bads"] = list(spec["bads"])
    return info


def _set_saved_montage(info, positions):
    import mne

    kwargs = {k: (None if v is None else np.asarray(v, dtype=np.float64))
              for k, v in positions.items() if k not in ("ch_pos", "coord_frame")}
    ch_pos = {name: np.asarray(pos, dtype=np.float64)
              for name, pos in positions["ch_pos"].items()}
    montage = mne.channels.make_dig_montage(
        ch_pos=ch_pos, coord_frame=positions["coord_frame"], **kwargs)
    info.set_montage(montage, on_missing="ignore", verbose=False)


def write_model_file(fname, arrays, params, info=None, overwrite=False, *,
               metadata=None):
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
        channels, channel positions and coil types (with the CTF compensation
        grade), device-to-head transform and the digitised points, enough to
        redraw topomaps.
    overwrite : bool
        Replace an existing file. If False, an existing file raises
        FileExistsError.
    metadata : dict | None
        Free-form JSON-serialisable information kept apart from ``params``
        (e.g. the recording and its preprocessing); read it back with
        :func:`read_model_metadata`.

    Returns
    -------
    fname : Path
        The file written.
    """
    import mne

    from cdl._version import __version__

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
        metadata=_to_json({} if metadata is None else metadata, "metadata"),
        arrays={k: dict(dtype=v.dtype.str, shape=list(v.shape))
                for k, v in data.items()})
    write_npz_atomic(fname, data, header, _HEADER)
    return fname


def read_model_file(fname):
    """Read a model written by :func:`write_model_file`.

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
    arrays, header = _read(fname, with_arrays=True)
    info = None
    if header["info"] is not None:
        try:
            info = _info_from_dict(header["info"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise _ModelFileError(f"{_corrupted(fname)}: its Info cannot be "
                                  f"rebuilt ({type(err).__name__}: {err}).") \
                from None
    return arrays, header["params"], info


def read_model_metadata(fname):
    """Read the metadata of a model file (without loading its arrays).

    Parameters
    ----------
    fname : path-like
        A ``.npz`` model file.

    Returns
    -------
    metadata : dict
        As given to :func:`write_model_file` or :func:`set_model_metadata`; empty
        for files written without metadata.
    """
    fname = _check_fname(fname, must_exist=True)
    return _read(fname, with_arrays=False)[1].get("metadata") or {}


def set_model_metadata(fname, metadata):
    """Replace the metadata of an existing model file, keeping everything else.

    Parameters
    ----------
    fname : path-like
        A ``.npz`` model file (e.g. written by an estimator's ``save``).
    metadata : dict
        JSON-serialisable metadata.

    Returns
    -------
    fname : Path
        The file rewritten.
    """
    fname = _check_fname(fname, must_exist=True)
    arrays, header = _read(fname, with_arrays=True)
    header["metadata"] = _to_json(metadata, "metadata")
    write_npz_atomic(fname, arrays, header, _HEADER)
    return fname


def _corrupted(fname):
    return f"{fname} is corrupted or truncated and cannot be read as a cdl model file"


def _read(fname, with_arrays):
    """Return the checked arrays (or None) and header of a model file."""
    corrupted = _corrupted(fname)
    arrays = None
    if not zipfile.is_zipfile(fname):  # np.load would try it as a pickle
        raise _ModelFileError(f"{corrupted}: it is not an .npz (zip) archive.")
    try:
        with np.load(fname, allow_pickle=False) as npz:
            if _HEADER not in npz.files:
                raise _ModelFileError(f"{fname} is not a cdl model file (no "
                                      f"'{_HEADER}' header); write models with "
                                      f"cdl.io.write_model_file.")
            header = _parse_header(npz[_HEADER], fname)
            names = set(npz.files) - {_HEADER}
            if names != set(header["arrays"]):
                raise _ModelFileError(f"{corrupted}: it holds arrays "
                                      f"{sorted(names)} but its header lists "
                                      f"{sorted(header['arrays'])}.")
            if with_arrays:
                arrays = {name: np.array(npz[name]) for name in sorted(names)}
    except _ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as err:
        raise _ModelFileError(f"{corrupted} ({type(err).__name__}: {err}).") \
            from None
    for name, array in (arrays or {}).items():
        spec = header["arrays"][name]
        if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
            raise _ModelFileError(f"{corrupted}: array '{name}' has dtype "
                                  f"{array.dtype.str} and shape {array.shape}, "
                                  f"the header says {spec['dtype']} and "
                                  f"{spec['shape']}.")
    return arrays, header


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
    if not isinstance(header.get("metadata", {}), dict):
        raise _ModelFileError(f"{fname} is corrupted: its metadata is not a "
                              f"JSON object.")
    return header
