"""LGCD on one DICOD worker's piece of the activations, with soft locks.

Arrays are laid out on a 2-D grid of positions (a 1-D signal is a grid of
height 1): ``beta`` and ``z`` have shape (n_atoms, height, width) and cover the
worker's window, ``DtD`` has shape (n_atoms, n_atoms, 2 h - 1, 2 w - 1) for
atoms of shape (h, w). Three boxes, each ``[h0, h1, w0, w1]`` in window
coordinates, describe the geometry:

- ``own``: the coordinates this worker updates, cut into LGCD segments whose
  best candidate is kept current (``seg_bits``, ``seg_k``, ``seg_h``, ``seg_w``,
  flat, row-major over the segment grid; candidate sizes are stored as the
  int64 bits of non-negative doubles, which order the same way);
- ``ext``: where ``beta`` is kept exact, ``own`` plus the neighbours'
  coordinates within one atom size (the ghost ring read by the soft locks);
- ``core``: updates outside it touch a neighbour's window and are recorded in
  ``out`` to be sent.

The update rule is :func:`cdl._kernels.lgcd.candidate`. Soft locks: a
coordinate whose update would change a neighbour's ``beta`` is updated only if
its change beats every ghost candidate it interferes with (by a relative
margin ``lock_eps``, so that rounding differences between two workers' copies
of the same values can never lock both).
"""
import numpy as np

from . import jit
from .lgcd import candidate

_FLAGS = {"nnan", "ninf", "nsz"}  # finite inputs: lets the row loops vectorise
LOCK_NONE, LOCK_BORDER, LOCK_CORNER = 0, 1, 2


@jit(fastmath=_FLAGS)
def _row_changes(b, zz, reg_k, inv_k, positive, out):  # pragma: no cover
    """``out[i] = |candidate change|`` along one row."""
    if positive:
        for i in range(b.shape[0]):
            out[i] = abs(max(b[i] - reg_k, 0.) * inv_k - zz[i])
    else:
        for i in range(b.shape[0]):
            x = max(b[i] - reg_k, 0.) + min(b[i] + reg_k, 0.)
            out[i] = abs(x * inv_k - zz[i])


@jit(fastmath=_FLAGS)
def _row_update(b, row, dz, zz, reg_k, inv_k, positive, fill,
                out):  # pragma: no cover
    """``b -= dz * row`` and, if ``fill``, the candidate changes in ``out``."""
    if not fill:
        for i in range(b.shape[0]):
            b[i] -= dz * row[i]
    elif positive:
        for i in range(b.shape[0]):
            x = b[i] - dz * row[i]
            b[i] = x
            out[i] = abs(max(x - reg_k, 0.) * inv_k - zz[i])
    else:
        for i in range(b.shape[0]):
            x = b[i] - dz * row[i]
            b[i] = x
            y = max(x - reg_k, 0.) + min(x + reg_k, 0.)
            out[i] = abs(y * inv_k - zz[i])


@jit
def _fold(bits, n, k, h, w0, best):  # pragma: no cover
    """Fold ``n`` filled candidate sizes of row (k, h) into ``best``."""
    m = 0
    for i in range(n):
        m = max(m, bits[i])
    if m > best[0]:
        for i in range(n):
            if bits[i] == m:
                best[0], best[1], best[2], best[3] = m, k, h, w0 + i
                break


@jit
def _scan_rect(beta, z, reg, inv_norms, positive, h0, h1, w0, w1, buf, bits,
               best):  # pragma: no cover
    """Fold the candidates of the box [h0, h1) x [w0, w1) into ``best``."""
    n = w1 - w0
    if n <= 0 or h1 <= h0:
        return
    for k in range(beta.shape[0]):
        for h in range(h0, h1):
            _row_changes(beta[k, h, w0:w1], z[k, h, w0:w1], reg[k], inv_norms[k],
                         positive, buf[:n])
            _fold(bits, n, k, h, w0, best)


