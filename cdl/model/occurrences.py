"""Occurrences of an atom: the local maxima of its activations."""
import numpy as np


def local_maxima(z):
    """Mask of the strictly positive local maxima along the last axis.

    A sample is a local maximum when it is larger than the sample before it
    and at least as large as the one after it: a plateau counts once, at its
    first sample.

    Parameters
    ----------
    z : ndarray of shape (..., n_times_valid)
        Activations (e.g. of one atom over trials).

    Returns
    -------
    mask : ndarray of bool, same shape as ``z``
    """
    left = np.concatenate([np.full(z.shape[:-1] + (1,), -np.inf), z[..., :-1]],
                          axis=-1)
    right = np.concatenate([z[..., 1:], np.full(z.shape[:-1] + (1,), -np.inf)],
                           axis=-1)
    return (z > 0) & (z > left) & (z >= right)
