"""Locally greedy coordinate descent (LGCD) for convolutional sparse coding.

The z-step of one trial is solved entirely in compiled code. The activations
are cut into segments; in each visit of a segment the coordinate with the
largest possible change is updated, and ``beta`` (the correlation of each atom
with the residual, own contribution excluded) is updated on the 2 L - 1 samples
that the update touches. The best candidate of every segment is kept current
during that update, so a segment is never rescanned as a whole: only the part
of it that the update window does not cover, and only when its previous best
candidate lay inside the window. Segments whose best change is below ``tol``
cost nothing. ``gcd`` is the same loop with a single segment.
"""
import numpy as np

from . import jit


@jit
def candidate(b, z_kt, reg_k, inv_norm_k, positive):  # pragma: no cover
    """Change of one coordinate that minimises the objective along it."""
    if positive:
        new = max(b - reg_k, 0.) * inv_norm_k
    elif b > reg_k:
        new = (b - reg_k) * inv_norm_k
    elif b < -reg_k:
        new = (b + reg_k) * inv_norm_k
    else:
        new = 0.
    return new - z_kt


@jit
def soft_threshold(x, threshold, positive):  # pragma: no cover
    """Soft-thresholding of each row of ``x`` by its own threshold.

    Parameters
    ----------
    x : ndarray of shape (n_atoms, n_times_valid)
    threshold : ndarray of shape (n_atoms,)
    positive : bool
        One-sided thresholding (negative values go to zero).

    Returns
    -------
    out : ndarray of shape (n_atoms, n_times_valid)
    """
    out = np.zeros_like(x)
    for k in range(x.shape[0]):
        th = threshold[k]
        for t in range(x.shape[1]):
            a = x[k, t]
            if a > th:
                out[k, t] = a - th
            elif a < -th and not positive:
                out[k, t] = a + th
    return out


_FLAGS = {"nnan", "ninf", "nsz"}  # finite inputs: lets the loops vectorise


@jit(fastmath=_FLAGS)
def _fill_changes(beta_k, z_k, reg_k, inv_k, positive, t_start, t_stop,
                  out):  # pragma: no cover
    """``out[t - t_start] = |candidate change|`` of one atom on [t_start, t_stop)."""
    b = beta_k[t_start:t_stop]
    zz = z_k[t_start:t_stop]
    if positive:
        for i in range(t_stop - t_start):
            out[i] = abs(max(b[i] - reg_k, 0.) * inv_k - zz[i])
    else:
        for i in range(t_stop - t_start):
            x = max(b[i] - reg_k, 0.) + min(b[i] + reg_k, 0.)
            out[i] = abs(x * inv_k - zz[i])


@jit(fastmath=_FLAGS)
def _update_and_fill(beta_k, DtD_row, dz, offset, z_k, reg_k, inv_k, positive,
                     t_start, t_stop, out):  # pragma: no cover
    """Subtract ``dz`` times a DtD row from beta and fill the candidate changes."""
    b = beta_k[t_start:t_stop]
    row = DtD_row[t_start + offset:t_stop + offset]
    zz = z_k[t_start:t_stop]
    if positive:
        for i in range(t_stop - t_start):
            x = b[i] - dz * row[i]
            b[i] = x
            out[i] = abs(max(x - reg_k, 0.) * inv_k - zz[i])
    else:
        for i in range(t_stop - t_start):
            x = b[i] - dz * row[i]
            b[i] = x
            y = max(x - reg_k, 0.) + min(x + reg_k, 0.)
            out[i] = abs(y * inv_k - zz[i])


@jit
def _max_bits(bits, n):  # pragma: no cover
    """Maximum of ``n`` non-negative doubles seen as int64 (same order).

    Integer maximum reductions vectorise where floating-point ones do not.
    """
    m = 0
    for i in range(n):
        m = max(m, bits[i])
    return m


@jit
def _fold_best(bits, n, k, t_start, best_bits, best_k, best_t):  # pragma: no cover
    """Fold one filled row of atom ``k`` into the running best."""
    m = _max_bits(bits, n)
    if m > best_bits:
        for i in range(n):
            if bits[i] == m:
                return m, k, t_start + i
    return best_bits, best_k, best_t


@jit
def _zero_frozen(frozen_k, t_start, t_stop, buf):  # pragma: no cover
    for t in range(t_start, t_stop):
        if frozen_k[t]:
            buf[t - t_start] = 0.


@jit
def _scan(beta, z, reg, inv_norms, positive, frozen, t_start, t_stop, buf, bits,
          best_bits, best_k, best_t):  # pragma: no cover
    """Best candidate over ``t`` in [t_start, t_stop), starting from a given best."""
    n = t_stop - t_start
    if n <= 0:
        return best_bits, best_k, best_t
    for k in range(beta.shape[0]):
        _fill_changes(beta[k], z[k], reg[k], inv_norms[k], positive, t_start,
                      t_stop, buf)
        if frozen.shape[0] > 0:
            _zero_frozen(frozen[k], t_start, t_stop, buf)
        best_bits, best_k, best_t = _fold_best(bits, n, k, t_start, best_bits,
                                               best_k, best_t)
    return best_bits, best_k, best_t


