"""The DriPP model: truncated Gaussian kernels, intensity and likelihood.

For one atom with activation times ``A`` and ``P`` drivers (stimulus types)
with times ``T_p``, the intensity is

    lambda(t) = mu + sum_p alpha_p sum_{t_i in T_p, t_i <= t} kappa_p(t - t_i)

where ``kappa_p`` is the density of a normal distribution of mean ``m_p`` and
standard deviation ``sigma_p`` truncated to ``[lower, upper]`` (0 outside).
The log-likelihood on a recording ``[0, t_max]`` is

    sum_{t in A} log lambda(t) - mu t_max - sum_p alpha_p sum_i K_p(t_max - t_i)

with ``K_p`` the cumulative distribution function of ``kappa_p``: the
integral of the intensity is computed exactly, including the kernels cut by
the end of the recording.

Parameters broadcast over atoms: ``baseline`` of shape (n_atoms,), ``alpha``,
``m`` and ``sigma`` of shape (n_atoms, n_drivers).
"""
import numpy as np
from scipy.special import log_ndtr

from cdl.utils.validation import check_scalar

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _log_mass(m, sigma, lower, upper):
    """Log of the normal mass on ``[lower, upper]``, stable in both tails."""
    m, sigma = np.asarray(m, dtype=float), np.asarray(sigma, dtype=float)
    lo = (lower - m) / sigma
    hi = (upper - m) / sigma
    # In the upper tail, use the symmetric interval: Phi(-lo) - Phi(-hi).
    flip = lo > 0
    a = np.where(flip, -hi, lo)
    b = np.where(flip, -lo, hi)
    log_b = log_ndtr(b)
    diff = np.minimum(log_ndtr(a) - log_b, 0.0)
    with np.errstate(divide="ignore"):
        return log_b + np.log(-np.expm1(diff))


def kernel_log_pdf(x, m, sigma, lower, upper):
    """Log density of the truncated Gaussian kernel (``-inf`` outside).

    Parameters
    ----------
    x : array-like
        Delays in seconds.
    m, sigma : float | array-like
        Mean and standard deviation of the Gaussian before truncation;
        broadcast against ``x``.
    lower, upper : float
        Truncation interval, in seconds.

    Returns
    -------
    log_pdf : ndarray
        Same shape as the broadcast of ``x``, ``m`` and ``sigma``.
    """
    x = np.asarray(x, dtype=float)
    m, sigma = np.asarray(m, dtype=float), np.asarray(sigma, dtype=float)
    u = (x - m) / sigma
    out = -0.5 * u * u - np.log(sigma) - _LOG_SQRT_2PI - _log_mass(
        m, sigma, lower, upper)
    return np.where((x >= lower) & (x <= upper), out, -np.inf)


def kernel_pdf(x, m, sigma, lower, upper):
    """Density of the truncated Gaussian kernel (0 outside ``[lower, upper]``).

    Equals ``scipy.stats.truncnorm.pdf(x, (lower - m) / sigma,
    (upper - m) / sigma, loc=m, scale=sigma)``, vectorised and stable when
    ``m`` is far from the interval.

    Parameters
    ----------
    x : array-like
        Delays in seconds.
    m, sigma : float | array-like
        Mean and standard deviation before truncation, broadcast with ``x``.
    lower, upper : float
        Truncation interval, in seconds.

    Returns
    -------
    pdf : ndarray
        Kernel values.
    """
    return np.exp(kernel_log_pdf(x, m, sigma, lower, upper))


def kernel_cdf(x, m, sigma, lower, upper):
    """Cumulative distribution of the kernel: 0 below ``lower``, 1 above ``upper``.

    Parameters
    ----------
    x : array-like
        Delays in seconds.
    m, sigma : float | array-like
        Mean and standard deviation before truncation, broadcast with ``x``.
    lower, upper : float
        Truncation interval, in seconds.

    Returns
    -------
    cdf : ndarray
        Values in [0, 1].
    """
    x = np.asarray(x, dtype=float)
    m, sigma = np.asarray(m, dtype=float), np.asarray(sigma, dtype=float)
    xc = np.clip(x, lower, upper)
    log_num = _log_mass(m, sigma, lower, xc)
    cdf = np.exp(log_num - _log_mass(m, sigma, lower, upper))
    cdf = np.where(x <= lower, 0.0, np.where(x >= upper, 1.0, cdf))
    return np.clip(cdf, 0.0, 1.0)


