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


@jit
def _scan(beta, z, reg, inv_norms, positive, frozen, t_start, t_stop,
          best_abs, best_k, best_t):  # pragma: no cover
    """Best candidate over ``t`` in [t_start, t_stop), starting from a given best."""
    n_atoms = beta.shape[0]
    use_frozen = frozen.shape[0] > 0
    for k in range(n_atoms):
        reg_k = reg[k]
        inv_k = inv_norms[k]
        for t in range(t_start, t_stop):
            if use_frozen and frozen[k, t]:
                continue
            dz = candidate(beta[k, t], z[k, t], reg_k, inv_k, positive)
            if abs(dz) > best_abs:
                best_abs = abs(dz)
                best_k = k
                best_t = t
    return best_abs, best_k, best_t


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
    best_abs = np.zeros(n_seg)
    best_k = np.zeros(n_seg, dtype=np.int64)
    best_t = np.zeros(n_seg, dtype=np.int64)
    for s in range(n_seg):
        best_abs[s], best_k[s], best_t[s] = _scan(
            beta, z, reg, inv_norms, positive, frozen, s * seg_len,
            min((s + 1) * seg_len, n_times_valid), 0., 0, s * seg_len)
    use_frozen = frozen.shape[0] > 0

    n_updates = 0
    n_sweeps = 0
    max_change = 0.
    for _ in range(max_sweeps):
        n_sweeps += 1
        for s in range(n_seg):
            if best_abs[s] <= tol:
                continue
            k0 = best_k[s]
            t0 = best_t[s]
            dz = candidate(beta[k0, t0], z[k0, t0], reg[k0], inv_norms[k0],
                           positive)
            z[k0, t0] += dz
            n_updates += 1
            # beta of the updated coordinate excludes its own contribution.
            beta[k0, t0] += dz * DtD[k0, k0, n_times_atom - 1]
            w_start = max(t0 - n_times_atom + 1, 0)
            w_stop = min(t0 + n_times_atom, n_times_valid)
            for s2 in range(w_start // seg_len, (w_stop - 1) // seg_len + 1):
                a = s2 * seg_len
                b = min(a + seg_len, n_times_valid)
                o_start = max(a, w_start)
                o_stop = min(b, w_stop)
                # Start from the best of the part of the segment the window
                # leaves untouched.
                if best_t[s2] >= o_start and best_t[s2] < o_stop:
                    ba, bk, bt = _scan(beta, z, reg, inv_norms, positive,
                                       frozen, a, o_start, 0., 0, a)
                    ba, bk, bt = _scan(beta, z, reg, inv_norms, positive,
                                       frozen, o_stop, b, ba, bk, bt)
                else:
                    ba, bk, bt = best_abs[s2], best_k[s2], best_t[s2]
                for k in range(n_atoms):
                    reg_k = reg[k]
                    inv_k = inv_norms[k]
                    offset = n_times_atom - 1 - t0
                    for t in range(o_start, o_stop):
                        beta[k, t] -= dz * DtD[k, k0, t + offset]
                        if use_frozen and frozen[k, t]:
                            continue
                        c = abs(candidate(beta[k, t], z[k, t], reg_k, inv_k,
                                          positive))
                        if c > ba:
                            ba = c
                            bk = k
                            bt = t
                best_abs[s2] = ba
                best_k[s2] = bk
                best_t[s2] = bt
        max_change = 0.
        for s in range(n_seg):
            max_change = max(max_change, best_abs[s])
        if max_change <= tol:
            break
    return n_sweeps, n_updates, max_change
