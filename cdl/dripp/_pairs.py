"""The data of a DriPP fit as EM uses it: pairs and counts found once.

The kernel support ``[lower, upper]`` is fixed, so the pairs (activation,
driver event) that can interact are found once with ``searchsorted``, and
the counts over the recording's end and the union of supports with them.
"""
from collections import namedtuple

import numpy as np

_Problem = namedtuple("_Problem", [
    "lower", "upper", "n_atoms", "n_drivers", "t_max", "n_events", "n_free",
    "rel_atom", "pair_rel", "pair_group", "pair_delay", "n_full",
    "edge_delay", "edge_group", "n_driver_events", "support", "union"])


def _pairs(times, driver, lower, upper):
    """Indices into ``times`` and delays of all pairs with a delay in support."""
    start = np.searchsorted(driver, times - upper, side="left")
    stop = np.searchsorted(driver, times - lower, side="right")
    counts = stop - start
    n_pairs = int(counts.sum())
    which = np.repeat(np.arange(times.size), counts)
    first = np.repeat(start - (np.cumsum(counts) - counts), counts)
    delays = times[which] - driver[first + np.arange(n_pairs)]
    return which, delays


def _union_length(driver_times, t_max, lower, upper):
    """Length of the union of all kernel supports inside ``[0, t_max]``."""
    if sum(d.size for d in driver_times) == 0:
        return 0.0
    starts = np.sort(np.concatenate(driver_times)) + lower
    starts = np.clip(starts, 0, t_max)
    ends = np.clip(starts - lower + upper, 0, t_max)  # non-decreasing
    prev_end = np.concatenate([[-np.inf], np.maximum.accumulate(ends)[:-1]])
    return float(np.maximum(ends - np.maximum(starts, prev_end), 0).sum())


def build_problem(atom_times, driver_times, t_max, lower, upper):
    """Precompute the pairs and counts that the EM iterations need.

    Parameters
    ----------
    atom_times : list of ndarray
        Sorted activation times (seconds) of each atom, in ``[0, t_max]``.
    driver_times : list of ndarray
        Sorted event times of each driver, shared by all atoms.
    t_max : float
        Length of the recording, in seconds.
    lower, upper : float
        Kernel support.

    Returns
    -------
    problem : _Problem
        Flat arrays; groups are indexed by ``atom * n_drivers + driver``.
    """
    n_atoms, n_drivers = len(atom_times), len(driver_times)
    rel_atom, pair_rel, pair_group, pair_delay, n_free = [], [], [], [], []
    n_rel = 0
    for k, times in enumerate(atom_times):
        which, delays = zip(*(_pairs(times, d, lower, upper)
                              for d in driver_times))
        relevant = np.zeros(times.size, dtype=bool)
        for w in which:
            relevant[w] = True
        rel_index = np.cumsum(relevant) - 1 + n_rel
        for p in range(n_drivers):
            pair_rel.append(rel_index[which[p]])
            pair_group.append(np.full(which[p].size, k * n_drivers + p))
            pair_delay.append(delays[p])
        n_k = int(relevant.sum())
        rel_atom.append(np.full(n_k, k))
        n_free.append(times.size - n_k)
        n_rel += n_k
    rest = [t_max - d for d in driver_times]
    n_full = np.array([(r >= upper).sum() for r in rest] * n_atoms, dtype=float)
    edge = [r[(r > lower) & (r < upper)] for r in rest]
    edge_delay = np.concatenate(edge * n_atoms)
    edge_group = np.concatenate([np.full(e.size, k * n_drivers + p)
                                 for k in range(n_atoms)
                                 for p, e in enumerate(edge)])
    support = np.array([np.clip(r, lower, upper).sum() - lower * r.size
                        for r in rest] * n_atoms)
    n_drv = np.array([d.size for d in driver_times] * n_atoms, dtype=float)
    union = np.full(n_atoms, _union_length(driver_times, t_max, lower, upper))
    cat = np.concatenate
    return _Problem(
        lower=float(lower), upper=float(upper), n_atoms=n_atoms,
        n_drivers=n_drivers, t_max=np.full(n_atoms, float(t_max)),
        n_events=np.array([t.size for t in atom_times], dtype=float),
        n_free=np.array(n_free, dtype=float),
        rel_atom=cat(rel_atom).astype(np.intp),
        pair_rel=cat(pair_rel).astype(np.intp),
        pair_group=cat(pair_group).astype(np.intp),
        pair_delay=cat(pair_delay).astype(float), n_full=n_full,
        edge_delay=edge_delay.astype(float),
        edge_group=edge_group.astype(np.intp), n_driver_events=n_drv,
        support=support, union=union)
