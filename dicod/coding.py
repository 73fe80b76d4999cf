"""DICOD: convolutional sparse coding distributed over workers.

The activations are split into contiguous segments (1-D) or a grid of boxes
(2-D), one per worker. Each worker runs locally greedy coordinate descent on
its own part, sends the updates that change its neighbours' ``beta`` and
applies theirs, with soft locks at the borders (DiCoDiLe, Moreau et al. 2018,
2020). The solution is the one of the sequential solver,
``cdl.sparse_encode(solver='lgcd')``.
"""
import time

import numpy as np

from cdl.utils.log import logger, verbose, warn
from cdl.utils.validation import check_int, check_option, check_reg, check_scalar

from ._problem import Problem, gather_z, setup_workers, zeros_in_background
from .pool import default_n_workers, workers_for_call

STRATEGIES = ("greedy", "random")
SOFT_LOCKS = ("border", "corner", "none")


def solve_kwargs(tol, max_iter, strategy, soft_lock, random_state, max_passes=4,
                 status_interval=1., lock_eps=1e-6):
    """Checked arguments of a worker solve (see :func:`dicod`)."""
    tol = check_scalar("tol", tol, min_value=0.)
    max_iter = check_int("max_iter", max_iter, min_value=1)
    check_option("strategy", strategy, STRATEGIES)
    check_option("soft_lock", soft_lock, SOFT_LOCKS)
    rng = random_state if isinstance(random_state, np.random.RandomState) \
        else np.random.RandomState(random_state)  # never the global generator
    seed = rng.randint(2 ** 31 - 1)
    return dict(tol=tol, max_iter=max_iter, strategy=strategy, soft_lock=soft_lock,
                lock_eps=lock_eps, seed=int(seed), max_passes=max_passes,
                status_interval=status_interval)


def summarize(results, reason, cost, wall, warn_early_stop=True):
    """The ``info`` dict of a solve from the workers' statistics."""
    info = dict(objective=float(cost), reason=reason,
                converged=reason == "converged",
                n_updates=[r["n_updates"] for r in results],
                n_sweeps=[r["n_sweeps"] for r in results],
                n_messages=[r["n_messages"] for r in results],
                n_locked=[r["n_locked"] for r in results],
                time=wall,
                time_workers=[r["time"] for r in results],
                cpu_time_workers=[r["cpu_time"] for r in results],
                time_init=[r["time_init"] for r in results],
                max_change=max(r["max_change"] for r in results))
    if reason in ("max_iter", "timeout") and warn_early_stop:
        warn(f"DICOD stopped before convergence ({reason}); the largest remaining "
             f"change of a coordinate is {info['max_change']:.2e} (relative to "
             f"the signal's standard deviation), above tol.")
    elif reason != "converged":
        logger.info("DICOD stopped before convergence (%s), largest remaining "
                    "change %.2e", reason, info["max_change"])
    return info


