"""LGCD on one DICOD worker's piece of the activations, with soft locks.

Layout: position-major. The worker's window is a grid of positions (height,
width) (a 1-D signal is a grid of height 1) and the atoms of one position are
contiguous: ``z`` and ``g`` are flat arrays indexed by ``(h * width + w) *
n_atoms + k``, so the row of a box is one contiguous block and every update
or scan is one vectorised loop. ``g = (beta - reg_k) / ||D_k||^2`` is the new
value of a coordinate when positive (``beta`` is the correlation of atom k with
the residual, the coordinate's own contribution excluded); ``shift`` holds
``2 reg_k / ||D_k||^2`` tiled over positions, for the negative side. ``DtD_t``
has shape (n_atoms, 2 h - 1, (2 w - 1) * n_atoms) with
``DtD_t[k0, dh, dw * n_atoms + l] = DtD[l, k0, dh, dw] / ||D_l||^2``: the
change of ``g`` per unit change of ``z[k0]``.

Three boxes ``[h0, h1, w0, w1]`` (window coordinates) describe the geometry:
``own`` (the coordinates this worker updates, cut into LGCD segments whose
best candidate is kept current: ``seg_bits`` holds its size as the int32 bits
of a float32, which order like the sizes, ``seg_idx`` its flat index),
``ext`` (where ``g`` is kept exact: own plus the ghost ring read by the soft
locks) and ``core`` (updates outside it are recorded in ``out`` for the
neighbours).

Soft locks: an update that would change a neighbour's ``g`` is made only if
its size beats every ghost candidate it interferes with by the relative margin
``lock_eps`` (larger than float32 rounding, so that two workers' copies of the
same values can never lock each other).
"""
import numpy as np

from . import jit
from .lgcd import _fill_changes as _fill
from .lgcd import _max_bits, _update_and_fill

_FLAGS = {"nnan", "ninf", "nsz"}  # finite inputs: lets the loops vectorise
_CHUNK = 64
# The helpers run several times per coordinate update and take many arrays:
# as separate compiled calls (arguments unpacked, references counted) they
# made a sweep ~30% slower than the sequential LGCD kernel on the same
# updates. Inlined into their callers (Numba IR), ~5%.
_INLINE = "always"
LOCK_NONE, LOCK_BORDER, LOCK_CORNER = 0, 1, 2


@jit(fastmath=_FLAGS)
def _update_fill(g, row, dz, z, shift, positive, fill, out):  # pragma: no cover
    """``g -= dz * row`` and, if ``fill``, the candidate sizes in ``out``."""
    if fill:
        _update_and_fill(g, row, dz, z, shift, positive, out)
    else:
        for i in range(g.shape[0]):
            g[i] -= dz * row[i]


