"""The one alternating loop of dictionary learning, run against an encoder.

Batch, online and greedy learning differ only in which trials are encoded at
each iteration, how the sufficient statistics are accumulated, and when atoms
are added; the loop itself is shared.
"""
import time
from collections import Counter

import numpy as np
from tqdm.auto import tqdm

from cdl.model.objective import data_fit_from_stats
from cdl.model.shapes import is_rank1, split_uv
from cdl.utils.interrupt import is_interrupt, stop_process_workers
from cdl.utils.log import logger, show_progress, warn

from .encoder import LazyActivations
from .precision import z_step_min_decrease

#: How ``reg`` relates to lambda_max in :func:`learn_dictionary`.
LMBD_MAX = ("fixed", "scaled", "per_atom", "shared")


def apply_window(D, window, n_channels):
    """Atoms as seen by the z-step: waveforms multiplied by ``window``."""
    if window is None:
        return D
    window = np.asarray(window, dtype=D.dtype)  # keep float32 float32
    if is_rank1(D):
        u, v = split_uv(D, n_channels)
        return np.concatenate([u, v * window], axis=1)
    return D * window


def learn_dictionary(encoder, D_init, reg, update_d, n_iter=60, lmbd_max="scaled",
                     eps=1e-10, window=None, batch_size=None, alpha=None,
                     batch_selection="random", new_atom=None, n_atoms=None,
                     callback=None, random_state=None, checkpoint=None,
                     checkpoint_every=None, state=None, reviver=None,
                     inexact_z=False):
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
        ``eps`` times its value (online learning: when neither its z-step
        nor its d-step does, as a d-step on a batch of trials may increase
        the objective of all trials).
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
        ``callback(X, D_hat, z_hat, pobj)`` after each iteration; returning
        True stops learning. ``z_hat`` behaves as an ndarray but is read from
        the encoder (gathered from the workers of a distributed one) only
        when the callback uses it.
    random_state : RandomState
        Used by the online batch selection (and by ``new_atom``); its state is
        part of the checkpoints.
    checkpoint : callable | None
        ``checkpoint(state)``, called with the learning state (a dict, see
        ``state``) every ``checkpoint_every`` iterations, when learning stops,
        and on Ctrl-C if the state of the last completed iteration is still
        known (it is, unless the interruption came during a d-step; this
        assumes that an interrupted ``encoder.compute_z`` leaves the
        activations as they were, as the encoders of this package do).
    checkpoint_every : int | None
        Iterations between two calls of ``checkpoint``.
    state : dict | None
        Learning state to resume from, as given to ``checkpoint``: ``D``,
        ``z``, ``pobj``, ``times``, ``n_iter``, ``reg_scale``, ``stats``
        (online: ``(ztz, ztX)`` or None), ``rng_state``, ``stopped`` and
        ``unfinished`` (``(D, reg)`` of the last z-step when the inexact rule
        cut it, else None: it is finished when learning ends). The
        run then continues exactly as the run that wrote it would have; the
        encoder must have a ``set_z`` method.
    reviver : cdl.learn.revival.Reviver | None
        Atom revival: at the z-step of an iteration (from the reviver's
        ``start`` on) an unused, duplicated or off-centre atom may be
        replaced (or moved); a replacement is kept only if the objective
        after that z-step is not above the objective before it, a move (in
        batch learning) only if the d-step then goes further than without
        it and the moved model is not above the objective before the z-step
        (see :mod:`cdl.learn.revival`). A Ctrl-C while a move is judged
        comes after the z-step: like one during a d-step, it writes no
        checkpoint. Learning does
        not stop on ``eps`` while an atom can still be tried. Its state
        (``revival``) is part of the learning state. None: no revival.
    inexact_z : bool
        Inexact z-steps: from the second iteration on, each z-step also stops
        once a block of sweeps decreases the objective by less than a
        fraction of the previous iteration's decrease (see
        :mod:`cdl.learn.precision`; encoders that do not support it, and
        online learning, solve exactly). False: every z-step stops on the
        encoder's ``tol`` and ``max_iter`` only.

    Returns
    -------
    result : dict
        ``D`` (raw dictionary), ``reg`` (absolute, per atom), ``pobj``,
        ``times``, ``n_iter``, ``interrupted``, ``revival_log`` (the tries
        of ``reviver``: ``(iteration, atom, reason, accepted)``).
    """
    n_channels = encoder.n_channels
    n_trials = encoder.X.shape[0]
    greedy = new_atom is not None
    online = batch_size is not None
    # Greedy: how many atoms to add at each iteration (several when n_iter <
    # n_atoms); the first atom is D_init.
    add_at = Counter(np.linspace(0, n_iter, n_atoms, endpoint=False).astype(int)
                     if greedy else [])
    add_at[0] -= 1
    # What the loop will ask after each z-step and d-step: an encoder whose
    # questions are round trips to workers answers them with the change.
    encoder.track(cost=online, lambda_max=lmbd_max in ("shared", "per_atom"),
                  usage=reviver is not None)
    if state is None:
        D = D_init.copy()
        encoder.set_D(apply_window(D, window, n_channels))
        reg_scale = encoder.lambda_max() if lmbd_max == "scaled" else 1.
        stats, n_done, stopped = None, 0, False
    else:
        D, reg_scale, stats, n_done, stopped = _restore(encoder, state, window,
                                                        random_state)
        if reviver is not None:
            reviver.set_state(state.get("revival"))

    def current_reg():
        if lmbd_max == "fixed":
            return np.full(D.shape[0], reg, dtype=float)
        if lmbd_max == "scaled":
            return np.full(D.shape[0], reg * reg_scale)
        return reg * encoder.lambda_max(per_atom=(lmbd_max == "per_atom")) \
            * np.ones(D.shape[0])

    def set_dictionary(D_new):  # revival's changes of the dictionary
        encoder.set_D(apply_window(D_new, window, n_channels))
        encoder.set_reg(current_reg())

    def cost(info):  # the objective after a z-step, as recorded in pobj
        return encoder.get_cost() if online else info["objective"]

    def d_step_gain(D_try):
        # Batch revival's judge of a move: the objective of the encoder's
        # dictionary (D_try, set by the caller) and activations, after a
        # d-step from D_try, and that d-step (the loop reuses the one kept).
        # The activations are then ahead of the boundary.
        nonlocal in_d_step
        in_d_step = True
        ztz, ztX = encoder.get_sufficient_statistics()
        l1 = encoder.get_l1()
        before = data_fit_from_stats(encoder.D, ztz, ztX, encoder.XtX,
                                     n_channels) + l1
        D_next = update_d(D_try, ztz, ztX)
        after = data_fit_from_stats(apply_window(D_next, window, n_channels),
                                    ztz, ztX, encoder.XtX, n_channels) + l1
        return before, after, (ztz, ztX, D_next)

    encoder.set_reg(current_reg())
    if state is None:
        pobj, times = [encoder.get_cost()], [0.]
    else:
        pobj, times = list(state["pobj"]), list(state["times"])

    def snapshot(stopped):
        # Everything the next iteration depends on (z is read when saving).
        return dict(D=D.copy(), pobj=list(pobj), times=list(times), n_iter=n_done,
                    reg_scale=float(reg_scale), stats=stats, stopped=stopped,
                    rng_state=None if random_state is None
                    else random_state.get_state(),
                    revival=None if reviver is None else reviver.get_state(),
                    unfinished=unfinished)

    # (D, reg) of the last z-step when the inexact rule cut it.
    unfinished = None if state is None else state.get("unfinished")
    boundary = snapshot(stopped)
    interrupted, in_d_step = False, False
    progress = _progress(n_iter, n_done)
    try:
        for ii in range(n_done, n_iter if not stopped else n_done):
            for _ in range(add_at[ii] if greedy else 0):
                D = np.concatenate([D, new_atom(encoder.residual_window(
                    encoder.n_times_atom))[None]])
                encoder.add_atom()
                encoder.set_D(apply_window(D, window, n_channels))
                stats = None
            encoder.set_reg(current_reg())
            if inexact_z and not online:
                encoder.set_min_decrease(z_step_min_decrease(pobj))
            trials = _select_trials(ii, n_trials, batch_size, batch_selection,
                                    random_state)
            t_start = time.perf_counter()
            if reviver is None:
                info = encoder.compute_z(trials)
            else:
                D, info, stats = reviver.z_step(
                    encoder, D, ii, trials, pobj, stats, set_dictionary, cost,
                    None if online else d_step_gain)
            in_d_step = True  # from here the activations are ahead of boundary
            unfinished = (D.copy(), encoder.reg.copy()) \
                if info.get("n_stopped_early", 0) else None
            times.append(time.perf_counter() - t_start)
            pobj.append(cost(info))
            l1 = info["l1"]  # of all trials: unchanged by the d-step
            if l1 == 0 and not greedy:
                warn("All activations are zero: reg is too large for this "
                     "dictionary. Learning stopped.")
                n_done, stopped = ii + 1, True
                break
            judged = info.pop("d_step", None)  # a move's d-step, already run
            if judged is None:
                ztz, ztX = encoder.get_sufficient_statistics(trials)
                if online and stats is not None:
                    ztz, ztX = alpha * stats[0] + ztz, alpha * stats[1] + ztX
            else:
                ztz, ztX = judged[:2]
            stats = (ztz, ztX)
            t_start = time.perf_counter()
            D = update_d(D, ztz, ztX) if judged is None else judged[2]
            encoder.set_D(apply_window(D, window, n_channels))
            times.append(time.perf_counter() - t_start)
            if online:
                pobj.append(encoder.get_cost())
            else:
                pobj.append(data_fit_from_stats(
                    encoder.D, ztz, ztX, encoder.XtX, n_channels) + l1)
            n_done = ii + 1
            progress.update(1)
            progress.set_postfix(objective=f"{pobj[-1]:.4e}")
            logger.debug("iteration %d: objective %.6e", ii + 1, pobj[-1])
            boundary, in_d_step = snapshot(False), False
            stopped = bool(
                (callback is not None and callback(encoder.X, D,
                                                   LazyActivations(encoder), pobj))
                or (_converged(pobj, eps, greedy and (ii + 1) <= max(
                    [i for i, n in add_at.items() if n > 0] or [0]), online)
                    and (reviver is None or ii + 1 >= n_iter
                         or not reviver.pending(encoder, D, ii + 1, pobj))))
            boundary["stopped"] = stopped
            if checkpoint is not None and checkpoint_every and not stopped \
                    and n_done % checkpoint_every == 0 and n_done < n_iter:
                checkpoint(dict(boundary, z=encoder.get_z_hat()))
            if stopped:
                break
    except (KeyboardInterrupt, SystemError) as err:
        if not is_interrupt(err):
            raise
        interrupted = True
        stop_process_workers()
        saved = ""
        if checkpoint is not None and not in_d_step:
            n_kept = boundary["D"].shape[0]
            checkpoint(dict(boundary, z=encoder.get_z_hat()[:, :n_kept]))
            saved = " and checkpointed"
        warn(f"Learning interrupted after {n_done} iteration(s); the "
             f"dictionary learned so far is kept{saved}.")
    else:
        if checkpoint is not None:
            checkpoint(dict(snapshot(stopped), z=encoder.get_z_hat()))
    finally:
        progress.close()
    if unfinished is not None and not interrupted:
        interrupted = _finish_z_step(encoder, D, unfinished, window, n_channels)
    return dict(D=D, reg=encoder.reg.copy(), pobj=np.array(pobj),
                times=np.cumsum(times), n_iter=n_done, interrupted=interrupted,
                revival_log=[] if reviver is None else list(reviver.log))


def _finish_z_step(encoder, D, unfinished, window, n_channels):
    """Run the last z-step, cut by the inexact rule, on to ``tol`` or
    ``max_iter``: the activations are then those of an exact last z-step (as
    precise as without inexact z-steps), on the dictionary and regularisation
    of that z-step. After the last checkpoint, so that a longer fit resumed
    from it goes on as an uninterrupted one. Returns whether Ctrl-C came
    (the activations are then those of the cut z-step)."""
    D_z, reg_z = unfinished
    encoder.set_min_decrease(None)
    encoder.set_D(apply_window(D_z, window, n_channels))
    encoder.set_reg(reg_z)
    try:
        encoder.compute_z()
    except (KeyboardInterrupt, SystemError) as err:
        if not is_interrupt(err):
            raise
        stop_process_workers()
        warn("Interrupted while the last z-step was finished: the activations "
             "are those of the inexact z-step.")
        return True
    finally:
        encoder.set_D(apply_window(D, window, n_channels))
        encoder.set_reg(reg_z)
    return False


def _restore(encoder, state, window, random_state):
    """Put a saved learning state back into the encoder and the generator."""
    if not hasattr(encoder, "set_z"):
        raise TypeError(f"Resuming needs an encoder with a set_z method; "
                        f"{type(encoder).__name__} has none.")
    D = np.array(state["D"])
    while encoder.n_atoms < D.shape[0]:  # greedy: atoms added before the save
        encoder.add_atom()
    encoder.set_z(state["z"])
    encoder.set_D(apply_window(D, window, encoder.n_channels))
    if random_state is not None and state.get("rng_state") is not None:
        random_state.set_state(state["rng_state"])
    stats = state.get("stats")
    return (D, float(state["reg_scale"]), None if stats is None else tuple(stats),
            int(state["n_iter"]), bool(state["stopped"]))


def _converged(pobj, eps, atoms_pending, online=False):
    if atoms_pending or len(pobj) < 5:
        return False
    if online:
        # The d-step of a batch of trials may increase the objective of all
        # trials: stop when neither step decreases it by eps (as alphacsc),
        # not on the first iteration whose d-step undid its z-step's gain.
        return max(pobj[-3] - pobj[-2], pobj[-2] - pobj[-1]) \
            < eps * abs(pobj[-1])
    decrease = pobj[-3] - pobj[-1]
    return decrease < eps * abs(pobj[-1])


def _select_trials(ii, n_trials, batch_size, batch_selection, random_state):
    if batch_size is None or batch_size >= n_trials:
        return None
    if batch_selection == "cyclic":
        start = (ii * batch_size) % n_trials
        return np.arange(start, start + batch_size) % n_trials
    return np.sort(random_state.choice(n_trials, batch_size, replace=False))


def _progress(n_iter, initial=0):
    return tqdm(total=n_iter, initial=initial, desc="CDL", unit="it",
                disable=not show_progress(), leave=False)
