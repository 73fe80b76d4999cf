"""Kernels for 2-D atoms on images, and statistics over a box of activations.

Shapes: images ``X`` (n_channels, height, width), atoms ``D`` (n_atoms,
n_channels, h, w), activations ``z`` (n_atoms, height - h + 1, width - w + 1).
The conventions extend the 1-D ones of :mod:`cdl._kernels.stats` axis by axis:
``DtD[k, l, dh + h - 1, dw + w - 1] = sum D[k, c, i, j] D[l, c, i + dh, j + dw]``
and ``ztz[k, l, dh + h - 1, dw + w - 1] = sum_p z[k, p] z[l, p + (dh, dw)]``.
A 1-D signal is an image of height 1.
"""
import numpy as np

from . import jit


@jit
def correlate_2d(X, D):  # pragma: no cover
    """``(D_k corr X)(p) = sum_{c, i, j} D[k, c, i, j] X[c, p + (i, j)]``.

    Returns
    -------
    out : ndarray of shape (n_atoms, height - h + 1, width - w + 1)
    """
    n_atoms, n_channels, a_h, a_w = D.shape
    o_h = X.shape[1] - a_h + 1
    o_w = X.shape[2] - a_w + 1
    out = np.zeros((n_atoms, o_h, o_w), dtype=X.dtype)
    # Row by row: an output row takes all its terms while it is in cache.
    for h in range(o_h):
        for k in range(n_atoms):
            acc = out[k, h]
            for c in range(n_channels):
                for i in range(a_h):
                    row = X[c, h + i]
                    for j in range(a_w):
                        d = D[k, c, i, j]
                        if d == 0:
                            continue
                        for t in range(o_w):
                            acc[t] += d * row[j + t]
    return out


@jit
def reconstruct_2d(z, D):  # pragma: no cover
    """``X_hat[c, p + (i, j)] += z[k, p] D[k, c, i, j]`` over the non-zeros of z.

    Returns
    -------
    X_hat : ndarray of shape (n_channels, z_height + h - 1, z_width + w - 1)
    """
    n_atoms, n_channels, a_h, a_w = D.shape
    X_hat = np.zeros((n_channels, z.shape[1] + a_h - 1, z.shape[2] + a_w - 1),
                     dtype=D.dtype)
    for k in range(n_atoms):
        for h in range(z.shape[1]):
            for w in range(z.shape[2]):
                a = z[k, h, w]
                if a == 0:
                    continue
                for c in range(n_channels):
                    for i in range(a_h):
                        for j in range(a_w):
                            X_hat[c, h + i, w + j] += a * D[k, c, i, j]
    return X_hat


@jit
def compute_DtD_2d(D):  # pragma: no cover
    """Atom cross-correlations, shape (n_atoms, n_atoms, 2 h - 1, 2 w - 1)."""
    n_atoms, n_channels, a_h, a_w = D.shape
    DtD = np.zeros((n_atoms, n_atoms, 2 * a_h - 1, 2 * a_w - 1), dtype=D.dtype)
    for k in range(n_atoms):
        for m in range(n_atoms):
            for dh in range(-a_h + 1, a_h):
                for dw in range(-a_w + 1, a_w):
                    acc = 0.
                    for c in range(n_channels):
                        for i in range(max(0, -dh), min(a_h, a_h - dh)):
                            for j in range(max(0, -dw), min(a_w, a_w - dw)):
                                acc += D[k, c, i, j] * D[m, c, i + dh, j + dw]
                    DtD[k, m, dh + a_h - 1, dw + a_w - 1] = acc
    return DtD


@jit
def accumulate_ztz_box(z, box, ztz):  # pragma: no cover
    """Add ``sum_{p in box} z[k, p] z[l, p + d]`` to ``ztz[k, l, d]`` in place.

    ``z[l, p + d]`` is read wherever it lies in the array (also outside the
    box), so a worker's ghost activations complete the sum.

    Parameters
    ----------
    z : ndarray of shape (n_atoms, height, width)
    box : ndarray of int64, shape (4,)
        ``[h0, h1, w0, w1]``.
    ztz : ndarray of shape (n_atoms, n_atoms, 2 h - 1, 2 w - 1)
    """
    n_atoms, height, width = z.shape
    a_h = (ztz.shape[2] + 1) // 2
    a_w = (ztz.shape[3] + 1) // 2
    for k in range(n_atoms):
        for h in range(box[0], box[1]):
            for w in range(box[2], box[3]):
                a = z[k, h, w]
                if a == 0:
                    continue
                for m in range(n_atoms):
                    for h2 in range(max(h - a_h + 1, 0), min(h + a_h, height)):
                        dh = h2 - h + a_h - 1
                        for w2 in range(max(w - a_w + 1, 0), min(w + a_w, width)):
                            ztz[k, m, dh, w2 - w + a_w - 1] += a * z[m, h2, w2]


