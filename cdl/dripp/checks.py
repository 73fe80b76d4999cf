"""What the data can tell DriPP: the kernel support against the recording, and
flags on fits that cannot be trusted.

:func:`support_report` checks the kernel support ``[lower, upper]`` against
the stretches of data after each driver event (a driver event near the end
of a trial or of the recording has part of its support outside the data) and
against the intervals between driver events. :func:`fit_flags` marks the
(atom, driver) fits whose kernel collapsed (sigma at its floor), whose
latency sits on an edge of the support, or that rest on few events.
"""
import numpy as np

#: Fewer occurrences than this in the kernel supports of a driver: 'few_events'.
MIN_EVENTS = 10

#: The flags of :func:`fit_flags`, and what they mean (for tables and reports).
FLAGS = {
    "collapsed": f"sigma at its floor (one sample) with fewer than "
                 f"{MIN_EVENTS} occurrences driven: the kernel collapsed onto a "
                 f"few coincident occurrences",
    "m_at_edge": "latency m on an edge of the support: the support may be "
                 "too short, or the kernel is monotonic",
    "few_events": f"fewer than {MIN_EVENTS} occurrences of the atom in the "
                  f"supports after this driver's events",
}


def support_report(lower, upper, driver_times, t_max, segments=None):
    """Check the kernel support against what the data can hold.

    Parameters
    ----------
    lower, upper : float
        Kernel support, in seconds after each driver event.
    driver_times : list of ndarray
        Event times (seconds) of each driver.
    t_max : float
        Length of the data, in seconds.
    segments : list of tuple of float | None
        ``(start, stop)`` in seconds of each stretch of continuous data (the
        trials); None: one stretch ``(0, t_max)``.

    Returns
    -------
    report : dict
        ``lower``, ``upper``, ``n_driver_events``, ``n_full_support`` (driver
        events whose whole support lies in their stretch of data),
        ``max_delay`` and ``shortest_delay`` (longest and shortest stretch of
        data after a driver event, in s), ``median_interval`` and
        ``min_interval`` (s between consecutive driver events, all drivers
        pooled; None with fewer than two events) and ``notes`` (list of
        str, empty when all is well).

    Raises
    ------
    ValueError
        If no driver event has any of its support inside the data.
    """
    segments = [(0., float(t_max))] if segments is None else list(segments)
    bounds = np.array(segments, dtype=float).reshape(-1, 2)
    events = np.sort(np.concatenate([np.asarray(d, float) for d in driver_times]))
    which = np.searchsorted(bounds[:, 0], events, side="right") - 1
    inside = (which >= 0) & (events < bounds[np.maximum(which, 0), 1])
    room = np.where(inside, bounds[np.maximum(which, 0), 1] - events, 0.)
    n_full = int(np.sum(room >= upper))
    intervals = np.diff(events)
    report = dict(lower=float(lower), upper=float(upper),
                  n_driver_events=int(events.size), n_full_support=n_full,
                  max_delay=float(room.max()) if room.size else 0.,
                  shortest_delay=float(max(room.min(), 0.)) if room.size else 0.,
                  median_interval=float(np.median(intervals))
                  if intervals.size else None,
                  min_interval=float(intervals.min()) if intervals.size else None,
                  notes=[])
    if not np.any(room > lower):
        raise ValueError(
            f"The kernel support [{lower:g}, {upper:g}] s lies outside the data "
            f"after every driver event: the data hold at most "
            f"{report['max_delay']:.3g} s after a driver event. Give a smaller "
            f"lower (--lower).")
    if n_full < events.size:
        report["notes"].append(
            f"{events.size - n_full} of {events.size} driver events have part of "
            f"their support [{lower:g}, {upper:g}] s past the end of their trial "
            f"or of the recording (the shortest stretch of data after an event "
            f"is {report['shortest_delay']:.3g} s); the fit accounts for it.")
    median = report["median_interval"]
    if median is not None and upper > median:
        report["notes"].append(
            f"upper = {upper:g} s is longer than the median interval between "
            f"driver events ({median:.3g} s): the kernels of successive events "
            f"overlap, latencies beyond {median:.3g} s are ambiguous.")
    return report


def fit_flags(dripp):
    """Flags of each (atom, driver) fit of a fitted DriPP.

    Parameters
    ----------
    dripp : cdl.dripp.DriPP
        Fitted estimator.

    Returns
    -------
    flags : list of list of list of str
        ``flags[k][p]``: the names of :data:`FLAGS` that apply to atom ``k``
        and driver ``p``. ``'collapsed'`` (sigma at its floor and fewer than
        :data:`MIN_EVENTS` occurrences driven, ``alpha`` x number of driver
        events) and ``'m_at_edge'`` are given only when the kernel explains
        at least one occurrence: otherwise m and sigma mean nothing. A sharp
        kernel of many occurrences (jitter below one sample) is not flagged.
    """
    width = dripp.upper - dripp.lower
    n_atoms, n_drivers = np.shape(dripp.alpha_)
    flags = []
    for k in range(n_atoms):
        times = dripp.atom_times_[k]
        row = []
        for p, driver in enumerate(dripp.driver_times_):
            found = []
            n_driven = dripp.alpha_[k, p] * driver.size
            driven = n_driven >= 1.
            if driven and n_driven < MIN_EVENTS \
                    and dripp.sigma_[k, p] <= 1.05 * dripp.sigma_min_:
                found.append("collapsed")
            m = dripp.m_[k, p]
            if driven and min(m - dripp.lower, dripp.upper - m) <= 5e-3 * width:
                found.append("m_at_edge")
            if _n_in_support(times, driver, dripp.lower, dripp.upper) < MIN_EVENTS:
                found.append("few_events")
            row.append(found)
        flags.append(row)
    return flags


def _n_in_support(times, driver, lower, upper):
    """Occurrences with at least one driver event ``lower`` to ``upper`` s before."""
    if times.size == 0 or driver.size == 0:
        return 0
    start = np.searchsorted(driver, times - upper, side="left")
    stop = np.searchsorted(driver, times - lower, side="right")
    return int(np.sum(stop > start))
