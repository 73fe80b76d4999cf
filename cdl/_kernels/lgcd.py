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

Inside the kernel the arrays are time-major (all atoms of a time window form
one contiguous block) and hold ``g = (beta - reg) / ||D_k||^2``, the value a
coordinate takes when updated; so each update and each scan is one loop that
vectorises, reading two arrays.
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
def _fill_changes(g, z, shift, positive, out):  # pragma: no cover
    """``out[i] = |candidate change|`` of flat, time-major coordinates.

    ``g = (beta - reg) / ||D_k||^2`` is the new value of a coordinate when it
    is positive; ``shift = 2 reg / ||D_k||^2`` (tiled) gives the negative side.
    """
    if positive:
        for i in range(g.shape[0]):
            out[i] = abs(max(g[i], 0.) - z[i])
    else:
        for i in range(g.shape[0]):
            x = g[i]
            out[i] = abs(max(x, 0.) + min(x + shift[i], 0.) - z[i])


@jit(fastmath=_FLAGS)
def _update_and_fill(g, DtD_block, dz, z, shift, positive, out):  # pragma: no cover
    """Subtract ``dz * DtD_block`` from g and fill the candidate changes."""
    if positive:
        for i in range(g.shape[0]):
            x = g[i] - dz * DtD_block[i]
            g[i] = x
            out[i] = abs(max(x, 0.) - z[i])
    else:
        for i in range(g.shape[0]):
            x = g[i] - dz * DtD_block[i]
            g[i] = x
            out[i] = abs(max(x, 0.) + min(x + shift[i], 0.) - z[i])


@jit
def _max_bits(bits, n):  # pragma: no cover
    """Maximum of ``n >= 1`` non-negative floats seen as integers (same order).

    Integer maximum reductions vectorise where floating-point ones do not.
    """
    m = bits[0]
    for i in range(1, n):
        m = max(m, bits[i])
    return m


_CHUNK = 64


