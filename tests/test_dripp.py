"""Tests of cdl.dripp against ground truth: kernel, intensity, EM, statistics."""
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import truncnorm

from cdl.dripp import (
    DriPP,
    compensator,
    drivers_from_annotations,
    em,
    events_from_activations,
    fit_dripp_from_annotations,
    intensity,
    kernel_cdf,
    kernel_pdf,
    log_likelihood,
    simulate_dripp,
    simulate_drivers,
)
from cdl.dripp._pairs import build_problem

LOWER, UPPER = 0.03, 0.8
TRUTH = dict(baseline=0.1, alpha=0.8, m=0.4, sigma=0.2)
# Stated errors at T = 10000 s, ~1000 drivers: about 4 standard deviations
# measured over 50 seeds (sd: mu 0.003, alpha 0.03, m 0.01, sigma 0.01).
TOLERANCE = dict(baseline=0.015, alpha=0.12, m=0.04, sigma=0.04)


def _simulate(t_max, seed, n_drivers=1, isi=10.0, **params):
    params = {**TRUTH, **params}
    drivers = simulate_drivers(t_max, n_drivers, isi=isi, jitter=2.0,
                               random_state=seed)
    atoms = simulate_dripp(drivers, t_max, params["baseline"],
                           [params["alpha"]] * n_drivers,
                           [params["m"]] * n_drivers,
                           [params["sigma"]] * n_drivers, LOWER, UPPER,
                           random_state=seed + 1000)
    return atoms, drivers


@pytest.fixture(scope="module")
def driven_fit():
    atoms, drivers = _simulate(10000.0, seed=0)
    return DriPP(lower=LOWER, upper=UPPER).fit(atoms, drivers, 10000.0)


# ----------------------------------------------------------------- model --
@pytest.mark.parametrize("m, sigma", [(0.4, 0.2), (0.05, 0.01), (2.0, 0.1),
                                      (-1.0, 0.3), (0.5, 5.0)])
