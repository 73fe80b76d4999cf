"""Checks of a DICOD problem and its distribution to the workers.

A problem is 1-D (signals (n_trials, n_channels, n_times), atoms ``uv`` or
(n_atoms, n_channels, n_times_atom)) or 2-D (images (n_channels, height,
width) or (n_trials, n_channels, height, width), atoms (n_atoms, n_channels,
h, w)). Internally both have two spatial axes (a signal is an image of height
1): ``X4`` has shape (n_trials, n_channels, H, W) and activations (n_trials,
n_atoms, H - h + 1, W - w + 1).
"""
import os
import threading

import numpy as np

from cdl.utils.validation import (
    check_dictionary,
    check_finite,
    check_int,
    check_option,
    check_X,
)

from ._signal import box_slice, grow
from .segmentation import Segmentation

FAULT_ACTIONS = ("raise", "kill", "exit", "hang", "slow")


class Problem:
    """A checked problem with its two-axis views.

    Parameters
    ----------
    X : ndarray
        Signals or images (see the module docstring).
    D : ndarray
        Dictionary: ``uv``, 1-D ``D`` or 2-D ``D``.
    """

    def __init__(self, X, D):
        if not isinstance(D, np.ndarray) and not isinstance(D, (list, tuple)):
            raise TypeError(f"D must be a numpy array, got {type(D).__name__}.")
        D = np.asarray(D)
        X = np.asarray(X) if isinstance(X, (list, tuple)) else X
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy array, got {type(X).__name__}.")
        if D.ndim == 4:
            if X.ndim not in (3, 4):
                raise ValueError(
                    f"D of shape {D.shape} holds 2-D atoms (n_atoms, n_channels, "
                    f"h, w), which need images X of shape (n_channels, height, "
                    f"width) or (n_trials, n_channels, height, width); got X of "
                    f"shape {X.shape} (a 1-D signal?).")
            self.ndim = 2
            self.single_image = X.ndim == 3
            X4 = np.ascontiguousarray(X[None] if X.ndim == 3 else X, dtype=float)
            if min(X4.shape) == 0:
                raise ValueError(f"X must not be empty, got shape {X.shape}.")
            check_finite("X", X4)
            D = np.ascontiguousarray(D, dtype=float)
            check_finite("D", D)
            if D.shape[1] != X4.shape[1]:
                raise ValueError(f"D has {D.shape[1]} channels but X has "
                                 f"{X4.shape[1]}.")
            self.atom_shape = D.shape[2:]
            if any(a > s for a, s in zip(self.atom_shape, X4.shape[2:])):
                raise ValueError(f"Atoms of shape {self.atom_shape} are larger than "
                                 f"the images {X4.shape[2:]}.")
            self.X = X4
        else:
            if X.ndim == 4:
                raise ValueError(f"X of shape {X.shape} is a set of images: use 2-D "
                                 f"atoms D of shape (n_atoms, n_channels, h, w).")
            X3 = check_X(X, dtype=np.float64)
            D, n_times_atom = check_dictionary(D, n_channels=X3.shape[1],
                                               dtype=np.float64)
            if n_times_atom > X3.shape[2]:
                raise ValueError(f"n_times_atom ({n_times_atom}) must not exceed the "
                                 f"number of time samples of X ({X3.shape[2]}).")
            self.ndim = 1
            self.single_image = False
            self.atom_shape = (n_times_atom,)
            self.X = X3[:, :, None, :]
        self.D = D
        self.n_trials, self.n_channels = self.X.shape[:2]
        self.n_atoms = D.shape[0]
        a = (1,) * (2 - self.ndim) + tuple(self.atom_shape)
        self.atom_shape2 = a
        self.valid_shape2 = (self.X.shape[2] - a[0] + 1, self.X.shape[3] - a[1] + 1)
        self.valid_shape = self.valid_shape2[2 - self.ndim:]

    def segmentation(self, n_workers):
        """Split the activations among ``n_workers`` (checks the sizes)."""
        n_workers = check_int("n_workers", n_workers, min_value=1)
        return Segmentation.auto(self.valid_shape, self.atom_shape, n_workers)

    def z_shape4(self):
        return (self.n_trials, self.n_atoms) + self.valid_shape2

    def to_user(self, z4):
        """Activations in the caller's layout (see :func:`dicod.dicod`)."""
        if self.ndim == 1:
            return z4[:, :, 0, :]
        return z4[0] if self.single_image else z4

    def from_user(self, z0):
        """Warm start in the caller's layout -> (n_trials, n_atoms, H, W)."""
        z0 = np.array(z0, dtype=float)
        expected = self.to_user(np.zeros(self.z_shape4())).shape
        if z0.shape != expected:
            raise ValueError(f"z0 must have shape {expected}, got {z0.shape}.")
        check_finite("z0", z0)
        return z0.reshape(self.z_shape4())