@jit
def _fold_best(bits, n, start, best_bits, best_i):  # pragma: no cover
    """Fold ``n`` filled candidates (flat index ``start + i``) into a best.

    The maximum is taken per chunk of _CHUNK (vectorised), so that the scalar
    search for its position only runs through one chunk.
    """
    m = best_bits
    chunk = -1
    for c in range((n + _CHUNK - 1) // _CHUNK):
        c_start = c * _CHUNK
        mc = _max_bits(bits[c_start:], min(_CHUNK, n - c_start))
        if mc > m:
            m = mc
            chunk = c
    if chunk < 0:
        return best_bits, best_i
    for i in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
        if bits[i] == m:
            return m, start + i
    return best_bits, best_i


@jit
def _scan(g, z, shift, positive, frozen, start, stop, buf, bits, best_bits,
          best_i):  # pragma: no cover
    """Best candidate among flat coordinates [start, stop), from a given best."""
    n = stop - start
    if n <= 0:
        return best_bits, best_i
    _fill_changes(g[start:stop], z[start:stop], shift[:n], positive, buf)
    if frozen.shape[0] > 0:
        for i in range(n):
            if frozen[start + i]:
                buf[i] = 0.
    return _fold_best(bits, n, start, best_bits, best_i)


def lgcd_init(beta, z, DtD, reg, seg_len, positive, frozen, from_signal=False):
    """Build the state of LGCD for one trial (see :func:`lgcd`).

    With ``from_signal``, ``beta`` is the correlation of the atoms with the
    signal (``D_k corr X``) instead of its definition in :func:`lgcd`; the
    contributions of the non-zero activations of ``z`` are then subtracted
    here, as LGCD updates (``nnz * n_atoms * (2 n_times_atom - 1)``
    operations: no reconstruction and correlation of a residual).

    Work time-major, so that the atoms of a time window are one contiguous
    block and each update or scan is a single vectorised loop, and on
    ``g = (beta - reg) / ||D_k||^2``, the new value of a coordinate (when > 0).
    The state carries the best candidate of every segment, so that runs of a
    few sweeps each give exactly the result of one long run. The arrays
    (scratch included) are allocated here, in Python, and filled by compiled
    code: a compiled function that returns arrays turns a Ctrl-C received
    while it runs into a SystemError, and allocations and dtype views in
    compiled code each compile an implementation of their own.

    Returns
    -------
    state : tuple
        ``(g, z_t, frozen_t, DtD_t, shift, best_bits, best_i, seg_len,
        positive, buf, bits)``, to pass to :func:`lgcd_run` and
        :func:`lgcd_result`.
    """
    n_atoms, n_times_valid = z.shape
    n_times_atom = (DtD.shape[2] + 1) // 2
    n_seg = (n_times_valid + seg_len - 1) // seg_len
    block = max(seg_len, 2 * n_times_atom)
    # Candidate changes are only compared: float32 halves the memory traffic;
    # their int32 bits order like them and reduce faster.
    buf = np.zeros(block * n_atoms, dtype=np.float32)
    state = (np.empty(n_times_valid * n_atoms, dtype=beta.dtype),
             np.ascontiguousarray(z.T).ravel(),
             np.ascontiguousarray(frozen.T).ravel(),
             np.empty((n_atoms, (2 * n_times_atom - 1) * n_atoms), dtype=beta.dtype),
             np.empty(block * n_atoms, dtype=beta.dtype),
             np.zeros(n_seg, dtype=np.int32),
             np.zeros(n_seg, dtype=np.int64),
             int(seg_len), bool(positive), buf, buf.view(np.int32))
    norms = np.diagonal(DtD[:, :, n_times_atom - 1])
    inv_norms = np.zeros(n_atoms, dtype=beta.dtype)
    np.divide(1., norms, out=inv_norms, where=norms > 0)
    _fill_state(beta, DtD, reg, inv_norms, state, bool(from_signal))
    return state


@jit
def _fill_state(beta, DtD, reg, inv_norms, state, from_signal):  # pragma: no cover
    g, z_t, frozen_t, DtD_t, shift, best_bits, best_i, seg_len, positive, buf, \
        bits = state
    K, n_times_valid = beta.shape
    n_times_atom = (DtD.shape[2] + 1) // 2
    for t in range(n_times_valid):
        for k in range(K):
            g[t * K + k] = (beta[k, t] - reg[k]) * inv_norms[k]
    # DtD_t[k0, d * K + l] = DtD[l, k0, d] / ||D_l||^2: an update's effect on g.
    for k0 in range(K):
        for d in range(2 * n_times_atom - 1):
            for l in range(K):
                DtD_t[k0, d * K + l] = DtD[l, k0, d] * inv_norms[l]
    if from_signal:
        # beta = D corr X: take out each activation's contribution, as the
        # update that set it would have (the window update of _run).
        for i0 in range(z_t.shape[0]):
            dz = z_t[i0]
            if dz == 0:
                continue
            t0 = i0 // K
            k0 = i0 - t0 * K
            if inv_norms[k0] > 0:
                g[i0] += dz
            lo = max(t0 - n_times_atom + 1, 0) * K
            hi = min(t0 + n_times_atom, n_times_valid) * K
            offset = (n_times_atom - 1 - t0) * K
            for i in range(lo, hi):
                g[i] -= dz * DtD_t[k0, i + offset]
    for i in range(shift.shape[0] // K):
        for k in range(K):
            shift[i * K + k] = 2 * reg[k] * inv_norms[k]
    # Per segment: best candidate change (int32 bits of a float32) and where.
    zero = np.int64(0)  # typed: a literal 0 would compile _scan a second time
    for s in range(best_bits.shape[0]):
        a = s * seg_len * K
        b = min((s + 1) * seg_len, n_times_valid) * K
        best_bits[s], best_i[s] = _scan(g, z_t, shift, positive, frozen_t, a, b,
                                        buf, bits, zero, a)


def lgcd_run(state, tol, max_sweeps, max_work=None):
    """Run up to ``max_sweeps`` passes of LGCD on a state from :func:`lgcd_init`.

    ``max_work`` (optional) also ends the run after the first pass at which
    about that many coordinates have been read or written (a converged segment
    counts 1, an update the ``n_atoms * (2 n_times_atom - 1)`` of its window
    and the segments it makes rescan):
    a bound on the duration of the call. Passes are never cut, so that runs
    of a few passes give exactly the result of one long run.

    Returns
    -------
    n_sweeps : int
        Passes done.
    n_updates : int
        Coordinate updates done.
    max_change : float
        Largest remaining candidate change (below ``tol`` on convergence).
    """
    tol_bits = np.float32(max(tol, 0.)).view(np.int32)
    if max_work is None:
        max_work = np.iinfo(np.int64).max
    n_sweeps, n_updates, max_bits = _run(state, tol_bits, max_sweeps, max_work)
    return n_sweeps, n_updates, float(np.int32(max_bits).view(np.float32))


@jit
def _run(state, tol_bits, max_sweeps, max_work):  # pragma: no cover
    """:func:`lgcd_run` with ``tol`` and the returned change as float32 bits."""
    g, z_t, frozen_t, DtD_t, shift, best_bits, best_i, seg_len, positive, buf, \
        bits = state
    n_seg = best_bits.shape[0]
    K = DtD_t.shape[0]
    n_times_atom = (DtD_t.shape[1] // K + 1) // 2
    n_times_valid = g.shape[0] // K
    zero = np.int64(0)  # typed: a literal 0 would compile _scan a second time
    n_updates = 0
    n_sweeps = 0
    work = 0
    update_work = K * (2 * n_times_atom - 1)
    while n_sweeps < max_sweeps and work < max_work \
            and _max_bits(best_bits, n_seg) > tol_bits:
        n_sweeps += 1
        work += n_seg
        for s in range(n_seg):
            if best_bits[s] <= tol_bits:
                continue
            i0 = best_i[s]
            t0 = i0 // K
            k0 = i0 - t0 * K
            x = g[i0]
            new = max(x, 0.)
            if not positive:
                new += min(x + shift[k0], 0.)
            dz = new - z_t[i0]
            z_t[i0] = new
            n_updates += 1
            work += update_work
            # g of the updated coordinate excludes its own contribution: add
            # it here so that the window update below leaves it unchanged.
            g[i0] += dz
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
                t_best = best_i[s2] // K
                if t_best >= o_start and t_best < o_stop:
                    work += (b - a) * K
                    bb, bi = _scan(g, z_t, shift, positive, frozen_t, a * K,
                                   o_start * K, buf, bits, zero, a * K)
                    bb, bi = _scan(g, z_t, shift, positive, frozen_t, o_stop * K,
                                   b * K, buf, bits, bb, bi)
                else:
                    bb, bi = best_bits[s2], best_i[s2]
                lo, hi = o_start * K, o_stop * K
                n = hi - lo
                _update_and_fill(g[lo:hi],
                                 DtD_t[k0, (o_start + offset) * K:
                                       (o_stop + offset) * K],
                                 dz, z_t[lo:hi], shift[:n], positive, buf)
                if frozen_t.shape[0] > 0:
                    for i in range(n):
                        if frozen_t[lo + i]:
                            buf[i] = 0.
                best_bits[s2], best_i[s2] = _fold_best(bits, n, lo, bb, bi)
    return n_sweeps, n_updates, _max_bits(best_bits, n_seg)


def lgcd_result(state, z):
    """Write the activations of an LGCD state into ``z`` (n_atoms, n_times_valid).

    A transposition: numpy does it as fast, with nothing to compile.
    """
    K, n_times_valid = z.shape
    z[:] = state[1].reshape(n_times_valid, K).T


@jit
def lgcd_beta(state, DtD, reg, beta):  # pragma: no cover
    """Write ``beta`` (n_atoms, n_times_valid) of an LGCD state (atoms of zero
    norm keep the values they had)."""
    g = state[0]
    K, n_times_valid = beta.shape
    n_times_atom = (DtD.shape[2] + 1) // 2
    for k in range(K):
        norm_k = DtD[k, k, n_times_atom - 1]
        if norm_k > 0:
            for t in range(n_times_valid):
                beta[k, t] = g[t * K + k] * norm_k + reg[k]


def lgcd(beta, z, DtD, reg, tol, max_sweeps, seg_len, positive, frozen):
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
    state = lgcd_init(beta, z, DtD, reg, seg_len, positive, frozen)
    result = lgcd_run(state, tol, max_sweeps)
    lgcd_result(state, z)
    lgcd_beta(state, DtD, reg, beta)
    return result


@jit
def lgcd_sums(state, DtX, out):  # pragma: no cover
    """One pass over an LGCD state for its objective and duality gap.

    Parameters
    ----------
    state : tuple
        From :func:`lgcd_init`.
    DtX : ndarray of shape (n_atoms, n_times_valid)
        ``D_k corr X``.
    out : ndarray of shape (5, n_atoms), float64
        Receives, per atom: ``max_t (g - z)``, ``min_t (g - z)``,
        ``sum_t |z|``, ``sum_t z`` and ``sum_t z (g - z)``.

    Returns
    -------
    z_c : float
        ``sum z * DtX``.
    """
    g, z_t = state[0], state[1]
    K, n_times_valid = DtX.shape
    for k in range(K):
        out[0, k] = -np.inf
        out[1, k] = np.inf
        out[2, k] = 0.
        out[3, k] = 0.
        out[4, k] = 0.
    z_c = 0.
    for t in range(n_times_valid):
        for k in range(K):
            z = z_t[t * K + k]
            x = g[t * K + k] - z
            out[0, k] = max(out[0, k], x)
            out[1, k] = min(out[1, k], x)
            if z != 0:
                out[2, k] += abs(z)
                out[3, k] += z
                out[4, k] += z * x
                z_c += z * DtX[k, t]
    return z_c
