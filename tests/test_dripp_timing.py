"""DriPP on atom occurrences: latencies from the stimulus to the peak of the
waveform, estimates inside the support, flags on collapsed fits, the support
checked against the data, the 'shift' null, and the DriPP result file."""
import mne
import numpy as np
import pytest

from cdl import pipeline
from cdl.dripp import DriPP
from cdl.dripp.checks import support_report
from data_fetchers import Recording

SFREQ = 150.


def _stimuli(rng, n=80, t_max=120.):
    gaps = 0.6 + rng.exponential(0.9, n)
    stim = np.round(np.cumsum(gaps) * SFREQ) / SFREQ
    return stim[stim < t_max - 1]


def _recording(stim, n_times, n_atoms=2):
    """A Recording with 'stim' annotations (the signal is not used by DriPP)."""
    info = mne.create_info(["a"], SFREQ, "eeg")
    annotations = mne.Annotations(stim, 0., "stim")
    return Recording(X=np.zeros((1, 1, n_times)), info=info,
                     events=np.zeros((0, 3), int), event_id={},
                     annotations=annotations, preprocessing={},
                     trial_starts=np.array([0]), first_samp=0)


def _planted(seed=0, latency=0.1, jitter=0.004, peak=12, n_times_atom=40):
    """z of a locked atom (peak of |v| at `latency` after each stimulus) and
    of an atom at random times, with their waveforms."""
    rng = np.random.RandomState(seed)
    stim = _stimuli(rng)
    n_times = int(120 * SFREQ)
    z = np.zeros((1, 2, n_times - n_times_atom + 1))
    onsets = np.round((stim + latency + jitter * rng.randn(stim.size))
                      * SFREQ).astype(int) - peak
    z[0, 0, onsets] = rng.uniform(0.5, 1.5, onsets.size)
    z[0, 0, onsets + 1] = 0.3 * z[0, 0, onsets]  # a falling shoulder: one peak
    random = rng.choice(z.shape[2], 100, replace=False)
    z[0, 1, random] = rng.uniform(0.5, 1.5, random.size)
    v = np.zeros((2, n_times_atom))
    v[0, peak], v[0, 2] = -1., 0.5  # the timing point: the largest |v|
    v[1, 20] = 1.
    return _recording(stim, n_times), z, v, stim


def test_latency_from_the_stimulus_to_the_peak_of_v():
    recording, z, v, stim = _planted()
    result = pipeline.run_dripp(recording, z, v=v, n_boot=0, n_null=99)
    dripp, pvalue = result["dripp"], result["lrt"]["pvalue"][:, 0]
    assert result["lrt"]["null"] == "shift"
    assert len(dripp.atom_times_[0]) == len(stim)  # one per stimulus
    assert abs(dripp.m_[0, 0] - 0.1) <= 1. / SFREQ
    assert dripp.sigma_[0, 0] < 0.01
    assert dripp.alpha_[0, 0] == pytest.approx(1., abs=0.1)
    assert pvalue[0] < 1e-3 and pvalue[1] > 0.01  # locked, not locked
    assert dripp.flags_[0][0] == []
    # timed at the window start (v not given), the occurrences come 20 ms
    # after the stimuli, before the support [0.03, 0.8]: the atom is missed
    start = pipeline.run_dripp(recording, z, v=None, n_boot=0, n_null=99)
    assert start["lrt"]["pvalue"][0, 0] > 0.01


def test_estimates_never_leave_the_support():
    rng = np.random.RandomState(0)
    stim = _stimuli(rng, n=200, t_max=400.)
    # one occurrence after each stimulus, at an exponential delay (a density
    # decreasing over the support [0.03, 0.8]: the best truncated Gaussian has
    # its mean below 0.03, where m was found before it was bounded)
    delays = 0.03 + rng.exponential(0.15, stim.size)
    atoms = np.sort(np.concatenate([stim + delays, rng.uniform(0, 400., 60)]))
    atoms = np.round(atoms[atoms < 400.] * SFREQ) / SFREQ
    dripp = DriPP(lower=0.03, upper=0.8, sfreq=SFREQ).fit([atoms], [stim], 400.)
    assert dripp.m_[0, 0] == pytest.approx(0.03)
    assert dripp.flags_[0][0] == ["m_at_edge"]
    assert dripp.alpha_[0, 0] > 0.8
    ci = dripp.bootstrap_ci(n_boot=10, random_state=0)
    assert np.all((ci["m"] >= 0.03) & (ci["m"] <= 0.8))


