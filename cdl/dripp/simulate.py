"""Synthetic driven point processes, for tests, examples and benchmarks."""
import numpy as np

from cdl.utils.validation import (
    check_int,
    check_option,
    check_random_state,
    check_scalar,
)

from .model import _as_params, kernel_pdf


def simulate_drivers(t_max, n_drivers=1, isi=1.0, jitter=0.0, kind="regular",
                     random_state=None):
    """Simulate the event times of one or several drivers (stimulus types).

    A pooled sequence of stimuli is drawn, then each stimulus is given to one
    driver uniformly at random (as in an experiment with randomised
    conditions).

    Parameters
    ----------
    t_max : float
        Length of the recording, in seconds.
    n_drivers : int
        Number of drivers.
    isi : float
        Mean interval between two consecutive stimuli (all drivers pooled),
        in seconds.
    jitter : float
        For ``kind='regular'``: each stimulus is at ``j * isi`` plus a uniform
        delay in ``[0, jitter)``.
    kind : 'regular' | 'poisson'
        Regular grid with jitter, or homogeneous Poisson process of rate
        ``1 / isi``.
    random_state : int | RandomState | None
        Seed or random number generator.

    Returns
    -------
    driver_times : list of ndarray
        ``n_drivers`` sorted arrays of times in ``[0, t_max)``.
    """
    t_max = check_scalar("t_max", t_max, 0, strict=True)
    isi = check_scalar("isi", isi, 0, strict=True)
    jitter = check_scalar("jitter", jitter, 0)
    n_drivers = check_int("n_drivers", n_drivers, 1)
    check_option("kind", kind, ("regular", "poisson"))
    rng = check_random_state(random_state)
    if kind == "regular":
        times = np.arange(0.0, t_max, isi)
        times = times + rng.uniform(0, jitter, times.size) if jitter else times
    else:
        times = np.sort(rng.uniform(0, t_max, rng.poisson(t_max / isi)))
    times = times[times < t_max]
    labels = rng.randint(n_drivers, size=times.size)
    return [times[labels == p] for p in range(n_drivers)]


def _driven_events(driver, t_max, alpha, m, sigma, lower, upper, rng):
    """Thinning of one kernel: candidates at the kernel's maximum rate."""
    driver = np.asarray(driver, dtype=float)
    if alpha <= 0 or driver.size == 0:
        return np.empty(0)
    peak = float(kernel_pdf(np.clip(m, lower, upper), m, sigma, lower, upper))
    length = np.clip(t_max - driver - lower, 0, upper - lower)
    n_cand = rng.poisson(alpha * peak * length)
    owner = np.repeat(np.arange(driver.size), n_cand)
    delays = lower + rng.uniform(size=owner.size) * length[owner]
    keep = rng.uniform(size=owner.size) * peak < kernel_pdf(
        delays, m, sigma, lower, upper)
    return driver[owner[keep]] + delays[keep]


def simulate_dripp(driver_times, t_max, baseline, alpha, m, sigma,
                   lower=0.03, upper=0.8, random_state=None):
    """Simulate activation times from the DriPP intensity, by thinning.

    The intensity is a sum of a constant baseline and one kernel per driver
    event, so the process is the superposition of independent Poisson
    processes. The baseline part is homogeneous; each kernel part is drawn by
    thinning: candidates from a constant rate ``alpha * max(kappa)`` on the
    kernel support, each kept with probability ``kappa(delay) / max(kappa)``.
    The result has exactly the requested intensity on ``[0, t_max]``.

    Parameters
    ----------
    driver_times : list of array-like
        One array of event times (seconds) per driver.
    t_max : float
        Length of the recording, in seconds.
    baseline : float | array-like of shape (n_atoms,)
        Baseline intensity ``mu`` (events per second).
    alpha, m, sigma : float | array-like of shape (n_drivers,) or (n_atoms, n_drivers)
        Kernel weights (expected number of driven events per driver event),
        means and standard deviations (seconds).
    lower, upper : float
        Kernel support, in seconds after a driver event.
    random_state : int | RandomState | None
        Seed or random number generator.

    Returns
    -------
    atom_times : ndarray | list of ndarray
        Sorted activation times; a list with one array per atom when
        ``baseline`` is an array.
    """
    rng = check_random_state(random_state)
    t_max = check_scalar("t_max", t_max, 0, strict=True)
    if not lower < upper:
        raise ValueError(f"lower must be < upper, got lower={lower}, "
                         f"upper={upper}.")
    single = np.ndim(baseline) == 0
    baseline, alpha, m, sigma = _as_params(baseline, alpha, m, sigma,
                                           len(driver_times))
    if np.any(baseline < 0) or np.any(alpha < 0) or np.any(sigma <= 0):
        raise ValueError("baseline and alpha must be >= 0 and sigma > 0.")
    out = []
    for k in range(baseline.size):
        parts = [rng.uniform(0, t_max, rng.poisson(baseline[k] * t_max))]
        parts += [_driven_events(d, t_max, alpha[k, p], m[k, p], sigma[k, p],
                                 lower, upper, rng)
                  for p, d in enumerate(driver_times)]
        times = np.sort(np.concatenate(parts))
        out.append(times[(times >= 0) & (times <= t_max)])
    return out[0] if single else out