@jit
def _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz, r_h0,
                 r_h1, r_w0, r_w1, fill, buf, bits, best):  # pragma: no cover
    """Apply the update (k0, h0, w0, dz) to ``beta`` on a box; fold if ``fill``."""
    n = r_w1 - r_w0
    if n <= 0 or r_h1 <= r_h0:
        return
    a_h = (DtD.shape[2] + 1) // 2
    a_w = (DtD.shape[3] + 1) // 2
    off_w = a_w - 1 - w0
    for k in range(beta.shape[0]):
        for h in range(r_h0, r_h1):
            row = DtD[k, k0, h - h0 + a_h - 1, r_w0 + off_w:r_w1 + off_w]
            _row_update(beta[k, h, r_w0:r_w1], row, dz, z[k, h, r_w0:r_w1], reg[k],
                        inv_norms[k], positive, fill, buf[:n])
            if fill:
                _fold(bits, n, k, h, r_w0, best)


@jit
def apply_update(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz, own, ext,
                 seg_shape, seg_bits, seg_k, seg_h, seg_w, buf):  # pragma: no cover
    """Change ``z[k0, h0, w0]`` by ``dz`` and keep ``beta`` and the segments current.

    ``(h0, w0)`` may lie outside ``own`` (an update received from a
    neighbour); ``beta`` is changed only inside ``ext``.
    """
    bits = buf.view(np.int64)
    a_h = (DtD.shape[2] + 1) // 2
    a_w = (DtD.shape[3] + 1) // 2
    z[k0, h0, w0] += dz
    if ext[0] <= h0 < ext[1] and ext[2] <= w0 < ext[3]:
        # beta excludes each coordinate's own contribution: the window update
        # below takes it back out.
        beta[k0, h0, w0] += dz * DtD[k0, k0, a_h - 1, a_w - 1]
    wh0 = max(h0 - a_h + 1, ext[0])
    wh1 = min(h0 + a_h, ext[1])
    ww0 = max(w0 - a_w + 1, ext[2])
    ww1 = min(w0 + a_w, ext[3])
    if wh0 >= wh1 or ww0 >= ww1:
        return
    ch0 = max(wh0, own[0])
    ch1 = min(wh1, own[1])
    cw0 = max(ww0, own[2])
    cw1 = min(ww1, own[3])
    best = np.zeros(4, dtype=np.int64)
    if ch0 < ch1 and cw0 < cw1:
        sh, sw = seg_shape[0], seg_shape[1]
        n_seg_w = (own[3] - own[2] + sw - 1) // sw
        for si in range((ch0 - own[0]) // sh, (ch1 - 1 - own[0]) // sh + 1):
            s_h0 = own[0] + si * sh
            s_h1 = min(s_h0 + sh, own[1])
            o_h0 = max(s_h0, ch0)
            o_h1 = min(s_h1, ch1)
            for sj in range((cw0 - own[2]) // sw, (cw1 - 1 - own[2]) // sw + 1):
                s = si * n_seg_w + sj
                s_w0 = own[2] + sj * sw
                s_w1 = min(s_w0 + sw, own[3])
                o_w0 = max(s_w0, cw0)
                o_w1 = min(s_w1, cw1)
                if (o_h0 <= seg_h[s] < o_h1) and (o_w0 <= seg_w[s] < o_w1):
                    # The old best is in the window: rescan the rest.
                    best[0], best[1], best[2], best[3] = 0, 0, s_h0, s_w0
                    _scan_rect(beta, z, reg, inv_norms, positive, s_h0, o_h0,
                               s_w0, s_w1, buf, bits, best)
                    _scan_rect(beta, z, reg, inv_norms, positive, o_h1, s_h1,
                               s_w0, s_w1, buf, bits, best)
                    _scan_rect(beta, z, reg, inv_norms, positive, o_h0, o_h1,
                               s_w0, o_w0, buf, bits, best)
                    _scan_rect(beta, z, reg, inv_norms, positive, o_h0, o_h1,
                               o_w1, s_w1, buf, bits, best)
                else:
                    best[0], best[1] = seg_bits[s], seg_k[s]
                    best[2], best[3] = seg_h[s], seg_w[s]
                _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0,
                             dz, o_h0, o_h1, o_w0, o_w1, True, buf, bits, best)
                seg_bits[s], seg_k[s] = best[0], best[1]
                seg_h[s], seg_w[s] = best[2], best[3]
        # The ghost part of the window: beta only.
        _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz,
                     wh0, ch0, ww0, ww1, False, buf, bits, best)
        _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz,
                     ch1, wh1, ww0, ww1, False, buf, bits, best)
        _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz,
                     ch0, ch1, ww0, cw0, False, buf, bits, best)
        _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz,
                     ch0, ch1, cw1, ww1, False, buf, bits, best)
    else:
        _update_rect(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz,
                     wh0, wh1, ww0, ww1, False, buf, bits, best)