def test_kernel_integrates_to_one_and_vanishes_outside(m, sigma):
    total, _ = integrate.quad(kernel_pdf, LOWER, UPPER,
                              args=(m, sigma, LOWER, UPPER), limit=200,
                              points=[np.clip(m, LOWER, UPPER)])
    assert abs(total - 1) < 1e-6
    outside = np.array([-1.0, 0.0, LOWER - 1e-9, UPPER + 1e-9, 3.0])
    assert np.all(kernel_pdf(outside, m, sigma, LOWER, UPPER) == 0)
    x = np.linspace(LOWER, UPPER, 50)
    a, b = (LOWER - m) / sigma, (UPPER - m) / sigma
    ref = truncnorm.pdf(x, a, b, loc=m, scale=sigma)
    np.testing.assert_allclose(kernel_pdf(x, m, sigma, LOWER, UPPER), ref,
                               rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(kernel_cdf(x, m, sigma, LOWER, UPPER),
                               truncnorm.cdf(x, a, b, loc=m, scale=sigma),
                               rtol=1e-7, atol=1e-12)


def test_intensity_matches_direct_sum():
    drivers = [np.array([1.0, 1.5, 4.0]), np.array([2.0, 2.3])]
    mu, alpha = 0.3, np.array([0.7, 1.5])
    m, sigma = np.array([0.2, 0.5]), np.array([0.1, 0.3])
    t = np.linspace(0, 6, 301)
    expected = np.full_like(t, mu)
    for p, times in enumerate(drivers):
        a, b = (LOWER - m[p]) / sigma[p], (UPPER - m[p]) / sigma[p]
        for ti in times:  # a plain double loop, the definition
            for j, tj in enumerate(t):
                if LOWER <= tj - ti <= UPPER:
                    expected[j] += alpha[p] * truncnorm.pdf(
                        tj - ti, a, b, loc=m[p], scale=sigma[p])
    got = intensity(t, drivers, mu, alpha, m, sigma, LOWER, UPPER)
    assert got.shape == (1, t.size)
    np.testing.assert_allclose(got[0], expected, rtol=1e-10)


def test_compensator_is_the_exact_integral():
    # Drivers close to t_max, so that some kernels are cut by the end.
    t_max = 5.0
    drivers = [np.array([0.5, 4.5, 4.9]), np.array([3.0, 4.7])]
    args = (0.2, [0.8, 1.2], [0.3, 0.1], [0.2, 0.05], LOWER, UPPER)
    exact = compensator(t_max, drivers, *args)[0]
    breaks = np.sort(np.concatenate(drivers)[:, None] + [LOWER, UPPER])
    numeric, _ = integrate.quad(
        lambda s: intensity([s], drivers, *args)[0, 0], 0, t_max,
        points=breaks[breaks < t_max], limit=400, epsabs=1e-10)
    assert abs(exact - numeric) < 1e-7
    # log-likelihood = sum log lambda - integral
    atoms = [np.array([0.7, 3.2, 4.8])]
    lam = intensity(atoms[0], drivers, *args)[0]
    ll = log_likelihood(atoms, drivers, t_max, *args)[0]
    assert abs(ll - (np.log(lam).sum() - exact)) < 1e-10


# ------------------------------------------------------------- simulation --
def test_simulation_has_the_requested_intensity():
    t_max = 20000.0
    drivers = simulate_drivers(t_max, 1, isi=5.0, jitter=1.0, random_state=3)
    assert np.all(np.diff(drivers[0]) > 0) and drivers[0][-1] < t_max
    times = simulate_dripp(drivers, t_max, 0.0, 1.0, 0.4, 0.2, LOWER, UPPER,
                           random_state=4)
    delays = times - drivers[0][np.searchsorted(drivers[0], times) - 1]
    a, b = (LOWER - 0.4) / 0.2, (UPPER - 0.4) / 0.2
    ref = truncnorm(a, b, loc=0.4, scale=0.2)
    n = drivers[0].size
    assert abs(times.size - n) < 4 * np.sqrt(n)  # Poisson(alpha * n)
    assert abs(delays.mean() - ref.mean()) < 4 * ref.std() / np.sqrt(n)
    assert abs(delays.std() - ref.std()) < 0.01
    # same seed, same result; check_random_state semantics
    again = simulate_dripp(drivers, t_max, 0.0, 1.0, 0.4, 0.2, LOWER, UPPER,
                           random_state=np.random.RandomState(4))
    np.testing.assert_array_equal(times, again)


# -------------------------------------------------------------------- EM --
def test_em_recovers_parameters(driven_fit):
    est = driven_fit
    for name, value in TRUTH.items():
        got = getattr(est, name + "_").ravel()[0]
        assert abs(got - value) < TOLERANCE[name], (name, got)
    assert est.alpha_.shape == (1, 1) and est.baseline_.shape == (1,)


def test_em_recovers_strongly_truncated_kernel():
    # m = 0.1, sigma = 0.15: a third of the Gaussian lies below lower = 0.03,
    # so the truncation terms of the M-step matter (dropping them biases m by
    # +0.08 and sigma by -0.05). Mean over 3 seeds; sd of that mean measured
    # over 20 seeds: m 0.011, sigma 0.007.
    got = []
    for seed in range(3):
        atoms, drivers = _simulate(10000.0, seed=seed, m=0.1, sigma=0.15)
        est = DriPP(lower=LOWER, upper=UPPER).fit(atoms, drivers, 10000.0)
        got.append([est.m_[0, 0], est.sigma_[0, 0]])
    m_hat, sigma_hat = np.mean(got, axis=0)
    assert abs(m_hat - 0.1) < 0.04 and abs(sigma_hat - 0.15) < 0.025


def test_em_error_decreases_with_recording_length():
    truth = np.array(list(TRUTH.values()))

    def mean_error(t_max):
        errors = []
        for seed in range(4):
            atoms, drivers = _simulate(t_max, seed=seed)
            est = DriPP(lower=LOWER, upper=UPPER).fit(atoms, drivers, t_max)
            got = np.array([est.baseline_[0], est.alpha_[0, 0], est.m_[0, 0],
                            est.sigma_[0, 0]])
            errors.append(np.abs(got - truth) / truth)
        return np.mean(errors)

    short, long = mean_error(1000.0), mean_error(30000.0)
    assert long < 0.6 * short, (short, long)


def test_em_likelihood_increases_at_every_iteration(driven_fit):
    atoms, drivers = _simulate(3000.0, seed=5, n_drivers=2, isi=3.0)
    atoms2 = simulate_dripp(drivers, 3000.0, 0.5, [0.0, 1.0], [0.3, 0.2],
                            [0.1, 0.02], LOWER, UPPER, random_state=6)
    est = DriPP(lower=LOWER, upper=UPPER, tol=1e-10).fit([atoms, atoms2],
                                                         drivers, 3000.0)
    for hist in (est.loglik_, driven_fit.loglik_):
        assert hist.shape[0] == 1 + (est.n_iter_ if hist is est.loglik_
                                     else driven_fit.n_iter_)
        steps = np.diff(hist, axis=0)
        assert np.all(steps >= -1e-9 * np.abs(hist[1:])), steps.min()
        assert np.all(hist[-1] > hist[0])
    # final history entry is the exact log-likelihood of the fitted model
    ll = log_likelihood([atoms, atoms2], drivers, 3000.0, est.baseline_,
                        est.alpha_, est.m_, est.sigma_, LOWER, UPPER)
    np.testing.assert_allclose(est.loglik_[-1], ll, rtol=1e-10)
    np.testing.assert_allclose(est.score([atoms, atoms2]), ll.sum())


def test_joint_fit_equals_separate_fits():
    atoms, drivers = _simulate(2000.0, seed=7, n_drivers=2, isi=4.0)
    other = simulate_dripp(drivers, 2000.0, 0.3, [0.5, 0.0], [0.2, 0.4],
                           [0.05, 0.1], LOWER, UPPER, random_state=8)
    joint = DriPP().fit([atoms, other], drivers, 2000.0)
    for k, times in enumerate([atoms, other]):
        alone = DriPP().fit(times, drivers, 2000.0)
        for name in ("baseline_", "alpha_", "m_", "sigma_"):
            np.testing.assert_allclose(getattr(joint, name)[k],
                                       getattr(alone, name)[0], rtol=1e-10)


def test_compiled_sums_match_numpy_reference():
    atoms, drivers = _simulate(500.0, seed=9, n_drivers=2, isi=2.0)
    pb = build_problem([atoms, atoms[::2]], drivers, 500.0, LOWER, UPPER)
    rng = np.random.RandomState(0)
    n_groups = 4
    args = (pb.pair_rel, pb.pair_group, pb.pair_delay, pb.rel_atom,
            rng.uniform(0.1, 1, 2), rng.uniform(0.1, 0.6, n_groups),
            1 / rng.uniform(0.05, 0.3, n_groups),
            rng.uniform(-2, 1, n_groups), 2)
    for got, ref in zip(em._pair_sums(*args), em._pair_sums_numpy(*args)):
        np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_sfreq_discretises_times():
    atoms, drivers = _simulate(2000.0, seed=10)
    est = DriPP(sfreq=100.0).fit(atoms, drivers, 2000.0)
    grid = est.atom_times_[0] * 100.0
    np.testing.assert_allclose(grid, np.round(grid), atol=1e-6)
    assert abs(est.m_[0, 0] - TRUTH["m"]) < 0.1


def test_get_set_params_and_refit():
    est = DriPP(lower=0.05, upper=0.5)
    assert est.get_params()["upper"] == 0.5
    assert est.set_params(n_iter=5) is est and est.n_iter == 5
    assert not hasattr(est, "baseline_")
    sklearn_base = pytest.importorskip("sklearn.base")
    clone = sklearn_base.clone(est)
    assert clone.get_params() == est.get_params()


# ------------------------------------------------------------ statistics --
def test_lrt_non_driven_vs_driven():
    t_max, n = 3000.0, 12
    drivers = simulate_drivers(t_max, 1, isi=6.0, jitter=1.0, random_state=11)
    null_atoms = simulate_dripp(drivers, t_max, np.full(n, 0.3),
                                np.zeros((n, 1)), 0.4, 0.2, LOWER, UPPER,
                                random_state=12)
    driven = simulate_dripp(drivers, t_max, 0.3, 0.6, 0.4, 0.2, LOWER, UPPER,
                            random_state=13)
    est = DriPP(lower=LOWER, upper=UPPER).fit(null_atoms + [driven], drivers,
                                              t_max)
    res = est.likelihood_ratio_test()
    assert res["pvalue"].shape == (n + 1, 1)
    p_null, p_driven = res["pvalue"][:n, 0], res["pvalue"][n, 0]
    # alpha near 0: less than 1 driven event per 20 stimuli
    assert np.median(est.alpha_[:n, 0]) < 0.02 and est.alpha_[:n].max() < 0.05
    assert np.mean(p_null < 0.05) <= 0.25 and np.median(p_null) > 0.2
    assert p_driven < 1e-6 and res["pvalue_global"][n] < 1e-6
    assert abs(est.alpha_[n, 0] - 0.6) < 0.2
    chibar = est.likelihood_ratio_test(null="chibar")["pvalue"]
    assert np.all(chibar <= res["pvalue"] + 1e-12)  # chi2(3) is more cautious
    boot = DriPP().fit([null_atoms[0], driven], drivers, t_max)
    pb = boot.likelihood_ratio_test(null="bootstrap", n_boot=19,
                                    random_state=0)["pvalue"][:, 0]
    assert pb[1] == pytest.approx(1 / 20) and pb[0] > 0.05


def test_bootstrap_ci_width_matches_sampling_spread(driven_fit):
    # Sampling sd of the estimates at this design, measured over 50
    # simulated recordings: a 95% interval should be about 3.9 sd wide.
    # (Coverage measured over 100 recordings of 5000 s: m 97%, sigma 92%,
    # alpha 90%, mu 94%.)
    sd = dict(alpha=0.029, m=0.010, sigma=0.0104)
    ci = driven_fit.bootstrap_ci(n_boot=60, random_state=0)
    assert ci["m"].shape == (1, 1, 2) and ci["baseline"].shape == (1, 2)
    for name, s in sd.items():
        low, high = ci[name][0, 0]
        assert low < getattr(driven_fit, name + "_")[0, 0] < high
        assert 0.5 < (high - low) / (3.92 * s) < 2.0, (name, low, high)
    again = driven_fit.bootstrap_ci(n_boot=60, random_state=0)
    np.testing.assert_array_equal(ci["m"], again["m"])


# ------------------------------------------------------------- bad input --
@pytest.mark.parametrize("kwargs, match", [
    (dict(driver_times=[]), "driver_times"),
    (dict(driver_times=[np.array([])]), "driver_times"),
    (dict(driver_times=[np.array([1.0, 200.0])]), "driver_times.*t_max"),
    (dict(atom_times=np.array([5.0, 101.0])), "atom_times.*t_max"),
    (dict(atom_times=np.array([-1.0, 5.0])), "atom_times.*negative"),
    (dict(driver_times=[np.array([-0.5, 5.0])]), "driver_times.*negative"),
    (dict(atom_times=np.array([1.0, np.nan])), "atom_times.*NaN"),
    (dict(driver_times=[np.array([np.nan])]), "driver_times.*NaN"),
    (dict(atom_times=[]), "atom_times"),
    (dict(t_max=-5.0), "t_max"),
    (dict(t_max=np.nan), "t_max"),
])
def test_bad_input_raises(kwargs, match):
    args = dict(atom_times=np.array([1.0, 2.5]),
                driver_times=[np.array([1.0, 2.0])], t_max=100.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        DriPP().fit(**args)


@pytest.mark.parametrize("params, match", [
    (dict(lower=0.5, upper=0.5), "lower must be < upper"),
    (dict(lower=0.8, upper=0.1), "lower must be < upper"),
    (dict(lower=-0.1), "lower"),
    (dict(n_iter=0), "n_iter"),
    (dict(sfreq=-1.0), "sfreq"),
])
def test_bad_parameters_raise_in_fit(params, match):
    est = DriPP(**params)  # __init__ does not validate
    with pytest.raises(ValueError, match=match):
        est.fit(np.array([1.0]), [np.array([0.5])], 10.0)


def test_methods_need_fit():
    with pytest.raises(RuntimeError, match="not fitted"):
        DriPP().intensity([1.0])


# ------------------------------------------------- from CDL output / MNE --
def test_events_from_activations():
    sfreq = 100.0
    z = np.zeros((2, 2, 50))
    z[0, 0, [3, 10, 11, 30]] = [1.0, 0.5, 2.0, 0.2]  # 10-11: one peak at 11
    z[1, 0, 7] = 4.0
    z[0, 1, [20, 21]] = 1.0  # plateau: one event at its start
    times = events_from_activations(z, sfreq)
    np.testing.assert_allclose(times[0], [0.03, 0.11, 0.30, 0.57])
    np.testing.assert_allclose(times[1], [0.20])
    top = events_from_activations(z, sfreq, threshold="absolute", value=1.0)
    np.testing.assert_allclose(top[0], [0.03, 0.11, 0.57])
    rel = events_from_activations(z[0], sfreq, threshold="relative",
                                  value=0.6)
    np.testing.assert_allclose(rel[0], [0.11])
    pct = events_from_activations(z, sfreq, threshold="percentile", value=50)
    np.testing.assert_allclose(pct[0], [0.11, 0.57])
    with pytest.raises(ValueError, match="non-negative"):
        events_from_activations(-z, sfreq)
    with pytest.raises(ValueError, match="threshold"):
        events_from_activations(z, sfreq, threshold="max")


def test_fit_from_annotations_end_to_end():
    mne = pytest.importorskip("mne")
    sfreq, t_max = 100.0, 3000.0
    drivers = simulate_drivers(t_max, 2, isi=4.0, jitter=1.0, random_state=14)
    atoms = simulate_dripp(drivers, t_max - 1, [0.2, 0.2],
                           [[0.9, 0.0], [0.0, 0.9]], 0.3, 0.08, LOWER, UPPER,
                           random_state=15)
    z = np.zeros((1, 2, int(t_max * sfreq)))
    for k, times in enumerate(atoms):
        z[0, k, np.round(times * sfreq).astype(int)] = 1.0
    onsets = np.concatenate(drivers)
    desc = np.repeat(["T1", "T2"], [d.size for d in drivers])
    annot = mne.Annotations(onsets, 0.1, desc)
    est, names = fit_dripp_from_annotations(z, sfreq, annot,
                                            event_id=["T1", "T2"])
    assert names == ["T1", "T2"]
    assert est.alpha_[0, 0] > 0.6 and est.alpha_[0, 1] < 0.1
    assert est.alpha_[1, 1] > 0.6 and est.alpha_[1, 0] < 0.1
    assert abs(est.m_[0, 0] - 0.3) < 0.05
    events = np.c_[np.round(onsets * sfreq).astype(int),
                   np.zeros(onsets.size, int), np.repeat([2, 3], [
                       d.size for d in drivers])]
    drv, names = drivers_from_annotations(events, sfreq, dict(T1=2, T2=3))
    assert names == ["T1", "T2"]
    np.testing.assert_allclose(drv[1], np.sort(drivers[1]), atol=0.006)


def test_plot_kernels_returns_figure(driven_fit):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = driven_fit.plot_kernels(driver_names=["stim"], show=False)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].lines) == 2  # kernel + baseline
    plt.close(fig)


