"""Convolutions a worker needs, for 1-D signals and 2-D images alike.

Worker arrays always have two spatial axes: a 1-D signal piece of shape
(n_channels, n_times) is held as (n_channels, 1, n_times) and activations as
(n_atoms, 1, n_times_valid). :class:`Atoms` hides whether the dictionary is a
rank-1 ``uv``, full-rank 1-D ``D`` or 2-D ``D`` (n_atoms, n_channels, h, w),
and uses the fast rank-1 path of :mod:`cdl.model.objective` when it can.
"""
import numpy as np

from cdl._kernels import conv2d
from cdl.model.objective import compute_DtD, correlate
from cdl.model.shapes import get_n_times_atom, to_full_rank


class Atoms:
    """A dictionary with its cross-correlations, as a worker uses it.

    Parameters
    ----------
    D : ndarray
        ``uv`` (n_atoms, n_channels + n_times_atom), 1-D ``D`` (n_atoms,
        n_channels, n_times_atom) or 2-D ``D`` (n_atoms, n_channels, h, w).
    n_channels : int
    """

    def __init__(self, D, n_channels):
        self.D = np.ascontiguousarray(D)
        self.n_channels = n_channels
        self.ndim = 2 if D.ndim == 4 else 1
        self.n_atoms = D.shape[0]
        if self.ndim == 1:
            self.shape = (1, get_n_times_atom(self.D, n_channels))
            DtD = compute_DtD(self.D, n_channels)[:, :, None, :]
            # Full-rank atoms with two spatial axes, for the 2-D kernels.
            self.D4 = np.ascontiguousarray(
                to_full_rank(self.D, n_channels)[:, :, None, :])
        else:
            self.shape = D.shape[2:]
            DtD = conv2d.compute_DtD_2d(self.D)
            self.D4 = self.D
        self.DtD = np.ascontiguousarray(DtD)
        center = (self.shape[0] - 1, self.shape[1] - 1)
        self.norms = np.array([self.DtD[k, k][center] for k in range(self.n_atoms)])
        self.inv_norms = np.where(self.norms > 0, 1. / np.where(
            self.norms > 0, self.norms, 1.), 0.)

    def correlate(self, X):
        """``D_k corr X`` of X (n_channels, H, W): (n_atoms, H - h + 1, W - w + 1)."""
        if self.ndim == 1:
            return correlate(np.ascontiguousarray(X[:, 0]), self.D)[:, None, :]
        return conv2d.correlate_2d(np.ascontiguousarray(X), self.D)


def box_slice(box):
    """Index of a box ``(h0, h1, w0, w1)`` in an array (last two axes spatial)."""
    return (Ellipsis, slice(box[0], box[1]), slice(box[2], box[3]))


def grow(box, shape):
    """Box of the signal samples covered by atoms of ``shape`` placed in ``box``."""
    return (box[0], box[1] + shape[0] - 1, box[2], box[3] + shape[1] - 1)
