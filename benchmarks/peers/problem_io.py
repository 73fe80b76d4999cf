"""Exchange benchmark problems and results between virtualenvs as ``.npz``.

This module is imported both by the project's own benchmarks (our venv, numpy 2)
and by the peer runners (``.venv-peers``, numpy < 2). It therefore depends on
numpy only and never imports ``cdl``.

Everything goes through ``np.savez`` / ``np.load(allow_pickle=False)``, so only
plain values travel:

- numpy arrays (numeric, bool) are stored as they are;
- Python / numpy scalars (int, float, bool) become 0-d arrays and come back as
  Python scalars;
- strings become 0-d unicode arrays and come back as ``str``;
- lists / tuples of numbers become 1-d (or n-d) float or int arrays;
- ``None`` values are dropped (a missing key means "use the default").
"""

import os

import numpy as np

__all__ = ["load_problem", "load_result", "save_problem", "save_result"]


def _to_array(key, value):
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"{key!r}: object arrays cannot be stored "
                            "without pickle")
        return value
    if isinstance(value, (str, np.str_)):
        return np.array(str(value))
    if isinstance(value, (bool, np.bool_, int, np.integer, float, np.floating)):
        return np.array(value)
    if isinstance(value, (list, tuple)):
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"{key!r}: ragged or mixed sequences cannot be "
                            "stored without pickle")
        return arr
    raise TypeError(f"{key!r}: unsupported type {type(value).__name__}")


def _save(path, values):
    arrays = {}
    for key, value in values.items():
        if value is None:
            continue
        arrays[key] = _to_array(key, value)
    path = os.fspath(path)
    # np.savez appends '.npz' to names without it: write exactly ``path``.
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _load(path):
    out = {}
    with np.load(os.fspath(path), allow_pickle=False) as data:
        for key in data.files:
            arr = data[key]
            if arr.ndim == 0:
                out[key] = str(arr) if arr.dtype.kind == "U" else arr.item()
            else:
                out[key] = arr
    return out


def save_problem(path, **arrays_and_scalars):
    """Write a problem (arrays and scalars by keyword) to ``path`` (.npz)."""
    return _save(path, arrays_and_scalars)


def load_problem(path):
    """Read a problem written by :func:`save_problem` into a dict."""
    return _load(path)


def save_result(path, **arrays_and_scalars):
    """Write a runner's result to ``path`` (.npz)."""
    return _save(path, arrays_and_scalars)


def load_result(path):
    """Read a result written by :func:`save_result` into a dict.

    0-d entries come back as Python scalars / ``str``, others as arrays.
    """
    return _load(path)
