"""The one alternating loop of dictionary learning, run against an encoder.

Batch, online and greedy learning differ only in which trials are encoded at
each iteration, how the sufficient statistics are accumulated, and when atoms
are added; the loop itself is shared.
"""
import time

import numpy as np

from ._logging import logger, show_progress, warn
from .objective import data_fit_from_stats, is_rank1, split_uv

LMBD_MAX = ("fixed", "scaled", "per_atom", "shared")


def apply_window(D, window, n_channels):
    """Atoms as seen by the z-step: waveforms multiplied by ``window``."""
    if window is None:
        return D
    if is_rank1(D):
        u, v = split_uv(D, n_channels)
        return np.concatenate([u, v * window], axis=1)
    return D * window


def learn_dictionary(encoder, D_init, reg, update_d, n_iter=60, lmbd_max="scaled",
                     eps=1e-10, window=None, batch_size=None, alpha=None,
                     batch_selection="random", new_atom=None, n_atoms=None,
                     callback=None, random_state=None):
    """Alternate z-steps and d-steps until the objective stops decreasing.

    Parameters
    ----------
    encoder : LocalEncoder or an object with the same methods
        Holds the signal and activations and runs the z-step.
    D_init : ndarray
        Initial dictionary (``uv`` or full rank), before windowing.
    reg : float
        Regularisation, absolute if ``lmbd_max='fixed'`` else a fraction of
        lambda_max.
    update_d : callable
        ``update_d(D, ztz, ztX) -> D``, the d-step.
    n_iter : int
        Maximum number of iterations.
    lmbd_max : 'fixed' | 'scaled' | 'per_atom' | 'shared'
        'scaled': ``reg * lambda_max`` of the initial dictionary; 'shared':
        recomputed at each iteration; 'per_atom': one value per atom, at each
        iteration.
    eps : float
        Stop when an iteration decreases the objective by less than
        ``eps`` times its value.
    window : ndarray of shape (n_times_atom,) | None
        Taper applied to the waveforms.
    batch_size : int | None
        Online learning: number of trials per iteration (None: batch).
    alpha : float | None
        Online learning: forgetting factor of the statistics.
    batch_selection : 'random' | 'cyclic'
        Online learning: how trials are chosen.
    new_atom : callable | None
        Greedy learning: ``new_atom(residual_window) -> atom row``; atoms are
        added one by one, evenly spaced over ``n_iter``, up to ``n_atoms``.
    n_atoms : int | None
        Greedy learning: final number of atoms.
    callback : callable | None
        ``callback(X, D_hat, z_hat, pobj)``; returning True stops learning.
    random_state : RandomState
        Used by the online batch selection.

    Returns
    -------
    result : dict
        ``D`` (raw dictionary), ``reg`` (absolute, per atom), ``pobj``,
        ``times``, ``n_iter``, ``interrupted``.
    """
    n_channels = encoder.n_channels
    D = D_init.copy()
    encoder.set_D(apply_window(D, window, n_channels))
    n_trials = encoder.X.shape[0]
    greedy = new_atom is not None
    add_at = (set(np.linspace(0, n_iter, n_atoms, endpoint=False).astype(int))
              if greedy else set())
    reg_scale = encoder.lambda_max() if lmbd_max == "scaled" else 1.

    def current_reg():
        if lmbd_max == "fixed":
            return np.full(D.shape[0], reg, dtype=float)
        if lmbd_max == "scaled":
            return np.full(D.shape[0], reg * reg_scale)
        return reg * encoder.lambda_max(per_atom=(lmbd_max == "per_atom")) \
            * np.ones(D.shape[0])

    encoder.set_reg(current_reg())
    pobj, times = [encoder.get_cost()], [0.]
    stats, interrupted, n_done = None, False, 0
    progress = _progress(n_iter)
    try:
        for ii in range(n_iter):
            if greedy and ii in add_at and ii > 0:
                D = np.concatenate([D, new_atom(encoder.residual_window(
                    encoder.n_times_atom))[None]])
                encoder.add_atom()
                encoder.set_D(apply_window(D, window, n_channels))
                stats = None
            encoder.set_reg(current_reg())
            trials = _select_trials(ii, n_trials, batch_size, batch_selection,
                                    random_state)
            t_start = time.perf_counter()
            info = encoder.compute_z(trials)
            times.append(time.perf_counter() - t_start)
            online = batch_size is not None
            pobj.append(encoder.get_cost() if online else info["objective"])
            if encoder.get_l1() == 0 and not greedy:
                warn("All activations are zero: reg is too large for this "
                     "dictionary. Learning stopped.")
                n_done = ii + 1
                break
            ztz, ztX = encoder.get_sufficient_statistics(trials)
            if online and stats is not None:
                ztz, ztX = alpha * stats[0] + ztz, alpha * stats[1] + ztX
            stats = (ztz, ztX)
            t_start = time.perf_counter()
            D = update_d(D, ztz, ztX)
            encoder.set_D(apply_window(D, window, n_channels))
            times.append(time.perf_counter() - t_start)
            if online:
                pobj.append(encoder.get_cost())
            else:
                pobj.append(data_fit_from_stats(
                    encoder.D, ztz, ztX, encoder.XtX, n_channels)
                    + encoder.get_l1())
            n_done = ii + 1
            progress.update(1)
            progress.set_postfix(objective=f"{pobj[-1]:.4e}")
            logger.debug("iteration %d: objective %.6e", ii + 1, pobj[-1])
            if callback is not None and callback(encoder.X, D, encoder.z, pobj):
                break
            if _converged(pobj, eps, greedy and (ii + 1) < max(add_at or {0})):
                break
    except KeyboardInterrupt:
        interrupted = True
        warn(f"Learning interrupted after {n_done} iteration(s); the "
             f"dictionary learned so far is kept.")
    finally:
        progress.close()
    return dict(D=D, reg=encoder.reg.copy(), pobj=np.array(pobj),
                times=np.cumsum(times), n_iter=n_done, interrupted=interrupted)


def _converged(pobj, eps, atoms_pending):
    if atoms_pending or len(pobj) < 5:
        return False
    decrease = pobj[-3] - pobj[-1]
    return decrease < eps * abs(pobj[-1])


def _select_trials(ii, n_trials, batch_size, batch_selection, random_state):
    if batch_size is None or batch_size >= n_trials:
        return None
    if batch_selection == "cyclic":
        start = (ii * batch_size) % n_trials
        return np.arange(start, start + batch_size) % n_trials
    return np.sort(random_state.choice(n_trials, batch_size, replace=False))


def _progress(n_iter):
    from tqdm.auto import tqdm
    return tqdm(total=n_iter, desc="CDL", unit="it", disable=not show_progress(),
                leave=False)
