"""Occurrences of an atom: the local maxima of its activations."""
import numpy as np

#: An atom with fewer occurrences than this is rare (diagnostics) or unused
#: (atom revival): the issue's definition of a dead atom, and the one of
#: ``benchmarks/bench_inits.py``.
MIN_OCCURRENCES = 5


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


def occurrence_counts(z):
    """Number of occurrences of each atom, summed over trials.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations.

    Returns
    -------
    counts : ndarray of int64, shape (n_atoms,)
        Positive local maxima (:func:`local_maxima`) of each ``z[:, k]``.
    """
    z = np.asarray(z)
    return np.array([int(local_maxima(z[:, k]).sum()) for k in range(z.shape[1])],
                    dtype=np.int64)


def sparse_occurrence_counts(z):
    """:func:`occurrence_counts` of one trial's sparse activations.

    Parameters
    ----------
    z : scipy.sparse array of shape (n_atoms, n_times_valid)
        Activations of one trial (e.g. ``SparseActivations.tocsr()``).

    Returns
    -------
    counts : ndarray of int64, shape (n_atoms,)
        The same numbers as ``occurrence_counts(z.toarray()[None])``, in
        memory proportional to the non-zero activations: each row is
        compressed to its non-zero samples with one zero between two that
        are not adjacent (what :func:`local_maxima` compares them with).
    """
    z = z.tocsr()
    z.sum_duplicates()
    counts = np.zeros(z.shape[0], dtype=np.int64)
    for k in range(z.shape[0]):
        cols = z.indices[z.indptr[k]:z.indptr[k + 1]]
        if len(cols) == 0:
            continue
        order = np.argsort(cols, kind="stable")
        cols, values = cols[order], z.data[z.indptr[k]:z.indptr[k + 1]][order]
        gaps = np.concatenate([[1], 1 + np.cumsum(np.diff(cols) > 1)])
        position = np.arange(len(cols)) + gaps
        compressed = np.zeros(position[-1] + 2, dtype=values.dtype)
        compressed[position] = values
        counts[k] = int(local_maxima(compressed)[position].sum())
    return counts
