"""Checkpoints of a running fit: written atomically, read back without pickle.

A checkpoint holds the learning state of :func:`cdl.learn.learn_dictionary` at
the end of an iteration (dictionary, activations, objective history, random
generator state, online statistics, the state of atom revival) plus what is
needed to refuse resuming a different problem: the estimator, its parameters
and a fingerprint of ``X``.

The file is an ``.npz`` (loaded with ``allow_pickle=False``) whose JSON header
is stored as a string array. It is written to a temporary file in the same
folder, flushed to disk, then renamed over the previous checkpoint with
:func:`os.replace`, so a crash at any moment leaves either the previous or the
new checkpoint, never a truncated one.
"""
import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from cdl.utils.files import write_npz_atomic

FORMAT = "cdl-checkpoint"
FORMAT_VERSION = 1
_HEADER = "__header__"
# Parameters that may differ between the run that wrote a checkpoint and the
# one resuming from it (they do not change the result, or extend it).
RESUMABLE_CHANGES = ("n_iter", "n_jobs", "verbose", "callback", "checkpoint",
                     "checkpoint_every")
HASH_BLOCK = 2 ** 16


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or belongs to another problem."""


def check_checkpoint_path(fname, name="checkpoint"):
    """Return ``fname`` as a Path ending in ``.npz`` in an existing folder."""
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike) or None, "
                        f"got {type(fname).__name__}.")
    fname = Path(fname)
    if fname.suffix != ".npz":
        raise ValueError(f"{name} must be a file name ending in .npz, got "
                         f"{str(fname)!r}.")
    if not fname.parent.is_dir():
        raise FileNotFoundError(f"The folder of {name} ({fname.parent}) does "
                                f"not exist.")
    return fname


def fingerprint(X):
    """Shape, dtype and BLAKE2 hash of a signal (array, memmap or source).

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times) | source
        Read block by block (a source from :mod:`cdl.io.sources` is read through
        its ``read`` method), so memory stays bounded.

    Returns
    -------
    fingerprint : dict
    """
    digest = hashlib.blake2b(digest_size=16)
    n_trials, _, n_times = X.shape
    for trial in range(n_trials):
        for start in range(0, n_times, HASH_BLOCK):
            stop = min(start + HASH_BLOCK, n_times)
            block = X.read(trial, start, stop) if hasattr(X, "read") \
                else np.ascontiguousarray(X[trial, :, start:stop])
            digest.update(memoryview(block).cast("B"))
    return dict(shape=[int(s) for s in X.shape], dtype=np.dtype(X.dtype).str,
                hash=digest.hexdigest())


def write_checkpoint(fname, state, meta):
    """Write a learning state atomically.

    Parameters
    ----------
    fname : path-like
        ``.npz`` file, replaced if it exists.
    state : dict
        Learning state (see :func:`cdl.learn.learn_dictionary`).
    meta : dict
        JSON-serialisable description of the run (estimator, params,
        fingerprint of ``X``).
    """
    fname = Path(fname)
    z = np.asarray(state["z"])
    nonzero = np.nonzero(z)
    arrays = dict(D=np.asarray(state["D"]), z_index=np.array(nonzero, np.int64),
                  z_values=z[nonzero], pobj=np.asarray(state["pobj"], np.float64),
                  times=np.asarray(state["times"], np.float64))
    rng = None
    if state.get("rng_state") is not None:
        name, keys, pos, has_gauss, cached = state["rng_state"]
        arrays["rng_keys"] = np.asarray(keys, dtype=np.uint32)
        rng = dict(name=str(name), pos=int(pos), has_gauss=int(has_gauss),
                   cached_gaussian=float(cached))
    if state.get("stats") is not None:
        arrays["ztz"], arrays["ztX"] = (np.asarray(a) for a in state["stats"])
    if state.get("unfinished") is not None:  # a last z-step cut (inexact)
        arrays["unfinished_D"], arrays["unfinished_reg"] = (
            np.asarray(a) for a in state["unfinished"])
    header = dict(format=FORMAT, format_version=FORMAT_VERSION,
                  z_shape=[int(s) for s in z.shape], z_dtype=z.dtype.str,
                  n_iter=int(state["n_iter"]), reg_scale=float(state["reg_scale"]),
                  stopped=bool(state["stopped"]), rng=rng, meta=meta,
                  revival=state.get("revival"))
    return write_npz_atomic(fname, arrays, header, _HEADER)


def read_checkpoint(fname):
    """Read a checkpoint written by :func:`write_checkpoint`.

    Returns
    -------
    state : dict
        Learning state for :func:`cdl.learn.learn_dictionary`.
    meta : dict
        The description of the run that wrote it.

    Raises
    ------
    CheckpointError
        (a ValueError) If the file is not a checkpoint, is corrupted, or is of
        a newer format.
    """
    fname = Path(fname)
    if not fname.is_file():
        raise FileNotFoundError(f"Checkpoint {fname} does not exist.")
    try:
        with np.load(fname, allow_pickle=False) as npz:
            header = json.loads(str(npz[_HEADER][()]))
            arrays = {k: np.array(npz[k]) for k in npz.files if k != _HEADER}
        if header.get("format") != FORMAT:
            raise ValueError("not a checkpoint")
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError,
            TypeError) as err:
        raise CheckpointError(f"{fname} is not a readable cdl checkpoint "
                         f"({type(err).__name__}: {err}).") from None
    if header["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{fname} was written with checkpoint format version "
                         f"{header['format_version']}; this cdl-meeg reads up "
                         f"to {FORMAT_VERSION}.")
    z = np.zeros(header["z_shape"], dtype=np.dtype(header["z_dtype"]))
    z[tuple(arrays["z_index"])] = arrays["z_values"]
    rng = header["rng"]
    rng_state = None if rng is None else (
        rng["name"], arrays["rng_keys"], rng["pos"], rng["has_gauss"],
        rng["cached_gaussian"])
    stats = (arrays["ztz"], arrays["ztX"]) if "ztz" in arrays else None
    unfinished = (arrays["unfinished_D"], arrays["unfinished_reg"]) \
        if "unfinished_D" in arrays else None
    state = dict(D=arrays["D"], z=z, pobj=list(arrays["pobj"]),
                 times=list(arrays["times"]), n_iter=header["n_iter"],
                 reg_scale=header["reg_scale"], stopped=header["stopped"],
                 rng_state=rng_state, stats=stats, revival=header.get("revival"),
                 unfinished=unfinished)
    return state, header["meta"]


def check_resumable(meta, expected, fname):
    """Raise a ValueError when a checkpoint belongs to another problem.

    Parameters
    ----------
    meta : dict
        Description stored in the checkpoint.
    expected : dict
        Description of the current run (same keys).
    fname : path-like
        For the message.
    """
    if meta.get("estimator") != expected["estimator"]:
        raise CheckpointError(f"resume={str(fname)!r} was written by "
                         f"{meta.get('estimator')}, not {expected['estimator']}.")
    if meta.get("X") != expected["X"]:
        raise CheckpointError(f"resume={str(fname)!r} was written for another X "
                         f"(shape, dtype or values differ): "
                         f"{meta.get('X')} != {expected['X']}.")
    saved, current = meta.get("params", {}), expected["params"]
    differ = sorted(k for k in set(saved) | set(current)
                    if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k))
    if differ:
        details = ", ".join(f"{k}={saved.get(k)!r} (now {current.get(k)!r})"
                            for k in differ)
        raise CheckpointError(f"resume={str(fname)!r} was written with other "
                         f"parameters: {details}. Use the same parameters (only "
                         f"{', '.join(RESUMABLE_CHANGES)} may change).")