@jit
def _update_window(beta, z, DtD, reg, inv_norms, positive, frozen, k0, dz, offset,
                   t_start, t_stop, buf, bits, best_bits, best_k,
                   best_t):  # pragma: no cover
    """Apply an update to beta on [t_start, t_stop) and fold in its candidates."""
    n = t_stop - t_start
    for k in range(beta.shape[0]):
        _update_and_fill(beta[k], DtD[k, k0], dz, offset, z[k], reg[k],
                         inv_norms[k], positive, t_start, t_stop, buf)
        if frozen.shape[0] > 0:
            _zero_frozen(frozen[k], t_start, t_stop, buf)
        best_bits, best_k, best_t = _fold_best(bits, n, k, t_start, best_bits,
                                               best_k, best_t)
    return best_bits, best_k, best_t


@jit
def lgcd(beta, z, DtD, reg, tol, max_sweeps, seg_len, positive,
         frozen):  # pragma: no cover
    """Run LGCD on one trial, updating ``z`` and ``beta`` in place.

    Parameters
    ----------
    beta : ndarray of shape (n_atoms, n_times_valid)
        ``(D_k corr residual)(t) + z[k, t] * ||D_k||^2``, kept current.
    z : ndarray of shape (n_atoms, n_times_valid)
        Activations, updated in place.
    DtD : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
        Atom cross-correlations (see ``stats.compute_DtD_full_rank``).
    reg : ndarray of shape (n_atoms,)
        Regularisation per atom.
    tol : float
        Stop when no coordinate would change by more than ``tol``.
    max_sweeps : int
        Maximum number of passes over all segments.
    seg_len : int
        Segment length; ``n_times_valid`` gives greedy coordinate descent.
    positive : bool
        Constrain activations to be non-negative.
    frozen : ndarray of bool, shape (n_atoms, n_times_valid) or (0, 0)
        Coordinates that must not change (empty: none).

    Returns
    -------
    n_sweeps : int
        Passes done.
    n_updates : int
        Coordinate updates done.
    max_change : float
        Largest remaining candidate change (below ``tol`` on convergence).
    """
    n_atoms, n_times_valid = z.shape
    n_times_atom = (DtD.shape[2] + 1) // 2
    n_seg = (n_times_valid + seg_len - 1) // seg_len
    inv_norms = np.zeros(n_atoms, dtype=beta.dtype)
    for k in range(n_atoms):
        norm_k = DtD[k, k, n_times_atom - 1]
        if norm_k > 0:
            inv_norms[k] = 1. / norm_k
    buf = np.zeros(n_atoms * max(seg_len, 2 * n_times_atom), dtype=np.float64)
    bits = buf.view(np.int64)
    # Per segment: best candidate change (as int64 bits of a double) and where.
    best_bits = np.zeros(n_seg, dtype=np.int64)
    best_k = np.zeros(n_seg, dtype=np.int64)
    best_t = np.zeros(n_seg, dtype=np.int64)
    for s in range(n_seg):
        best_bits[s], best_k[s], best_t[s] = _scan(
            beta, z, reg, inv_norms, positive, frozen, s * seg_len,
            min((s + 1) * seg_len, n_times_valid), buf, bits, 0, 0, s * seg_len)
    tol_bits = np.array([max(tol, 0.)], dtype=np.float64).view(np.int64)[0]

    n_updates = 0
    n_sweeps = 0
    for _ in range(max_sweeps):
        n_sweeps += 1
        for s in range(n_seg):
            if best_bits[s] <= tol_bits:
                continue
            k0 = best_k[s]
            t0 = best_t[s]
            dz = candidate(beta[k0, t0], z[k0, t0], reg[k0], inv_norms[k0],
                           positive)
            z[k0, t0] += dz
            n_updates += 1
            # beta of the updated coordinate excludes its own contribution:
            # add it here so that the window update below leaves it unchanged.
            beta[k0, t0] += dz * DtD[k0, k0, n_times_atom - 1]
            w_start = max(t0 - n_times_atom + 1, 0)
            w_stop = min(t0 + n_times_atom, n_times_valid)
            offset = n_times_atom - 1 - t0
            for s2 in range(w_start // seg_len, (w_stop - 1) // seg_len + 1):
                a = s2 * seg_len
                b = min(a + seg_len, n_times_valid)
                o_start = max(a, w_start)
                o_stop = min(b, w_stop)
                # Start from the best of the part of the segment the window
                # leaves untouched: the old best if it lies there, else a scan.
                if best_t[s2] >= o_start and best_t[s2] < o_stop:
                    bb, bk, bt = _scan(beta, z, reg, inv_norms, positive, frozen,
                                       a, o_start, buf, bits, 0, 0, a)
                    bb, bk, bt = _scan(beta, z, reg, inv_norms, positive, frozen,
                                       o_stop, b, buf, bits, bb, bk, bt)
                else:
                    bb, bk, bt = best_bits[s2], best_k[s2], best_t[s2]
                bb, bk, bt = _update_window(beta, z, DtD, reg, inv_norms, positive,
                                            frozen, k0, dz, offset, o_start,
                                            o_stop, buf, bits, bb, bk, bt)
                best_bits[s2] = bb
                best_k[s2] = bk
                best_t[s2] = bt
        if _max_bits(best_bits, n_seg) <= tol_bits:
            break
    max_change = np.array([_max_bits(best_bits, n_seg)]).view(np.float64)[0]
    return n_sweeps, n_updates, max_change
