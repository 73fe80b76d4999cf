"""Tests of cdl.simulate: shapes, reproducibility, ground truth and EEG realism."""

import mne
import numpy as np
import pytest

from cdl.simulate import EEGTruth, simulate_data, simulate_eeg
from cdl.simulate.signals import _make_waveforms


def _reconstruct(u, v, z):
    """Plain numpy model: X[n] = sum_k outer(u_k, np.convolve(z[n, k], v_k))."""
    n_trials, n_atoms, n_times_valid = z.shape
    X = np.zeros((n_trials, u.shape[1], n_times_valid + v.shape[1] - 1))
    for n in range(n_trials):
        for k in range(n_atoms):
            X[n] += np.outer(u[k], np.convolve(z[n, k], v[k]))
    return X


def _max_xcorr(a, b):
    return np.abs(np.correlate(a, b, "full")).max() / (
        np.linalg.norm(a) * np.linalg.norm(b))


def _band_fraction(x, sfreq, bands, n_fft=4096):
    freqs = np.fft.rfftfreq(n_fft, 1. / sfreq)
    power = np.abs(np.fft.rfft(x, n_fft)) ** 2
    inside = np.zeros(len(freqs), dtype=bool)
    for lo, hi in bands:
        inside |= (freqs >= lo) & (freqs <= hi)
    return power[inside].sum() / power.sum()


# ------------------------------------------------------------- simulate_data
@pytest.mark.parametrize("n_trials, n_channels, n_times, n_atoms, n_times_atom", [
    (2, 5, 1000, 3, 32), (1, 1, 200, 1, 1), (3, 10, 500, 6, 20)])
def test_simulate_data_shapes(n_trials, n_channels, n_times, n_atoms,
                              n_times_atom):
    X, u, v, z = simulate_data(n_trials, n_channels, n_times, n_atoms,
                               n_times_atom, random_state=0)
    assert X.shape == (n_trials, n_channels, n_times)
    assert u.shape == (n_atoms, n_channels)
    assert v.shape == (n_atoms, n_times_atom)
    assert z.shape == (n_trials, n_atoms, n_times - n_times_atom + 1)
    assert np.all(np.isfinite(X))


def test_simulate_data_reproducible():
    a = simulate_data(random_state=42)
    b = simulate_data(random_state=42)
    c = simulate_data(random_state=np.random.RandomState(42))
    d = simulate_data(random_state=43)
    for x, y, w in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, w)
    assert not np.array_equal(a[0], d[0])
    assert not np.array_equal(a[3], d[3])


def test_global_random_state_untouched():
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    simulate_data(random_state=None)
    simulate_data(random_state=1)
    simulate_eeg(duration=5., random_state=None)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    # None gives a fresh generator: two calls differ
    assert not np.array_equal(simulate_data()[0], simulate_data()[0])


def test_simulate_data_model_matches_numpy_reconstruction():
    X, u, v, z = simulate_data(n_trials=3, n_channels=4, n_times=600,
                               n_atoms=4, n_times_atom=25, noise_level=0.,
                               random_state=0)
    np.testing.assert_allclose(X, _reconstruct(u, v, z), rtol=1e-12, atol=1e-12)


def test_simulate_data_noise_level():
    X0, u, v, z = simulate_data(n_times=5000, noise_level=0., random_state=3)
    X, *_ = simulate_data(n_times=5000, noise_level=0.5, random_state=3)
    noise = X - _reconstruct(u, v, z)
    assert np.isclose(noise.std() / X0.std(), 0.5, rtol=0.05)


def test_simulate_data_activations():
    n_times, n_times_atom, density = 3000, 40, 0.01
    _, _, _, z = simulate_data(n_trials=3, n_times=n_times, n_atoms=3,
                               n_times_atom=n_times_atom, density=density,
                               random_state=0)
    n_times_valid = n_times - n_times_atom + 1
    assert np.all(z >= 0)
    for z_nk in z.reshape(-1, n_times_valid):
        onsets = np.flatnonzero(z_nk)
        assert len(onsets) == round(density * n_times_valid)
        assert np.all(np.diff(onsets) >= n_times_atom)
        assert np.all((z_nk[onsets] >= 1) & (z_nk[onsets] <= 2))
    # n_events overrides density; the densest packing is feasible
    _, _, _, z = simulate_data(n_times=100, n_times_atom=10, n_events=10,
                               random_state=0)
    assert np.all((z > 0).sum(axis=-1) == 10)
    assert np.all(np.diff(np.flatnonzero(z[0, 0])) == 10)


def test_simulate_data_atoms_unit_norm_and_separated():
    _, u, v, _ = simulate_data(n_channels=8, n_atoms=5, n_times_atom=64,
                               random_state=0)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.)
    for k in range(5):
        for j in range(k + 1, 5):
            assert _max_xcorr(v[k], v[j]) < 0.6, (k, j)