def test_collapsed_and_few_event_fits_are_flagged():
    rng = np.random.RandomState(1)
    stim = _stimuli(rng)
    # three occurrences at the same delay after three stimuli: a kernel of
    # zero width explains them
    atoms = [np.sort(np.concatenate([stim[[3, 30, 60]] + 0.2,
                                     rng.uniform(0, 120., 2)]))]
    dripp = DriPP(sfreq=SFREQ).fit(atoms, [stim], 120.)
    assert dripp.sigma_[0, 0] <= 1.05 * dripp.sigma_min_
    assert set(dripp.flags_[0][0]) >= {"collapsed", "few_events"}


def test_support_report():
    stim = [np.array([1., 5., 9.5])]
    report = support_report(0.03, 0.8, stim, 10.)
    assert report["n_driver_events"] == 3 and report["n_full_support"] == 2
    assert report["median_interval"] == pytest.approx(4.25)
    assert "1 of 3 driver events have part of their support" in report["notes"][0]
    # trials of 2 s: the support must fit after each event in its trial
    report = support_report(0.03, 1.5, stim, 10., segments=[(0., 2.), (4., 6.),
                                                           (8., 10.)])
    assert report["n_full_support"] == 0 and report["max_delay"] == pytest.approx(1.)
    assert "upper = 1.5 s" not in " ".join(report["notes"])
    report = support_report(0.03, 5., stim, 10.)
    assert any("longer than the median interval" in n for n in report["notes"])
    with pytest.raises(ValueError, match="outside the data after every driver"):
        support_report(1.2, 1.5, stim, 10., segments=[(0., 2.), (4., 6.),
                                                     (8., 10.)])


@pytest.mark.slow
def test_shift_null_rejects_unlocked_atoms_at_the_nominal_rate():
    """Non-locked atoms (Poisson and bursts) get p <= 0.01 about 1% of the
    time with 'shift' (at most 4 of 120 here), where chi2 is liberal."""
    rng = np.random.RandomState(0)
    stim = _stimuli(rng)
    atoms = []
    for i in range(120):
        if i % 2:
            times = rng.uniform(0, 120., rng.poisson(rng.choice([3, 12, 40])))
        else:  # bursts of 2-6 occurrences
            centres = rng.uniform(0, 118., rng.poisson(8))
            times = np.concatenate([c + np.cumsum(rng.uniform(0.03, 0.1,
                                                              rng.randint(2, 7)))
                                    for c in centres] or [np.empty(0)])
        atoms.append(np.unique(np.round(times * SFREQ) / SFREQ))
    dripp = DriPP(sfreq=SFREQ).fit(atoms, [stim], 120.)
    shift = dripp.likelihood_ratio_test(null="shift", n_boot=99, random_state=0)
    assert np.sum(shift["pvalue"][:, 0] <= 0.01) <= 4


def test_dripp_result_file_round_trip(tmp_path):
    recording, z, v, _ = _planted(seed=2)
    result = pipeline.run_dripp(recording, z, v=v, n_boot=5, n_null=20)
    fname = pipeline.save_dripp(tmp_path / "dripp.npz", result, "rec.fif")
    back = pipeline.load_dripp(fname)
    assert back["recording"] == "rec.fif" and back["driver_names"] == ["stim"]
    for name in ("baseline_", "alpha_", "m_", "sigma_"):
        np.testing.assert_array_equal(getattr(back["dripp"], name),
                                      getattr(result["dripp"], name))
    for k in range(2):
        np.testing.assert_array_equal(back["dripp"].atom_times_[k],
                                      result["dripp"].atom_times_[k])
    np.testing.assert_array_equal(back["ci"]["m"], result["ci"]["m"])
    np.testing.assert_array_equal(back["lrt"]["pvalue"], result["lrt"]["pvalue"])
    assert back["support"] == result["support"]
    assert back["dripp"].flags_ == result["dripp"].flags_
    np.testing.assert_allclose(back["dripp"].intensity([1., 2.]),
                               result["dripp"].intensity([1., 2.]))