@verbose
def dicod(X, D, reg, n_workers=None, tol=1e-3, max_iter=100000, timeout=None,
          z0=None, positive=True, strategy="greedy", soft_lock="border",
          return_info=False, backend="auto", hostfile=None, worker_timeout=60.,
          pool=None, random_state=None, verbose=None):
    """Convolutional sparse coding with DICOD, distributed over workers.

    Solves ``min_z 0.5 ||X - sum_k z_k * D_k||^2 + sum_k reg_k ||z_k||_1``
    (with ``z >= 0`` when ``positive``) for 1-D signals or 2-D images.

    Parameters
    ----------
    X : ndarray
        1-D signals, shape (n_trials, n_channels, n_times) or (n_channels,
        n_times); or images, shape (n_channels, height, width) or (n_trials,
        n_channels, height, width) (with 2-D atoms).
    D : ndarray
        1-D atoms as ``uv`` (n_atoms, n_channels + n_times_atom) or ``D``
        (n_atoms, n_channels, n_times_atom); 2-D atoms as (n_atoms,
        n_channels, h, w).
    reg : float | ndarray of shape (n_atoms,)
        Regularisation (absolute), >= 0.
    n_workers : int | None
        Number of workers (None: the pool's, or 2 without a pool). 1-D
        activations are cut into ``n_workers`` segments; 2-D ones into a
        grid. Every piece must span at least two atom lengths along each cut
        axis.
    tol : float
        Stop when no coordinate would change by more than ``tol`` times the
        standard deviation of its trial (as in :func:`cdl.sparse_encode`).
    max_iter : int
        Maximum number of passes of a worker over its segments.
    timeout : float | None
        Stop after this many seconds and return the activations reached
        (with a warning).
    z0 : ndarray | None
        Warm start, shaped like the returned activations.
    positive : bool
        Non-negative activations.
    strategy : 'greedy' | 'random'
        Coordinate picked in each LGCD segment: the best one, or a random one.
    soft_lock : 'border' | 'corner' | 'none'
        Where a worker may update a coordinate that interferes with a
        neighbour only if it beats the neighbour's candidates there: anywhere
        on the borders, only in corners (2-D), or nowhere. Without locks two
        workers may keep undoing each other's updates at a border (rarely,
        at tight ``tol``; the solve then ends on ``max_iter``).
    return_info : bool
        Also return a dict: ``objective``, ``converged``, ``reason``,
        ``n_updates``, ``n_sweeps``, ``n_messages`` (per worker), ``time``.
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How workers are started (see :func:`dicod.start_workers`); 'auto'
        spawns MPI processes, or uses the ranks of an ``mpirun`` job.
    hostfile : path-like | None
        Hosts for spawned workers.
    worker_timeout : float
        Seconds a worker may stay silent before it is declared dead and the
        call raises :class:`dicod.WorkerError`.
    pool : dicod.WorkerPool | None
        Running workers to use (``backend``, ``hostfile`` and
        ``worker_timeout`` are then the pool's); None starts workers for this
        call and ends them after it.
    random_state : int | RandomState | None
        Seed of the 'random' strategy.
    %(verbose)s

    Returns
    -------
    z : ndarray
        Activations: (n_trials, n_atoms, n_times_valid) for 1-D signals (as
        :func:`cdl.sparse_encode`), (n_atoms, height_valid, width_valid) for
        one image, (n_trials, n_atoms, height_valid, width_valid) for several.
    info : dict
        Only if ``return_info``.

    Raises
    ------
    dicod.WorkerError
        If a worker raises, dies or stops answering; the workers are ended
        (those of a pool too: its next call starts new ones).
    """
    problem = Problem(X, D)
    reg = check_reg(reg, problem.n_atoms)
    n_workers = default_n_workers(n_workers, pool)
    seg = problem.segmentation(n_workers)
    kwargs = solve_kwargs(tol, max_iter, strategy, soft_lock, random_state)
    if timeout is not None:
        timeout = check_scalar("timeout", timeout, min_value=0.)
    z0 = None if z0 is None else problem.from_user(z0)
    if z0 is not None and positive and np.any(z0 < 0):
        raise ValueError("z0 must be non-negative when positive=True.")
    t_start = time.perf_counter()
    with workers_for_call(seg.n_workers, pool, backend, hostfile,
                          worker_timeout) as cluster:
        setup_workers(cluster, problem, seg, problem.D, reg, positive, z0)
        z, paging = zeros_in_background(problem.z_shape4())
        t_solve = time.perf_counter()
        results, reason = cluster.solve(timeout=timeout, trials=None, **kwargs)
        wall = time.perf_counter() - t_solve
        paging.join()
        z = gather_z(cluster, problem.z_shape4(), out=z)
        cost = sum(cluster.command("get_cost")) if return_info else np.nan
    info = summarize(results, reason, cost, wall)
    info["time_total"] = time.perf_counter() - t_start
    logger.info("DICOD with %d workers (grid %s): %d updates, %s in %.3f s",
                seg.n_workers, seg.grid, sum(info["n_updates"]), reason, wall)
    z = problem.to_user(z)
    return (z, info) if return_info else z