@pytest.mark.parametrize("n_times_atom", [1, 2, 3, 8, 32])
def test_waveforms_finite_unit_norm(n_times_atom):
    v = _make_waveforms(12, n_times_atom, np.random.RandomState(0))
    assert v.shape == (12, n_times_atom)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_trials=0), "n_trials"),
    (dict(n_channels=0), "n_channels"),
    (dict(n_times=0), "n_times"),
    (dict(n_atoms=0), "n_atoms"),
    (dict(n_times_atom=0), "n_times_atom"),
    (dict(n_times=100, n_times_atom=101), "n_times_atom"),
    (dict(density=0.), "density"),
    (dict(density=-0.1), "density"),
    (dict(density=0.5), "density"),
    (dict(n_events=0), "n_events"),
    (dict(n_times=100, n_times_atom=10, n_events=11), "n_events"),
    (dict(noise_level=-1.), "noise_level"),
    (dict(noise_level=np.inf), "noise_level"),
    (dict(random_state="seed"), "random_state"),
])
def test_simulate_data_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_data(**kwargs)


def test_simulate_data_bad_types():
    with pytest.raises(TypeError, match="n_atoms"):
        simulate_data(n_atoms=2.5)


# -------------------------------------------------------------- simulate_eeg
@pytest.fixture(scope="module")
def eeg():
    return simulate_eeg(duration=60., sfreq=200., random_state=0)


def _atom(truth, name):
    return truth.names.index(name)


def test_simulate_eeg_raw(eeg):
    raw, truth = eeg
    montage = mne.channels.make_standard_montage("biosemi64")
    assert isinstance(raw, mne.io.RawArray)
    assert raw.ch_names == montage.ch_names
    assert set(raw.get_channel_types()) == {"eeg"}
    assert raw.info["sfreq"] == 200. and raw.n_times == 12000
    # the montage is set (MNE moves it to head coordinates: compare distances)
    pos = raw.get_montage().get_positions()["ch_pos"]
    ref = montage.get_positions()["ch_pos"]
    pos, ref = (np.array([p[ch] for ch in raw.ch_names]) for p in (pos, ref))
    np.testing.assert_allclose(np.linalg.norm(pos[:, None] - pos, axis=-1),
                               np.linalg.norm(ref[:, None] - ref, axis=-1),
                               atol=1e-9)
    data = raw.get_data()
    assert 1e-6 < data.std() < 1e-4  # volts, EEG scale
    assert isinstance(truth, EEGTruth)
    assert truth.names == ["mu", "evoked", "blink", "alpha"]
    assert truth.n_times_atom == 100 and truth.sfreq == 200.
    assert truth.u.shape == (4, 64) and truth.v.shape == (4, 100)
    assert truth.z.shape == (1, 4, 12000 - 100 + 1)
    assert truth.uv.shape == (4, 164)
    np.testing.assert_array_equal(truth.uv[:, :64], truth.u)
    assert truth.noise.shape == (64, 12000)


def test_simulate_eeg_atoms_reconstruct(eeg):
    raw, truth = eeg
    atoms = _reconstruct(truth.u, truth.v, truth.z)[0]
    np.testing.assert_allclose(raw.get_data() - truth.noise, atoms,
                               rtol=1e-7, atol=1e-14)
    snr = 10 * np.log10(np.mean(atoms ** 2) / np.mean(truth.noise ** 2))
    assert np.isclose(snr, truth.snr_db, atol=1e-6)


def test_simulate_eeg_unit_norm_nonnegative_separated(eeg):
    _, truth = eeg
    np.testing.assert_allclose(np.linalg.norm(truth.u, axis=1), 1.)
    np.testing.assert_allclose(np.linalg.norm(truth.v, axis=1), 1.)
    assert np.all(truth.z >= 0)
    for k in range(len(truth.names)):
        onsets = np.flatnonzero(truth.z[0, k])
        assert len(onsets) >= 10, truth.names[k]
        assert np.all(np.diff(onsets) >= truth.n_times_atom)


def test_simulate_eeg_topographies(eeg):
    raw, truth = eeg
    peak = {name: raw.ch_names[np.argmax(truth.u[k])]
            for k, name in enumerate(truth.names)}
    assert peak["blink"] in {"Fp1", "Fpz", "Fp2", "AF7", "AF3", "AFz", "AF4",
                             "AF8"}
    assert peak["mu"] in {"C3", "C1", "C5", "FC3", "CP3"}
    assert peak["evoked"] in {"CPz", "CP1", "CP2", "Cz", "Pz"}
    assert peak["alpha"] in {"Oz", "O1", "O2", "POz", "Iz"}
    # smooth bumps: far channels get much less than the peak
    blink = truth.u[_atom(truth, "blink")]
    assert blink[raw.ch_names.index("Oz")] < 0.01 * blink.max()


