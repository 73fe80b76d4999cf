"""EM algorithm for DriPP, vectorised over events, atoms and drivers.

The kernel support ``[lower, upper]`` is fixed, so the pairs (activation,
driver event) that can interact are found once (:mod:`cdl.dripp._pairs`);
every EM iteration is then three passes over those pairs in one compiled kernel
(``_pair_sums``; a numpy version with ``bincount`` runs when
``NUMBA_DISABLE_JIT=1``), with no Python loop over events. Activations that
fall in no kernel support only count towards the baseline and are kept as a
number. Atoms that have converged are frozen and dropped from the pairs.

The M-step is exact for ``mu`` and ``alpha``. For ``(m, sigma)`` it maximises
the expected complete log-likelihood, which depends on the data only through
three weighted sums, by the moment-matching fixed point of the paper
(Allain et al., 2022) iterated a few times, with step halving so that the
objective never decreases: this is a generalised EM, hence the
log-likelihood increases at every iteration.
"""
import numba
import numpy as np

from cdl.utils.log import logger, verbose

from .._kernels import jit
from .model import _LOG_SQRT_2PI, _log_mass, kernel_cdf

_TINY = 1e-300


def initialize(problem, sigma_bounds):
    """Moments-based initialisation (the paper's heuristic, baseline-corrected).

    ``mu`` is the rate of activations outside every kernel support; for each
    driver, ``alpha`` is the number of activations in its supports beyond what
    the baseline explains, per driver event (floored at a tenth of the raw
    count so that EM can move it); ``m`` and ``sigma`` are the mean and
    standard deviation of the delays in the support.
    """
    pb, n_groups = problem, problem.n_atoms * problem.n_drivers
    free_time = pb.t_max - pb.union
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(free_time > 0, pb.n_free / free_time,
                      pb.n_events / pb.t_max)
    mu = np.maximum(mu, 1e-2 * pb.n_events / pb.t_max)
    count = np.bincount(pb.pair_group, minlength=n_groups).astype(float)
    s1 = np.bincount(pb.pair_group, pb.pair_delay, minlength=n_groups)
    s2 = np.bincount(pb.pair_group, pb.pair_delay ** 2, minlength=n_groups)
    atom = np.arange(n_groups) // pb.n_drivers
    excess = np.maximum(count - mu[atom] * pb.support, 0.1 * count)
    alpha = np.where(pb.n_driver_events > 0,
                     excess / np.maximum(pb.n_driver_events, 1), 0.0)
    enough = count >= 2
    safe = np.maximum(count, 1)
    m = np.where(enough, s1 / safe, 0.5 * (pb.lower + pb.upper))
    var = np.maximum(s2 / safe - (s1 / safe) ** 2, 0)
    sigma = np.where(enough, np.sqrt(var), 0.25 * (pb.upper - pb.lower))
    return mu, alpha, m, np.clip(sigma, *sigma_bounds)


def _pair_sums_numpy(pair_rel, pair_group, pair_delay, rel_atom, mu, m,
                     inv_sigma, log_c, n_atoms):
    """Numpy version of :func:`_pair_sums` (reference, and NUMBA_DISABLE_JIT)."""
    g = pair_group
    u = (pair_delay - m[g]) * inv_sigma[g]
    driven = np.exp(log_c[g] - 0.5 * u * u)
    lam = mu[rel_atom] + np.bincount(pair_rel, driven,
                                     minlength=rel_atom.size)
    lam = np.maximum(lam, _TINY)
    resp = driven / lam[pair_rel]
    n_groups = m.size
    return (np.bincount(rel_atom, np.log(lam), minlength=n_atoms),
            np.bincount(rel_atom, mu[rel_atom] / lam, minlength=n_atoms),
            np.bincount(g, resp, minlength=n_groups),
            np.bincount(g, resp * pair_delay, minlength=n_groups),
            np.bincount(g, resp * pair_delay ** 2, minlength=n_groups))