# -------------------------------------------------------------- real data --
def _read_eegbci(folder):
    """S001R03 band-passed 2-45 Hz, and its T1/T2 cues as MNE events."""
    mne = pytest.importorskip("mne")
    fname = Path(folder) / "S001R03.edf"
    if not fname.exists():
        pytest.skip(f"{fname} not found (set CDL_DATA_EEGBCI)")
    raw = mne.io.read_raw_edf(fname, preload=True, verbose=False)
    raw.filter(2.0, 45.0, verbose=False)
    events, event_id = mne.events_from_annotations(raw, verbose=False)
    event_id = {k: v for k, v in event_id.items() if k in ("T1", "T2")}
    return raw, events, event_id


@pytest.mark.requires_data
def test_real_data_annotations_pipeline(eegbci_path):
    """EEGBCI cues as drivers; stand-in activations from the data itself."""
    raw, events, event_id = _read_eegbci(eegbci_path)
    sfreq = raw.info["sfreq"]
    # Rectified C3/C4 signals as two stand-in 'atoms' (no CDL needed here).
    z = np.abs(raw.get_data(picks=[8, 12]))[None]
    est, names = fit_dripp_from_annotations(
        z, sfreq, events, event_id, threshold="percentile", value=99.0)
    assert names == ["T1", "T2"] and est.alpha_.shape == (2, 2)
    for name in ("baseline_", "alpha_", "m_", "sigma_"):
        assert np.all(np.isfinite(getattr(est, name)))


@pytest.mark.requires_data
@pytest.mark.slow
def test_real_data_with_cdl(eegbci_path):
    try:
        from cdl import BatchCDL
    except ImportError:
        pytest.skip("cdl.BatchCDL is not available yet")
    raw, events, event_id = _read_eegbci(eegbci_path)
    X = raw.get_data()[None]
    cdl = BatchCDL(n_atoms=4, n_times_atom=80, reg=0.2, n_iter=10,
                   random_state=0).fit(X)
    est, names = fit_dripp_from_annotations(cdl.z_hat_, raw.info["sfreq"],
                                            events, event_id)
    assert est.alpha_.shape == (4, 2)
    for name in ("baseline_", "alpha_", "m_", "sigma_"):
        assert np.all(np.isfinite(getattr(est, name)))
