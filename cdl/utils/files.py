"""Atomic writes of ``.npz`` files: a crash leaves the old file or the new one.

Model files (:mod:`cdl.io.model_file`) and learning checkpoints
(:mod:`cdl.learn.checkpoint`) are written this way: to a temporary file in the
same folder, flushed to disk, then renamed over the target with
:func:`os.replace`; the folder is flushed too, so that the rename survives a
power cut.
"""
import json
import os

import numpy as np


def write_npz_atomic(fname, arrays, header=None, header_key=None):
    """Write ``arrays`` (and a JSON header) to ``fname`` atomically.

    Parameters
    ----------
    fname : Path
        Target ``.npz`` file, replaced if it exists.
    arrays : dict of str to ndarray
        Numeric arrays (no object arrays: files are read without pickle).
    header : dict | None
        JSON-serialisable header, stored as a string array under
        ``header_key``.
    header_key : str | None
        Name of the header array.

    Returns
    -------
    fname : Path
    """
    if header is not None:
        arrays = {**arrays, header_key: np.array(json.dumps(header))}
    tmp = fname.with_name(f".{fname.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fid:
            np.savez(fid, **arrays)
            fid.flush()
            os.fsync(fid.fileno())
        os.replace(tmp, fname)
        _fsync_folder(fname.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return fname


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover (e.g. Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