@jit
def _pair_sums(pair_rel, pair_group, pair_delay, rel_atom, mu, m, inv_sigma,
               log_c, n_atoms):  # pragma: no cover
    """E-step sums in three passes over the pairs (compiled).

    Parameters
    ----------
    pair_rel, pair_group : ndarray of int of shape (n_pairs,)
        Relevant event and group (atom * n_drivers + driver) of each pair.
    pair_delay : ndarray of shape (n_pairs,)
        Delay between the activation and the driver event.
    rel_atom : ndarray of int of shape (n_rel,)
        Atom of each relevant event (one in some kernel support).
    mu : ndarray of shape (n_atoms,)
    m, inv_sigma, log_c : ndarray of shape (n_groups,)
        Kernel mean, 1 / sigma and log(alpha / (sigma sqrt(2 pi) Z)).
    n_atoms : int

    Returns
    -------
    sum_log_lam, w_baseline : ndarray of shape (n_atoms,)
        sum of log lambda and of mu / lambda over the relevant events.
    w, s1, s2 : ndarray of shape (n_groups,)
        Sums of the responsibilities r, of r * delay and of r * delay ** 2.
    """
    n_pairs, n_rel, n_groups = pair_rel.size, rel_atom.size, m.size
    driven = np.empty(n_pairs)
    lam = np.zeros(n_rel)
    for j in range(n_pairs):
        g = pair_group[j]
        u = (pair_delay[j] - m[g]) * inv_sigma[g]
        driven[j] = np.exp(log_c[g] - 0.5 * u * u)
        lam[pair_rel[j]] += driven[j]
    sum_log_lam = np.zeros(n_atoms)
    w_baseline = np.zeros(n_atoms)
    for i in range(n_rel):
        k = rel_atom[i]
        value = max(lam[i] + mu[k], _TINY)
        lam[i] = value
        sum_log_lam[k] += np.log(value)
        w_baseline[k] += mu[k] / value
    w, s1, s2 = np.zeros(n_groups), np.zeros(n_groups), np.zeros(n_groups)
    for j in range(n_pairs):
        g = pair_group[j]
        r = driven[j] / lam[pair_rel[j]]
        d = pair_delay[j]
        w[g] += r
        s1[g] += r * d
        s2[g] += r * d * d
    return sum_log_lam, w_baseline, w, s1, s2