def test_simulate_eeg_waveform_spectra(eeg):
    _, truth = eeg
    mu = truth.v[_atom(truth, "mu")]
    assert _band_fraction(mu, truth.sfreq, [(8, 12)]) > 0.6
    harmonics = [(7, 13), (17, 23), (27, 33)]
    assert _band_fraction(mu, truth.sfreq, harmonics) > 0.9
    # comb shape: negative peaks sharper and deeper than the positive ones
    assert -mu.min() > 1.3 * mu.max()
    blink = truth.v[_atom(truth, "blink")]
    assert _band_fraction(blink, truth.sfreq, [(0, 4)]) > 0.6
    evoked = truth.v[_atom(truth, "evoked")]
    assert evoked.max() > 0.5 * np.abs(evoked).max()  # biphasic
    assert -evoked.min() > 0.5 * np.abs(evoked).max()


def test_simulate_eeg_stimuli_match_evoked(eeg):
    raw, truth = eeg
    annot = raw.annotations
    assert len(annot) >= 15 and set(annot.description) == {"stim"}
    stim = np.round(annot.onset * truth.sfreq).astype(int)
    np.testing.assert_array_equal(stim, truth.stim_samples)
    isi = np.diff(annot.onset)
    assert np.all((isi > 2. - 0.01) & (isi < 3. + 0.01))
    lag = round(truth.latency * truth.sfreq)
    assert lag == 20
    events = np.flatnonzero(truth.z[0, _atom(truth, "evoked")])
    np.testing.assert_array_equal(events, stim + lag)


def test_simulate_eeg_latency_jitter():
    raw, truth = simulate_eeg(duration=60., latency=0.15, latency_jitter=0.02,
                              atoms=["evoked"], random_state=1)
    events = np.flatnonzero(truth.z[0, 0])
    delays = (events - truth.stim_samples) / truth.sfreq
    assert len(events) == len(truth.stim_samples)
    assert np.std(delays) > 0.005
    assert abs(np.mean(delays) - 0.15) < 0.02


def test_simulate_eeg_background_is_pink_and_mixed(eeg):
    _, truth = eeg
    freqs = np.fft.rfftfreq(truth.noise.shape[1], 1. / truth.sfreq)
    power = np.mean(np.abs(np.fft.rfft(truth.noise, axis=1)) ** 2, axis=0)
    low = power[(freqs >= 2) & (freqs < 4)].mean()
    high = power[(freqs >= 40) & (freqs < 80)].mean()
    assert 5 < low / high < 60  # ~ 1/f: expected ratio about 20
    corr = np.corrcoef(truth.noise)
    np.fill_diagonal(corr, 0)
    assert np.mean(corr.max(axis=1)) > 0.5  # not white across channels


def test_simulate_eeg_reproducible():
    raw1, truth1 = simulate_eeg(duration=60., sfreq=200., random_state=7)
    raw2, truth2 = simulate_eeg(duration=60., sfreq=200., random_state=7)
    raw3, truth3 = simulate_eeg(duration=60., sfreq=200., random_state=8)
    np.testing.assert_array_equal(raw1.get_data(), raw2.get_data())
    np.testing.assert_array_equal(truth1.z, truth2.z)
    np.testing.assert_array_equal(raw1.annotations.onset,
                                  raw2.annotations.onset)
    assert not np.array_equal(raw1.get_data(), raw3.get_data())
    assert not np.array_equal(truth1.z, truth3.z)


@pytest.mark.parametrize("n_channels, sfreq", [(32, 160.), (128, 256.)])
def test_simulate_eeg_other_montages(n_channels, sfreq):
    raw, truth = simulate_eeg(duration=20., sfreq=sfreq, n_channels=n_channels,
                              atoms=("blink", "mu"), random_state=0)
    assert len(raw.ch_names) == n_channels and raw.info["sfreq"] == sfreq
    assert truth.names == ["blink", "mu"]
    assert truth.n_times_atom == round(0.5 * sfreq)
    atoms = _reconstruct(truth.u, truth.v, truth.z)[0]
    np.testing.assert_allclose(raw.get_data() - truth.noise, atoms,
                               rtol=1e-7, atol=1e-14)


@pytest.mark.parametrize("kwargs, match", [
    (dict(duration=0.), "duration"),
    (dict(duration=0.2), "duration"),
    (dict(sfreq=20.), "sfreq"),
    (dict(n_channels=63), "n_channels"),
    (dict(atoms=["mu", "gamma"]), "atoms"),
    (dict(atoms=[]), "atoms"),
    (dict(atoms=["mu", "mu"]), "atoms"),
    (dict(atom_duration=0.1), "atom_duration"),
    (dict(latency=-0.1), "latency"),
    (dict(latency_jitter=-1.), "latency_jitter"),
    (dict(isi=(0.2, 1.)), "isi"),
    (dict(isi=(3., 2.)), "isi"),
    (dict(snr_db=np.nan), "snr_db"),
    (dict(random_state="seed"), "random_state"),
])
def test_simulate_eeg_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_eeg(**kwargs)