@jit(inline=_INLINE)
def _fold(bits, n, start, best):  # pragma: no cover
    """Fold ``n`` filled sizes (flat index ``start + i``) into ``best = [bits, idx]``.

    The maximum is taken per chunk (vectorised); only the winning chunk is
    searched for its position.
    """
    m = best[0]
    chunk = -1
    for c in range((n + _CHUNK - 1) // _CHUNK):
        mc = _max_bits(bits[c * _CHUNK:], min(_CHUNK, n - c * _CHUNK))
        if mc > m:
            m = mc
            chunk = c
    if chunk >= 0:
        for i in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            if bits[i] == m:
                best[0] = m
                best[1] = start + i
                return


@jit(inline=_INLINE)
def _scan_rect(g, z, shift, positive, width, n_atoms, h0, h1, w0, w1, buf, bits,
               best):  # pragma: no cover
    """Fold the candidates of the box [h0, h1) x [w0, w1) into ``best``."""
    n = (w1 - w0) * n_atoms
    if n <= 0:
        return
    for h in range(h0, h1):
        a = (h * width + w0) * n_atoms
        _fill(g[a:a + n], z[a:a + n], shift[:n], positive, buf)
        _fold(bits, n, a, best)


@jit(inline=_INLINE)
def _update_rect(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, r_h0, r_h1,
                 r_w0, r_w1, fill, buf, bits, best):  # pragma: no cover
    """Apply the update (k0, h0, w0, dz) to ``g`` on a box; fold if ``fill``."""
    n_atoms = DtD_t.shape[0]
    n = (r_w1 - r_w0) * n_atoms
    if n <= 0:
        return
    a_h = (DtD_t.shape[1] + 1) // 2
    a_w = (DtD_t.shape[2] // n_atoms + 1) // 2
    c = (r_w0 - w0 + a_w - 1) * n_atoms
    for h in range(r_h0, r_h1):
        a = (h * width + r_w0) * n_atoms
        _update_fill(g[a:a + n], DtD_t[k0, h - h0 + a_h - 1, c:c + n], dz,
                     z[a:a + n], shift[:n], positive, fill, buf)
        if fill:
            _fold(bits, n, a, best)


@jit
def apply_update(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, own, ext,
                 seg_shape, seg_bits, seg_idx, buf):  # pragma: no cover
    """Change ``z`` at (k0, h0, w0) by ``dz``; keep ``g`` and the segments current.

    ``(h0, w0)`` may lie outside ``own`` (an update received from a
    neighbour); ``g`` is changed only inside ``ext``.
    """
    _apply_update(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, own, ext,
                  seg_shape, seg_bits, seg_idx, buf, np.zeros(2, dtype=np.int64))


@jit(inline=_INLINE)
def _apply_update(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, own, ext,
                  seg_shape, seg_bits, seg_idx, buf, best):  # pragma: no cover
    """:func:`apply_update` with the caller's scratch ``best`` (2 int64), so
    that the sweeps allocate nothing per update."""
    bits = buf.view(np.int32)
    n_atoms = DtD_t.shape[0]
    a_h = (DtD_t.shape[1] + 1) // 2
    a_w = (DtD_t.shape[2] // n_atoms + 1) // 2
    i0 = (h0 * width + w0) * n_atoms + k0
    z[i0] += dz
    if ext[0] <= h0 < ext[1] and ext[2] <= w0 < ext[3]:
        # g excludes each coordinate's own contribution: the window update
        # below takes it back out.
        g[i0] += dz
    wh0, wh1 = max(h0 - a_h + 1, ext[0]), min(h0 + a_h, ext[1])
    ww0, ww1 = max(w0 - a_w + 1, ext[2]), min(w0 + a_w, ext[3])
    if wh0 >= wh1 or ww0 >= ww1:
        return
    ch0, ch1 = max(wh0, own[0]), min(wh1, own[1])
    cw0, cw1 = max(ww0, own[2]), min(ww1, own[3])
    if ch0 >= ch1 or cw0 >= cw1:
        _update_rect(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, wh0, wh1,
                     ww0, ww1, False, buf, bits, best)
        return
    sh, sw = seg_shape[0], seg_shape[1]
    n_seg_w = (own[3] - own[2] + sw - 1) // sw
    for si in range((ch0 - own[0]) // sh, (ch1 - 1 - own[0]) // sh + 1):
        s_h0 = own[0] + si * sh
        s_h1 = min(s_h0 + sh, own[1])
        o_h0, o_h1 = max(s_h0, ch0), min(s_h1, ch1)
        for sj in range((cw0 - own[2]) // sw, (cw1 - 1 - own[2]) // sw + 1):
            s = si * n_seg_w + sj
            s_w0 = own[2] + sj * sw
            s_w1 = min(s_w0 + sw, own[3])
            o_w0, o_w1 = max(s_w0, cw0), min(s_w1, cw1)
            p = seg_idx[s] // n_atoms
            bh, bw = p // width, p % width
            if o_h0 <= bh < o_h1 and o_w0 <= bw < o_w1:
                # The old best is in the window: rescan the rest.
                best[0], best[1] = 0, (s_h0 * width + s_w0) * n_atoms
                _scan_rect(g, z, shift, positive, width, n_atoms, s_h0, o_h0, s_w0,
                           s_w1, buf, bits, best)
                _scan_rect(g, z, shift, positive, width, n_atoms, o_h1, s_h1, s_w0,
                           s_w1, buf, bits, best)
                _scan_rect(g, z, shift, positive, width, n_atoms, o_h0, o_h1, s_w0,
                           o_w0, buf, bits, best)
                _scan_rect(g, z, shift, positive, width, n_atoms, o_h0, o_h1, o_w1,
                           s_w1, buf, bits, best)
            else:
                best[0], best[1] = seg_bits[s], seg_idx[s]
            _update_rect(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, o_h0,
                         o_h1, o_w0, o_w1, True, buf, bits, best)
            seg_bits[s], seg_idx[s] = best[0], best[1]
    # The ghost part of the window: g only.
    for r in ((wh0, ch0, ww0, ww1), (ch1, wh1, ww0, ww1), (ch0, ch1, ww0, cw0),
              (ch0, ch1, cw1, ww1)):
        _update_rect(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, r[0],
                     r[1], r[2], r[3], False, buf, bits, best)


@jit
def init_segments(g, z, shift, positive, width, n_atoms, own, seg_shape, seg_bits,
                  seg_idx, buf):  # pragma: no cover
    """Best candidate of every segment of ``own``, by a full scan."""
    bits = buf.view(np.int32)
    sh, sw = seg_shape[0], seg_shape[1]
    n_seg_w = (own[3] - own[2] + sw - 1) // sw
    best = np.zeros(2, dtype=np.int64)
    for s in range(seg_bits.shape[0]):
        h0 = own[0] + (s // n_seg_w) * sh
        w0 = own[2] + (s % n_seg_w) * sw
        best[0], best[1] = 0, (h0 * width + w0) * n_atoms
        _scan_rect(g, z, shift, positive, width, n_atoms, h0, min(h0 + sh, own[1]),
                   w0, min(w0 + sw, own[3]), buf, bits, best)
        seg_bits[s], seg_idx[s] = best[0], best[1]


@jit
def _ghost_max(g, z, shift, positive, width, n_atoms, a_h, a_w, h0, w0, own, ext,
               lock_mode, buf, best):  # pragma: no cover
    """Largest ghost candidate (float32 bits) an update at (h0, w0) interferes with."""
    wh0, wh1 = max(h0 - a_h + 1, ext[0]), min(h0 + a_h, ext[1])
    ww0, ww1 = max(w0 - a_w + 1, ext[2]), min(w0 + a_w, ext[3])
    spill_h = wh0 < own[0] or wh1 > own[1]
    spill_w = ww0 < own[2] or ww1 > own[3]
    if not (spill_h or spill_w):
        return 0
    if lock_mode == LOCK_CORNER and not (spill_h and spill_w):
        return 0
    bits = buf.view(np.int32)
    best[0], best[1] = 0, 0
    ch0, ch1 = max(wh0, own[0]), min(wh1, own[1])
    _scan_rect(g, z, shift, positive, width, n_atoms, wh0, ch0, ww0, ww1, buf, bits,
               best)
    _scan_rect(g, z, shift, positive, width, n_atoms, ch1, wh1, ww0, ww1, buf, bits,
               best)
    _scan_rect(g, z, shift, positive, width, n_atoms, ch0, ch1, ww0,
               min(own[2], ww1), buf, bits, best)
    _scan_rect(g, z, shift, positive, width, n_atoms, ch0, ch1, max(own[3], ww0),
               ww1, buf, bits, best)
    return best[0]


@jit
def _bits32(x, scratch):  # pragma: no cover
    """int32 bits of ``float32(x)``, through a 1-element float32 ``scratch``
    (no allocation: this runs once per coordinate update)."""
    scratch[0] = x
    return scratch.view(np.int32)[0]


@jit
def sweep(g, z, DtD_t, shift, positive, width, tol, own, ext, core, seg_shape,
          seg_bits, seg_idx, lock_mode, lock_eps, strategy_random, seed, max_passes,
          out, buf):  # pragma: no cover
    """Visit every segment of ``own`` once per pass and update its coordinate.

    Parameters
    ----------
    g, z : ndarray of shape (height * width * n_atoms,)
        Window arrays (see the module docstring), updated in place.
    DtD_t : ndarray of shape (n_atoms, 2 h - 1, (2 w - 1) * n_atoms)
    shift : ndarray of shape (>= max row block,)
    positive : bool
    width : int
        Width of the window.
    tol : float
        Updates of at most ``tol`` are not made.
    own, ext, core : ndarray of int64, shape (4,)
    seg_shape : ndarray of int64, shape (2,)
    seg_bits : ndarray of int64, shape (n_segments,)
    seg_idx : ndarray of int64, shape (n_segments,)
        Best candidate per segment, kept current.
    lock_mode : int
        0: no soft lock, 1: at borders, 2: only at corners.
    lock_eps : float
        Relative margin a ghost candidate needs to lock a coordinate.
    strategy_random : bool
        Update a random coordinate of each segment instead of its best.
    seed : int
    max_passes : int
        Passes before returning; returns earlier once an update was recorded
        in ``out``, when no candidate is above ``tol``, or after a pass without
        update that soft locks blocked (or any pass without update, greedy).
    out : ndarray of shape (>= max_passes * n_segments, 4)
        Receives ``(k, h, w, dz)`` of the updates outside ``core``.
    buf : ndarray of float32
        Scratch space, at least the longest row block.

    Returns
    -------
    n_updates, n_out, n_locked, n_passes : int
    max_change : float
        Largest candidate change left in ``own`` (locked ones included).
    """
    n_atoms = DtD_t.shape[0]
    a_h = (DtD_t.shape[1] + 1) // 2
    a_w = (DtD_t.shape[2] // n_atoms + 1) // 2
    sh, sw = seg_shape[0], seg_shape[1]
    n_seg_w = (own[3] - own[2] + sw - 1) // sw
    n_seg = seg_bits.shape[0]
    best = np.zeros(2, dtype=np.int64)
    scratch = np.zeros(1, dtype=np.float32)
    tol_bits = _bits32(max(tol, 0.), scratch)
    if strategy_random:
        np.random.seed(seed)
    n_updates = n_out = n_locked = n_passes = 0
    for _ in range(max_passes):
        n_passes += 1
        n_pass_updates = n_pass_locked = 0
        for s in range(n_seg):
            if seg_bits[s] <= tol_bits:
                continue
            if strategy_random:
                s_h0 = own[0] + (s // n_seg_w) * sh
                s_w0 = own[2] + (s % n_seg_w) * sw
                h0 = s_h0 + np.random.randint(min(sh, own[1] - s_h0))
                w0 = s_w0 + np.random.randint(min(sw, own[3] - s_w0))
                k0 = np.random.randint(n_atoms)
                i0 = (h0 * width + w0) * n_atoms + k0
            else:
                i0 = seg_idx[s]
                k0 = i0 % n_atoms
                p = i0 // n_atoms
                h0, w0 = p // width, p % width
            x = g[i0]
            new = max(x, 0.)
            if not positive:
                new += min(x + shift[k0], 0.)
            dz = new - z[i0]
            size = _bits32(abs(dz), scratch)
            if size <= tol_bits:
                continue
            if lock_mode != LOCK_NONE:
                ghost = _ghost_max(g, z, shift, positive, width, n_atoms, a_h, a_w,
                                   h0, w0, own, ext, lock_mode, buf, best)
                if ghost > 0 and ghost > _bits32(abs(dz) * (1. + lock_eps), scratch):
                    n_locked += 1
                    n_pass_locked += 1
                    continue
            _apply_update(g, z, DtD_t, shift, positive, width, k0, h0, w0, dz, own,
                          ext, seg_shape, seg_bits, seg_idx, buf, best)
            n_updates += 1
            n_pass_updates += 1
            if not (core[0] <= h0 < core[1] and core[2] <= w0 < core[3]):
                out[n_out, 0] = k0
                out[n_out, 1] = h0
                out[n_out, 2] = w0
                out[n_out, 3] = dz
                n_out += 1
        m = _max_bits(seg_bits, n_seg)
        if n_out > 0 or m <= tol_bits or (n_pass_updates == 0 and (
                n_pass_locked > 0 or not strategy_random)):
            break
    m = _max_bits(seg_bits, n_seg)
    return (n_updates, n_out, n_locked, n_passes,
            float(np.array([m], dtype=np.int32).view(np.float32)[0]))


@jit
def apply_updates(g, z, DtD_t, shift, positive, width, updates, own, ext, seg_shape,
                  seg_bits, seg_idx, buf):  # pragma: no cover
    """Apply updates ``(k, h, w, dz)`` (rows of ``updates``, window coordinates)."""
    best = np.zeros(2, dtype=np.int64)
    for i in range(updates.shape[0]):
        _apply_update(g, z, DtD_t, shift, positive, width, int(updates[i, 0]),
                      int(updates[i, 1]), int(updates[i, 2]), updates[i, 3], own,
                      ext, seg_shape, seg_bits, seg_idx, buf, best)


@jit
def transpose_dtd(DtD, inv_norms):  # pragma: no cover
    """``DtD_t`` (see the module docstring) from DtD (n_atoms, n_atoms, 2h-1, 2w-1)."""
    n_atoms, _, d_h, d_w = DtD.shape
    out = np.empty((n_atoms, d_h, d_w * n_atoms))
    for k0 in range(n_atoms):
        for dh in range(d_h):
            for dw in range(d_w):
                for m in range(n_atoms):
                    out[k0, dh, dw * n_atoms + m] = DtD[m, k0, dh, dw] * inv_norms[m]
    return out