@jit
def init_segments(beta, z, reg, inv_norms, positive, own, seg_shape, seg_bits,
                  seg_k, seg_h, seg_w, buf):  # pragma: no cover
    """Best candidate of every segment of ``own``, by a full scan."""
    bits = buf.view(np.int64)
    sh, sw = seg_shape[0], seg_shape[1]
    n_seg_h = (own[1] - own[0] + sh - 1) // sh
    n_seg_w = (own[3] - own[2] + sw - 1) // sw
    best = np.zeros(4, dtype=np.int64)
    for si in range(n_seg_h):
        h0 = own[0] + si * sh
        for sj in range(n_seg_w):
            s = si * n_seg_w + sj
            w0 = own[2] + sj * sw
            best[0], best[1], best[2], best[3] = 0, 0, h0, w0
            _scan_rect(beta, z, reg, inv_norms, positive, h0, min(h0 + sh, own[1]),
                       w0, min(w0 + sw, own[3]), buf, bits, best)
            seg_bits[s], seg_k[s] = best[0], best[1]
            seg_h[s], seg_w[s] = best[2], best[3]


@jit
def _ghost_max(beta, z, reg, inv_norms, positive, h0, w0, a_h, a_w, own, ext,
               lock_mode, buf):  # pragma: no cover
    """Largest ghost candidate that an update at (h0, w0) interferes with (bits)."""
    wh0 = max(h0 - a_h + 1, ext[0])
    wh1 = min(h0 + a_h, ext[1])
    ww0 = max(w0 - a_w + 1, ext[2])
    ww1 = min(w0 + a_w, ext[3])
    spill_h = wh0 < own[0] or wh1 > own[1]
    spill_w = ww0 < own[2] or ww1 > own[3]
    if not (spill_h or spill_w):
        return 0
    if lock_mode == LOCK_CORNER and not (spill_h and spill_w):
        return 0
    bits = buf.view(np.int64)
    best = np.zeros(4, dtype=np.int64)
    ch0 = max(wh0, own[0])
    ch1 = min(wh1, own[1])
    _scan_rect(beta, z, reg, inv_norms, positive, wh0, ch0, ww0, ww1, buf, bits,
               best)
    _scan_rect(beta, z, reg, inv_norms, positive, ch1, wh1, ww0, ww1, buf, bits,
               best)
    _scan_rect(beta, z, reg, inv_norms, positive, ch0, ch1, ww0, min(own[2], ww1),
               buf, bits, best)
    _scan_rect(beta, z, reg, inv_norms, positive, ch0, ch1, max(own[3], ww0), ww1,
               buf, bits, best)
    return best[0]


@jit
def _as_float(b):  # pragma: no cover
    return np.array([b], dtype=np.int64).view(np.float64)[0]