def _e_step(pb, mu, alpha, m, sigma):
    """Log-likelihood and the sufficient statistics of the M-step.

    Delays are inside the support by construction, so the kernel is a
    Gaussian with a per-group constant (computed once per group, not per pair).
    """
    with np.errstate(divide="ignore"):
        log_c = np.log(alpha) - np.log(sigma) - _LOG_SQRT_2PI - _log_mass(
            m, sigma, pb.lower, pb.upper)
    sums = _pair_sums_numpy if numba.config.DISABLE_JIT else _pair_sums
    sum_log_lam, w0, w, s1, s2 = sums(
        pb.pair_rel, pb.pair_group, pb.pair_delay, pb.rel_atom, mu, m,
        1.0 / sigma, log_c, pb.n_atoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mu = np.where(pb.n_free > 0, pb.n_free * np.log(mu), 0.0)
    loglik = sum_log_lam + log_mu - _compensator(pb, mu, alpha, m, sigma)
    return loglik, (w0, w, s1, s2)


def _mass_in_recording(pb, m, sigma):
    """sum_i K(t_max - t_i) per group: the driver events' kernel mass in [0, T]."""
    cdf = kernel_cdf(pb.edge_delay, m[pb.edge_group], sigma[pb.edge_group],
                     pb.lower, pb.upper)
    return pb.n_full + np.bincount(pb.edge_group, cdf, minlength=m.size)


def _compensator(pb, mu, alpha, m, sigma):
    driven = alpha * _mass_in_recording(pb, m, sigma)
    return mu * pb.t_max + driven.reshape(pb.n_atoms, pb.n_drivers).sum(1)


def _kernel_objective(m, sigma, w, s1, s2, lower, upper):
    """sum_j w_j log kappa(delta_j), from the sums w, s1 = sum w delta, s2."""
    sq = s2 - 2 * m * s1 + m * m * w
    return (-0.5 * sq / sigma ** 2
            - w * (np.log(sigma) + _LOG_SQRT_2PI + _log_mass(m, sigma, lower,
                                                             upper)))


def _moment_step(m, sigma, w, s1, s2, lower, upper):
    """One moment-matching update of (m, sigma) for truncated Gaussians."""
    lo, hi = (lower - m) / sigma, (upper - m) / sigma
    log_z = _log_mass(m, sigma, lower, upper)
    phi_lo = np.exp(-0.5 * lo ** 2 - _LOG_SQRT_2PI - log_z)
    phi_hi = np.exp(-0.5 * hi ** 2 - _LOG_SQRT_2PI - log_z)
    mean1, mean2 = s1 / w, s2 / w
    m_new = mean1 - sigma * (phi_lo - phi_hi)
    spread = 1.0 + lo * phi_lo - hi * phi_hi
    var = np.maximum(mean2 - 2 * m_new * mean1 + m_new ** 2, 0)
    sigma_new = np.sqrt(var / np.maximum(spread, 1e-12))
    return m_new, sigma_new


def _m_step_kernel(pb, m, sigma, w, s1, s2, m_bounds, sigma_bounds,
                   n_inner=10):
    """Increase the profiled kernel objective over (m, sigma), never decrease.

    Profile over alpha: f(m, s) = sum w log kappa - W log(mass in recording).
    """
    active = w > 1e-12
    if not active.any():
        return m, sigma
    wa = np.where(active, w, 1.0)

    def objective(m_, s_):
        mass = np.maximum(_mass_in_recording(pb, m_, s_), _TINY)
        return (_kernel_objective(m_, s_, w, s1, s2, pb.lower, pb.upper)
                - w * np.log(mass))

    best = objective(m, sigma)
    for _ in range(n_inner):
        m_new, s_new = _moment_step(m, sigma, wa, s1, s2, pb.lower, pb.upper)
        m_new = np.clip(np.nan_to_num(m_new, nan=m), *m_bounds)
        s_new = np.clip(np.nan_to_num(s_new, nan=sigma), *sigma_bounds)
        step = 1.0
        accepted = np.zeros(m.shape, dtype=bool)
        m_try, s_try = m_new, s_new
        for _ in range(6):  # step halving where the objective would drop
            value = objective(m_try, s_try)
            ok = active & ~accepted & (value >= best)
            m, sigma = np.where(ok, m_try, m), np.where(ok, s_try, sigma)
            best = np.where(ok, value, best)
            accepted |= ok
            if np.all(accepted | ~active):
                break
            step *= 0.5
            m_try = m + step * (m_new - m)
            s_try = sigma + step * (s_new - sigma)
        moved = np.abs(m_new - m) + np.abs(s_new - sigma)
        if np.all(moved[active] < 1e-10 * (pb.upper - pb.lower)):
            break
    return m, sigma


def _m_step(pb, m, sigma, sums, alpha_fixed, m_bounds, sigma_bounds):
    w0, w, s1, s2 = sums
    mu = (pb.n_free + w0) / pb.t_max
    m, sigma = _m_step_kernel(pb, m, sigma, w, s1, s2, m_bounds, sigma_bounds)
    mass = _mass_in_recording(pb, m, sigma)
    alpha = np.where((mass > 0) & ~alpha_fixed, w / np.maximum(mass, _TINY),
                     0.0)
    return mu, alpha, m, sigma


def _stack(pb, mu, alpha, m, sigma):
    """Parameters of each atom as rows, to measure their relative change.

    The kernel shape of a group that explains less than one activation in
    the whole recording is meaningless (alpha -> 0 while m, sigma drift), so
    m and sigma of such groups are left out.
    """
    weight = (alpha * pb.n_driver_events >= 1.0).astype(float)
    rows = [p.reshape(pb.n_atoms, -1) for p in (alpha, weight * m,
                                                 weight * sigma)]
    return np.concatenate([mu[:, None]] + rows, axis=1)


def _subset(pb, keep):
    """The problem restricted to the atoms where ``keep`` is True."""
    keep_groups = np.repeat(keep, pb.n_drivers)
    atom_map = np.cumsum(keep) - 1
    group_map = np.cumsum(keep_groups) - 1
    keep_rel = keep[pb.rel_atom]
    rel_map = np.cumsum(keep_rel) - 1
    keep_pair = keep_rel[pb.pair_rel]
    keep_edge = keep_groups[pb.edge_group]
    sub = pb._replace(
        n_atoms=int(keep.sum()), rel_atom=atom_map[pb.rel_atom[keep_rel]],
        pair_rel=rel_map[pb.pair_rel[keep_pair]],
        pair_group=group_map[pb.pair_group[keep_pair]],
        pair_delay=pb.pair_delay[keep_pair],
        edge_delay=pb.edge_delay[keep_edge],
        edge_group=group_map[pb.edge_group[keep_edge]],
        **{name: getattr(pb, name)[keep] for name in (
            "t_max", "n_events", "n_free", "union")},
        **{name: getattr(pb, name)[keep_groups] for name in (
            "n_full", "n_driver_events", "support")})
    return sub, keep_groups


@verbose
def run_em(problem, n_iter=200, tol=1e-5, init=None, alpha_fixed=None,
           sigma_bounds=None, verbose=None):
    """Fit DriPP parameters by EM on a precomputed problem.

    Parameters
    ----------
    problem : _Problem
        Output of :func:`cdl.dripp._pairs.build_problem` (or
        ``stats.stack_problems``).
    n_iter : int
        Maximum number of EM iterations.
    tol : float
        An atom has converged when both the relative change of its
        parameters (sup norm) and the relative change of its log-likelihood
        are below ``tol``; it is then frozen while the others iterate, so
        each atom gets the result it would get alone.
    init : tuple | None
        ``(mu, alpha, m, sigma)`` with flat group arrays; None uses
        :func:`initialize`.
    alpha_fixed : ndarray of bool of shape (n_atoms * n_drivers,) | None
        Groups whose alpha is held at 0 (restricted models of the tests).
    sigma_bounds : tuple of float | None
        Bounds on sigma; default ``(1e-3, 10) * (upper - lower)``.
    verbose : bool | str | int | None
        Log level for this call.

    Returns
    -------
    result : dict
        ``baseline`` (n_atoms,), ``alpha``, ``m``, ``sigma`` (n_atoms,
        n_drivers), ``loglik`` (n_iter_ + 1, n_atoms) history from the
        initial parameters, ``n_iter`` the number of iterations run.
    """
    pb = problem
    width = pb.upper - pb.lower
    if sigma_bounds is None:
        sigma_bounds = (1e-3 * width, 10 * width)
    m_bounds = (pb.lower, pb.upper)  # a latency never leaves the support
    n_groups = pb.n_atoms * pb.n_drivers
    if alpha_fixed is None:
        alpha_fixed = np.zeros(n_groups, dtype=bool)
    if init is None:
        init = initialize(pb, sigma_bounds)
    mu, alpha, m, sigma = (np.array(p, dtype=float) for p in init)
    alpha = np.where(alpha_fixed, 0.0, alpha)
    loglik, sums = _e_step(pb, mu, alpha, m, sigma)
    history = [loglik]
    # Atoms still iterating, and the problem restricted to them.
    sub, atoms = pb, np.arange(pb.n_atoms)
    groups = np.arange(n_groups)
    it, d_param = 0, np.full(pb.n_atoms, np.inf)
    for it in range(1, n_iter + 1):
        params = mu[atoms], alpha[groups], m[groups], sigma[groups]
        old = _stack(sub, *params)
        new_params = _m_step(sub, params[2], params[3], sums,
                             alpha_fixed[groups], m_bounds, sigma_bounds)
        sub_loglik, sums = _e_step(sub, *new_params)
        mu[atoms] = new_params[0]
        for full, part in zip((alpha, m, sigma), new_params[1:]):
            full[groups] = part
        loglik = history[-1].copy()
        loglik[atoms] = sub_loglik
        history.append(loglik)
        new = _stack(sub, *new_params)
        scale = np.maximum(np.abs(old).max(axis=1), 1e-12)
        d_param = np.abs(new - old).max(axis=1) / scale
        d_loglik = np.abs(sub_loglik - history[-2][atoms]) / np.maximum(
            np.abs(history[-2][atoms]), 1.0)
        done = (d_param < tol) & (d_loglik < tol)
        if done.all():
            logger.info("DriPP EM converged after %d iterations.", it)
            break
        if done.any():  # freeze converged atoms: iterate on the others only
            sub, keep_groups = _subset(sub, ~done)
            atoms, groups = atoms[~done], groups[keep_groups]
            sums = (sums[0][~done],) + tuple(x[keep_groups] for x in sums[1:])
    else:
        logger.info("DriPP EM stopped after n_iter=%d iterations (%d of %d "
                    "atoms not converged, relative parameter change %.2e).",
                    n_iter, atoms.size, pb.n_atoms, d_param.max())
    shape = (pb.n_atoms, pb.n_drivers)
    return dict(baseline=mu, alpha=alpha.reshape(shape), m=m.reshape(shape),
                sigma=sigma.reshape(shape), loglik=np.array(history),
                n_iter=it)