def _as_params(baseline, alpha, m, sigma, n_drivers):
    """Parameters as arrays of shape (n_atoms,) and (n_atoms, n_drivers)."""
    baseline = np.atleast_1d(np.asarray(baseline, dtype=float))
    shape = (baseline.shape[0], n_drivers)
    alpha, m, sigma = (np.broadcast_to(np.asarray(p, dtype=float).reshape(
        (-1, n_drivers) if np.ndim(p) else (1, 1)), shape)
        for p in (alpha, m, sigma))
    return baseline, alpha, m, sigma


def _driven_part(t, driver, m, sigma, lower, upper):
    """sum_i kappa(t - t_i) over the driver events in ``[t - upper, t - lower]``.

    Vectorised: each time only visits the few driver events within the
    kernel support, found by ``searchsorted`` on the sorted driver times.
    """
    driver = np.sort(np.asarray(driver, dtype=float))
    start = np.searchsorted(driver, t - upper, side="left")
    stop = np.searchsorted(driver, t - lower, side="right")
    counts = stop - start
    out = np.zeros((np.shape(m)[0], t.size))
    if counts.sum() == 0:
        return out
    which = np.repeat(np.arange(t.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts,
                                                  counts)
    delays = t[which] - driver[np.repeat(start, counts) + offsets]
    values = kernel_pdf(delays[None], m[:, None], sigma[:, None], lower, upper)
    for k in range(out.shape[0]):  # loop over atoms only
        out[k] = np.bincount(which, weights=values[k], minlength=t.size)
    return out


def intensity(t, driver_times, baseline, alpha, m, sigma, lower, upper):
    """Evaluate the DriPP intensity at given times.

    Parameters
    ----------
    t : array-like of shape (n_times,)
        Times in seconds (e.g. a grid ``np.arange(0, t_max, 1 / sfreq)``).
    driver_times : list of array-like
        One array of event times (seconds) per driver.
    baseline : float | array-like of shape (n_atoms,)
        Baseline intensity ``mu``.
    alpha, m, sigma : array-like of shape (n_atoms, n_drivers)
        Kernel weights, means and standard deviations (a scalar or an array
        of shape (n_drivers,) is taken as one atom).
    lower, upper : float
        Kernel support, in seconds after a driver event.

    Returns
    -------
    lam : ndarray of shape (n_atoms, n_times)
        Intensity at each time.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    n_drivers = len(driver_times)
    baseline, alpha, m, sigma = _as_params(baseline, alpha, m, sigma,
                                           n_drivers)
    lam = np.repeat(baseline[:, None], t.size, axis=1)
    for p, driver in enumerate(driver_times):
        lam += alpha[:, p, None] * _driven_part(t, driver, m[:, p], sigma[:, p],
                                                lower, upper)
    return lam


def compensator(t_max, driver_times, baseline, alpha, m, sigma, lower, upper):
    """Exact integral of the intensity over ``[0, t_max]``.

    Parameters
    ----------
    t_max : float
        Length of the recording, in seconds.
    driver_times : list of array-like
        One array of event times per driver.
    baseline, alpha, m, sigma : array-like
        Parameters, see :func:`intensity`.
    lower, upper : float
        Kernel support.

    Returns
    -------
    integral : ndarray of shape (n_atoms,)
        ``mu t_max + sum_p alpha_p sum_i K_p(t_max - t_i)``.
    """
    n_drivers = len(driver_times)
    baseline, alpha, m, sigma = _as_params(baseline, alpha, m, sigma,
                                           n_drivers)
    total = baseline * t_max
    for p, driver in enumerate(driver_times):
        rest = t_max - np.asarray(driver, dtype=float)
        cdf = kernel_cdf(rest[None], m[:, p, None], sigma[:, p, None],
                         lower, upper)
        total = total + alpha[:, p] * cdf.sum(axis=1)
    return total


def log_likelihood(atom_times, driver_times, t_max, baseline, alpha, m, sigma,
                   lower, upper):
    """Exact log-likelihood of each atom's activation times.

    Parameters
    ----------
    atom_times : list of array-like
        One array of activation times (seconds) per atom.
    driver_times : list of array-like
        One array of event times per driver.
    t_max : float
        Length of the recording, in seconds.
    baseline, alpha, m, sigma : array-like
        Parameters with n_atoms == len(atom_times), see :func:`intensity`.
    lower, upper : float
        Kernel support.

    Returns
    -------
    loglik : ndarray of shape (n_atoms,)
        ``sum_{t in A_k} log lambda_k(t) - int_0^t_max lambda_k``.
    """
    n_drivers = len(driver_times)
    baseline, alpha, m, sigma = _as_params(baseline, alpha, m, sigma,
                                           n_drivers)
    out = -compensator(t_max, driver_times, baseline, alpha, m, sigma, lower,
                       upper)
    for k, times in enumerate(atom_times):
        lam = intensity(times, driver_times, baseline[k], alpha[k], m[k],
                        sigma[k], lower, upper)[0]
        with np.errstate(divide="ignore"):
            out[k] += np.log(lam).sum()
    return out


def negative_log_likelihood(atom_times, driver_times, t_max, baseline, alpha,
                            m, sigma, lower, upper):
    """Negative of :func:`log_likelihood`, summed over atoms.

    Parameters
    ----------
    atom_times : list of array-like
        One array of activation times (seconds) per atom.
    driver_times : list of array-like
        One array of event times (seconds) per driver.
    t_max : float
        Length of the recording, in seconds.
    baseline : float | array-like of shape (n_atoms,)
        Baseline intensity ``mu``.
    alpha, m, sigma : array-like of shape (n_atoms, n_drivers)
        Kernel weights, means and standard deviations, see :func:`intensity`.
    lower, upper : float
        Kernel support, in seconds after a driver event.

    Returns
    -------
    nll : float
        Negative log-likelihood of all atoms.
    """
    return -float(log_likelihood(atom_times, driver_times, t_max, baseline,
                                 alpha, m, sigma, lower, upper).sum())


def check_support(lower, upper):
    """Validate the kernel support: finite, ``0 <= lower < upper``."""
    lower = check_scalar("lower", lower, 0)
    upper = check_scalar("upper", upper, 0)
    if not lower < upper:
        raise ValueError(f"lower must be < upper (kernel support [lower, "
                         f"upper] in seconds), got lower={lower}, "
                         f"upper={upper}.")
    return lower, upper


def _check_one(name, times, t_max):
    times = np.asarray(times)
    if times.ndim != 1 or times.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold 1-D arrays of event times in "
                         f"seconds, got an array of shape {times.shape} and "
                         f"dtype {times.dtype}.")
    times = np.sort(times.astype(float))
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{name} contains NaN or infinite times.")
    if times.size and times[0] < 0:
        raise ValueError(f"{name} contains negative times (min "
                         f"{times[0]:g} s): times are seconds from the start "
                         f"of the recording.")
    if t_max is not None and times.size and times[-1] > t_max:
        raise ValueError(f"{name} contains times after the end of the "
                         f"recording: max {times[-1]:g} s > t_max={t_max:g} "
                         f"s.")
    return times


def check_times(name, times, t_max=None):
    """Validate event times given as one array or a list of arrays.

    Parameters
    ----------
    name : str
        Parameter name used in error messages.
    times : array-like | list of array-like
        One 1-D array of times in seconds, or a list with one per process.
    t_max : float | None
        Length of the recording; times must lie in ``[0, t_max]``.

    Returns
    -------
    times : list of ndarray
        Sorted float arrays.
    """
    if isinstance(times, np.ndarray) and times.ndim == 1:
        times = [times]
    elif isinstance(times, (list, tuple)) and len(times) and all(
            np.ndim(t) == 0 for t in times):
        times = [np.asarray(times)]
    if not isinstance(times, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be an array or a list of arrays of "
                        f"times, got {type(times).__name__}.")
    if len(times) == 0:
        raise ValueError(f"{name} must not be empty: give at least one array "
                         f"of event times.")
    return [_check_one(name, t, t_max) for t in times]