@jit
def sweep(beta, z, DtD, reg, inv_norms, positive, tol, own, ext, core, seg_shape,
          seg_bits, seg_k, seg_h, seg_w, lock_mode, lock_eps, strategy_random,
          seed, max_passes, out, buf):  # pragma: no cover
    """Visit every segment of ``own`` once per pass and update its coordinate.

    Parameters
    ----------
    beta, z : ndarray of shape (n_atoms, height, width)
        Window arrays, updated in place.
    DtD : ndarray of shape (n_atoms, n_atoms, 2 h - 1, 2 w - 1)
    reg, inv_norms : ndarray of shape (n_atoms,)
        Regularisation and ``1 / ||D_k||^2`` (0 for a null atom).
    positive : bool
    tol : float
        Updates of at most ``tol`` are not made.
    own, ext, core : ndarray of int64, shape (4,)
        Boxes (see the module docstring).
    seg_shape : ndarray of int64, shape (2,)
    seg_bits, seg_k, seg_h, seg_w : ndarray of int64, shape (n_segments,)
        Best candidate per segment, kept current.
    lock_mode : int
        0: no soft lock, 1: at borders, 2: only at corners.
    lock_eps : float
        Relative margin a ghost candidate needs to lock a coordinate.
    strategy_random : bool
        Update a random coordinate of each segment instead of its best.
    seed : int
        Seed of the random choices.
    max_passes : int
        Passes over the segments before returning; returns earlier once an
        update has been recorded in ``out``, when no segment has a candidate
        above ``tol``, or when a greedy pass made no update (all locked).
    out : ndarray of shape (n_rows, 4)
        Receives ``(k, h, w, dz)`` of the updates outside ``core``; must have
        at least ``max_passes * n_segments`` rows.
    buf : ndarray of float64, shape (>= max(width, 2 w - 1),)
        Scratch space.

    Returns
    -------
    n_updates, n_out, n_locked : int
        Updates made, recorded in ``out``, and refused by a soft lock.
    n_passes : int
    max_change : float
        Largest candidate change left in ``own`` (locked ones included).
    """
    a_h = (DtD.shape[2] + 1) // 2
    a_w = (DtD.shape[3] + 1) // 2
    n_atoms = beta.shape[0]
    sh, sw = seg_shape[0], seg_shape[1]
    n_seg_w = (own[3] - own[2] + sw - 1) // sw
    n_seg = seg_bits.shape[0]
    tol_bits = np.array([max(tol, 0.)], dtype=np.float64).view(np.int64)[0]
    if strategy_random:
        np.random.seed(seed)
    n_updates = n_out = n_locked = n_passes = 0
    for _ in range(max_passes):
        n_passes += 1
        n_pass_updates = 0
        for s in range(n_seg):
            if seg_bits[s] <= tol_bits:
                continue
            if strategy_random:
                s_h0 = own[0] + (s // n_seg_w) * sh
                s_w0 = own[2] + (s % n_seg_w) * sw
                k0 = np.random.randint(n_atoms)
                h0 = s_h0 + np.random.randint(min(sh, own[1] - s_h0))
                w0 = s_w0 + np.random.randint(min(sw, own[3] - s_w0))
            else:
                k0, h0, w0 = seg_k[s], seg_h[s], seg_w[s]
            dz = candidate(beta[k0, h0, w0], z[k0, h0, w0], reg[k0], inv_norms[k0],
                           positive)
            if abs(dz) <= tol:
                continue
            if lock_mode != LOCK_NONE:
                ghost = _ghost_max(beta, z, reg, inv_norms, positive, h0, w0, a_h,
                                   a_w, own, ext, lock_mode, buf)
                if ghost > 0 and _as_float(ghost) > abs(dz) * (1. + lock_eps):
                    n_locked += 1
                    continue
            apply_update(beta, z, DtD, reg, inv_norms, positive, k0, h0, w0, dz,
                         own, ext, seg_shape, seg_bits, seg_k, seg_h, seg_w, buf)
            n_updates += 1
            n_pass_updates += 1
            if not (core[0] <= h0 < core[1] and core[2] <= w0 < core[3]):
                out[n_out, 0] = k0
                out[n_out, 1] = h0
                out[n_out, 2] = w0
                out[n_out, 3] = dz
                n_out += 1
        m = 0
        for s in range(n_seg):
            m = max(m, seg_bits[s])
        if n_out > 0 or m <= tol_bits or (n_pass_updates == 0
                                          and not strategy_random):
            break
    m = 0
    for s in range(n_seg):
        m = max(m, seg_bits[s])
    return n_updates, n_out, n_locked, n_passes, _as_float(m)


@jit
def apply_updates(beta, z, DtD, reg, inv_norms, positive, updates, own, ext,
                  seg_shape, seg_bits, seg_k, seg_h, seg_w, buf):  # pragma: no cover
    """Apply updates ``(k, h, w, dz)`` (rows of ``updates``, window coordinates)."""
    for i in range(updates.shape[0]):
        apply_update(beta, z, DtD, reg, inv_norms, positive, int(updates[i, 0]),
                     int(updates[i, 1]), int(updates[i, 2]), updates[i, 3], own,
                     ext, seg_shape, seg_bits, seg_k, seg_h, seg_w, buf)