def read_fault():
    """Fault to inject in a worker, from ``DICOD_FAULT=worker:command:action``.

    For tests: ``DICOD_FAULT=1:solve:kill`` kills worker 1 when it receives the
    ``solve`` command (actions: raise, kill, exit, hang, and slow: 3 s of
    computation, during which the worker must still count as alive). Read at
    each call.
    """
    spec = os.environ.get("DICOD_FAULT", "").strip()
    if not spec:
        return None
    try:
        worker, command, action = spec.split(":")
        fault = dict(worker=int(worker), command=command, action=action)
    except ValueError:
        raise ValueError(f"DICOD_FAULT must read 'worker:command:action', got "
                         f"{spec!r}.") from None
    check_option("DICOD_FAULT action", action, FAULT_ACTIONS)
    return fault


def setup_workers(cluster, problem, seg, D, reg, positive, z0=None):
    """Send every worker its geometry, signal piece and warm start.

    Parameters
    ----------
    z0 : ndarray of shape (n_trials, n_atoms, H, W) | None
    """
    geometry = dict(valid_shape=problem.valid_shape, atom_shape=problem.atom_shape,
                    grid=seg.grid[2 - seg.ndim:])
    per_worker = []
    for i in range(seg.n_workers):
        x_box = grow(seg.extended(i), seg.atom_shape)
        window = seg.window(i)
        # Contiguous pieces travel as raw MPI buffers, not in a pickle.
        per_worker.append(dict(
            X=np.ascontiguousarray(problem.X[box_slice(x_box)]),
            z0=None if z0 is None else np.ascontiguousarray(z0[box_slice(window)])))
    scales = problem.X.reshape(problem.n_trials, -1).std(axis=1)
    return cluster.command("setup", per_worker=per_worker, geometry=geometry, D=D,
                           reg=reg, positive=positive, n_atoms=problem.n_atoms,
                           scales=scales, fault=read_fault())


def zeros_in_background(shape):
    """Zeros whose memory a thread writes while the root waits for the workers.

    A large output is otherwise paged in when the activations are gathered,
    after the solve, while every worker waits.

    Returns
    -------
    z : ndarray of shape ``shape``
    thread : threading.Thread
        Join it before using ``z``.
    """
    z = np.zeros(shape)
    thread = threading.Thread(target=z.fill, args=(0.,), daemon=True,
                              name="dicod-zeros")
    thread.start()
    return z, thread


def gather_z(cluster, shape4, trials=None, out=None):
    """Assemble the activations of all workers, shape (n_sel_trials, n_atoms, H, W).

    ``out`` : zeros of that shape to fill, or None.
    """
    n_trials = shape4[0] if trials is None else len(trials)
    z = np.zeros((n_trials,) + tuple(shape4[1:])) if out is None else out
    for idx, values in cluster.command("get_z", trials=trials):
        z[tuple(idx)] = values
    return z