@jit
def accumulate_ztX_box(z, box, X, origin, ztX):  # pragma: no cover
    """Add ``sum_{p in box} z[k, p] X[c, p - origin + (i, j)]`` to ``ztX`` in place.

    Parameters
    ----------
    z : ndarray of shape (n_atoms, height, width)
    box : ndarray of int64, shape (4,)
    X : ndarray of shape (n_channels, X_height, X_width)
        Signal whose sample ``(0, 0)`` is at position ``origin`` of ``z``.
    origin : ndarray of int64, shape (2,)
    ztX : ndarray of shape (n_atoms, n_channels, h, w)
    """
    n_atoms, n_channels, a_h, a_w = ztX.shape
    for k in range(n_atoms):
        for h in range(box[0], box[1]):
            for w in range(box[2], box[3]):
                a = z[k, h, w]
                if a == 0:
                    continue
                xh = h - origin[0]
                xw = w - origin[1]
                for c in range(n_channels):
                    for i in range(a_h):
                        for j in range(a_w):
                            ztX[k, c, i, j] += a * X[c, xh + i, xw + j]


@jit
def subtract_model(R, z, D, origin):  # pragma: no cover
    """Subtract the model ``sum_k z_k * D_k`` from the samples ``R`` in place.

    Only the activations whose atom reaches ``R`` are read, and only the
    non-zero ones do work: one pass over that part of ``z``, no temporaries.

    Parameters
    ----------
    R : ndarray of shape (n_channels, rows, cols)
        Signal samples; ``R[:, 0, 0]`` is the model's sample ``origin``.
    z : C-contiguous ndarray of shape (height, width, n_atoms)
        Activations, position-major (as a DICOD worker holds them).
    D : ndarray of shape (n_atoms, n_channels, h, w)
    origin : ndarray of int64, shape (2,)
    """
    n_atoms, n_channels, a_h, a_w = D.shape
    r0, q0 = origin[0], origin[1]
    rows, cols = R.shape[1], R.shape[2]
    w_start = max(q0 - a_w + 1, 0)
    w_stop = min(q0 + cols, z.shape[1])
    for h in range(max(r0 - a_h + 1, 0), min(r0 + rows, z.shape[0])):
        # The row's (w, k) as one flat run: a tight loop to find non-zeros.
        row = z[h].reshape(-1)
        for p in range(w_start * n_atoms, w_stop * n_atoms):
            a = row[p]
            if a == 0:
                continue
            w, k = p // n_atoms, p % n_atoms
            for i in range(max(r0 - h, 0), min(r0 + rows - h, a_h)):
                for j in range(max(q0 - w, 0), min(q0 + cols - w, a_w)):
                    for c in range(n_channels):
                        R[c, h + i - r0, w + j - q0] -= a * D[k, c, i, j]


@jit
def weighted_l1_box(z, box, weights):  # pragma: no cover
    """``sum_{p in box} sum_k weights[k] |z[p, k]|`` of position-major z.

    Parameters
    ----------
    z : C-contiguous ndarray of shape (height, width, n_atoms)
    box : ndarray of int64, shape (4,)
        ``[h0, h1, w0, w1]``.
    weights : ndarray of shape (n_atoms,)
    """
    n_atoms = z.shape[2]
    total = 0.
    for h in range(box[0], box[1]):
        row = z[h].reshape(-1)
        for p in range(box[2] * n_atoms, box[3] * n_atoms):
            if row[p] != 0:
                total += weights[p % n_atoms] * abs(row[p])
    return total


@jit
def nonzeros_box(z, box):  # pragma: no cover
    """Non-zeros of position-major z in ``box``, in (h, w, k) order.

    Returns
    -------
    index : ndarray of int64, shape (3, n_nonzero)
        Rows h, w (relative to the box) and k.
    values : ndarray of shape (n_nonzero,)
    """
    count = 0
    for h in range(box[0], box[1]):
        for w in range(box[2], box[3]):
            for k in range(z.shape[2]):
                if z[h, w, k] != 0:
                    count += 1
    index = np.empty((3, count), dtype=np.int64)
    values = np.empty(count, dtype=z.dtype)
    i = 0
    for h in range(box[0], box[1]):
        for w in range(box[2], box[3]):
            for k in range(z.shape[2]):
                if z[h, w, k] != 0:
                    index[0, i], index[1, i], index[2, i] = h - box[0], w - box[2], k
                    values[i] = z[h, w, k]
                    i += 1
    return index, values
