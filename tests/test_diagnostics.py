"""Diagnostics of a learned dictionary: flags and descriptive labels
(cdl.model.diagnostics), and the same on a fitted estimator."""
import numpy as np
import pytest

from cdl import BatchCDL
from cdl.model.diagnostics import (
    band_of,
    band_shares,
    channel_region,
    describe_atoms,
    dominant_pole,
    flag_atoms,
    label_atom,
    lateral_frontal_side,
    model_shares,
)

SFREQ = 160.
NAMES = ["Fp1", "Fp2", "AF3", "F3", "FC3", "C3", "C4", "CP3", "P3", "Pz", "PO3",
         "O1", "O2", "Oz", "T7", "FT8", "TP7", "Iz", "F7", "AF7", "F8", "AF8"]


@pytest.mark.parametrize("name, region", [
    ("Fp1", "frontal"), ("AF8", "frontal"), ("F3", "frontal"), ("Fz", "frontal"),
    ("FC3", "central"), ("C4", "central"), ("CPz", "central"), ("Cz", "central"),
    ("P7", "parietal"), ("PO3", "occipital"), ("O1", "occipital"),
    ("Iz", "occipital"), ("T7", "temporal"), ("FT8", "temporal"),
    ("TP7", "temporal"), ("Fc3.", "central"), ("EEG C3", "central"),
    ("STI 014", None), ("EOG", None), ("MEG 0113", None),
])
def test_channel_region(name, region):
    assert channel_region(name) == region


@pytest.mark.parametrize("name, side", [
    ("F7", "left"), ("AF7", "left"), ("FT9", "left"), ("F8", "right"),
    ("FT10", "right"), ("EEG AF8", "right"), ("Fp1", None), ("AF3", None),
    ("Fz", None), ("F3", None), ("T7", None), ("FC7", None), ("MEG 0113", None),
])
def test_lateral_frontal_side(name, side):
    assert lateral_frontal_side(name) == side


def test_bands():
    assert [band_of(f) for f in (0.2, 2., 6., 10., 20., 45.)] == [
        "slow", "delta", "theta", "alpha", "beta", "gamma"]


def _pattern(*channels):
    u = np.full(len(NAMES), 0.01)
    for ch in channels:
        u[NAMES.index(ch)] = 1.
    return u / np.linalg.norm(u)


T = np.arange(80) / SFREQ  # 0.5 s atoms


@pytest.mark.parametrize("u, v, label", [
    (_pattern("Fp1", "Fp2", "AF3"), np.hanning(80), "blink-like"),
    # one side's lateral frontal channels: a horizontal eye movement
    (_pattern("F8", "AF8", "FT8"), np.hanning(80), "eye-movement-like"),
    # both sides at once is not
    (_pattern("F7", "F8", "AF7", "AF8"), np.hanning(80), "blink-like"),
    (_pattern("O1", "O2", "Oz"), np.sin(2 * np.pi * 10 * T) * np.hanning(80),
     "alpha"),
    (_pattern("C3", "FC3", "CP3"), np.sin(2 * np.pi * 10 * T) * np.hanning(80),
     "mu"),
    # mu arches: a 10 Hz wave with its 20 Hz harmonic
    (_pattern("C3", "FC3", "CP3"), (np.sin(2 * np.pi * 10 * T)
                                    + 0.5 * np.cos(2 * np.pi * 20 * T))
     * np.hanning(80), "mu, arch-shaped"),
    (_pattern("C3", "C4", "CP3"), np.sin(2 * np.pi * 20 * T) * np.hanning(80),
     "central beta"),
    (_pattern("T7", "FT8", "TP7"), np.sin(2 * np.pi * 35 * T) * np.hanning(80),
     "muscle-like"),
    (_pattern("P3", "Pz"), np.sin(2 * np.pi * 6 * T) * np.hanning(80),
     "parietal theta"),
    (_pattern("Fp1", "O1", "C3", "T7", "P3"), np.sin(2 * np.pi * 6 * T)
     * np.hanning(80), "mixed theta"),
    (_pattern("O1", "O2"), np.sin(2 * np.pi * 50 * T) * np.hanning(80),
     "line noise"),
])
def test_labels_follow_the_documented_rules(u, v, label):
    described = label_atom(u, v, SFREQ, NAMES)
    assert described["label"] == label, described
    assert len(described["top_channels"]) == 5


def test_label_reads_the_dominant_pole():
    # Average-referenced occipital alpha: the occipital pole is the stronger,
    # a weaker frontal pole of the other sign. Ranked by |u|, the top five
    # channels would be O2, Fp1, Fp2, AF3 and one more occipital channel
    # (frontal share 0.6: 'frontal alpha').
    u = np.zeros(len(NAMES))
    u[NAMES.index("O2")] = 1.
    for ch in ("O1", "Oz", "PO3", "Iz"):
        u[NAMES.index(ch)] = 0.8
    for ch in ("Fp1", "Fp2", "AF3"):
        u[NAMES.index(ch)] = -0.9
    v = np.sin(2 * np.pi * 10 * T) * np.hanning(80)
    for sign in (1, -1):  # the sign of an atom is arbitrary
        described = label_atom(sign * u, sign * v, SFREQ, NAMES)
        assert described["label"] == "alpha", described
        assert described["top_channels"][0] == "O2"
        assert set(described["top_channels"]) == {"O2", "O1", "Oz", "PO3", "Iz"}
    np.testing.assert_array_equal(dominant_pole(-u, n_top=2),
                                  [NAMES.index("O2"), NAMES.index("PO3")])


def test_band_shares_match_the_powers_of_sinusoids():
    # 5 s of two sinusoids: their powers are the squared amplitudes / 2, so
    # the shares of delta and beta are 1 / 5 and 4 / 5 (up to leakage).
    t = np.arange(800) / SFREQ
    v = np.sin(2 * np.pi * 2.5 * t) + 2 * np.sin(2 * np.pi * 20 * t)
    shares = band_shares(v, SFREQ)
    assert list(shares) == ["delta", "theta", "alpha", "beta", "gamma"]
    assert abs(sum(shares.values()) - 1) < 1e-12
    assert abs(shares["delta"] - 0.2) < 0.01 and abs(shares["beta"] - 0.8) < 0.01
    assert band_shares(np.ones(80), SFREQ) == dict.fromkeys(shares, 0.)


def test_mixed_spectrum_names_both_bands():
    # One slow peak, and more power spread over five beta frequencies, each
    # weaker than the slow one: the peak is in delta, most power in beta.
    t = np.arange(800) / SFREQ
    v = np.sin(2 * np.pi * 2.5 * t) + sum(
        0.7 * np.sin(2 * np.pi * f * t) for f in (14, 17, 20, 23, 26))
    described = label_atom(_pattern("O1", "O2", "Oz"), v, SFREQ, NAMES)
    assert described["band"] == "delta" and described["main_band"] == "beta"
    assert described["label"] == "occipital delta/beta"
    assert 0.65 < described["band_share"] < 0.75  # 5 x 0.49 / (1 + 5 x 0.49)
    # a frontal one is not called blink-like: its power is not slow
    described = label_atom(_pattern("Fp1", "Fp2", "AF3"), v, SFREQ, NAMES)
    assert described["label"] == "frontal delta/beta"
    # the same beta alone agrees: no second band
    described = label_atom(_pattern("O1", "O2", "Oz"), v - np.sin(
        2 * np.pi * 2.5 * t), SFREQ, NAMES)
    assert described["label"] == "occipital beta"
    assert described["band"] == described["main_band"] == "beta"


def test_alpha_peak_frequency_is_reported():
    v = np.sin(2 * np.pi * 11 * T) * np.hanning(80)
    described = label_atom(_pattern("O1", "O2", "Oz"), v, SFREQ, NAMES)
    assert abs(described["peak_hz"] - 11) < 1 and described["band"] == "alpha"
    assert described["region"] == "occipital" and described["share"] > 0.9


def test_without_names_or_sampling_rate():
    v = np.sin(2 * np.pi * 10 * T) * np.hanning(80)
    u = _pattern("O1", "O2", "Oz")
    described = label_atom(u, v, SFREQ)
    assert described["label"] == "mixed alpha" and described["region"] == "mixed"
    assert described["top_channels"][0] in ("11", "12", "13")
    described = label_atom(u, v, None, NAMES)
    assert described["label"] is None and described["peak_hz"] is None
    assert described["region"] == "occipital"


def test_flags_and_description_of_a_dictionary():
    rng = np.random.RandomState(0)
    n_channels = len(NAMES)
    u, v = rng.randn(4, n_channels), rng.randn(4, 80)
    u[3] = u[1]  # a duplicate pair
    v[3] = np.roll(v[1], 2)
    z = np.zeros((2, 4, 1000))
    z[:, 0, 10:900:50] = 1.
    z[:, 1, 20:900:100] = 1.
    z[0, 2, [5, 500]] = 1.  # rare: 2 occurrences
    z[:, 3, 30:900:60] = 1.
    flags = flag_atoms(u, v, z)
    np.testing.assert_array_equal(flags["occurrences"], [36, 18, 2, 30])
    assert flags["rare"] == [2]
    assert [(j, k) for j, k, _, _ in flags["duplicates"]] == [(1, 3)]
    rows = describe_atoms(u, v, z, NAMES, SFREQ)
    assert [r["rare"] for r in rows] == [False, False, True, False]
    assert rows[1]["duplicate_of"] == [3] and rows[3]["duplicate_of"] == [1]
    assert rows[0]["duplicate_of"] == []
    assert all(isinstance(r["label"], str) and r["occurrences"] >= 0 for r in rows)
    assert [r["atom"] for r in rows] == [0, 1, 2, 3]
    # Thresholds are parameters.
    assert [r["rare"] for r in describe_atoms(u, v, z, NAMES, SFREQ,
                                              min_occurrences=20)] == [
        False, True, True, False]


def _parts_energy(atoms, z):
    """Energy of each atom's reconstruction, atom by atom (plain numpy)."""
    n_trials, n_atoms, n_valid = z.shape
    n_channels, n_times_atom = atoms.shape[1:]
    energy = np.zeros(n_atoms)
    for n in range(n_trials):
        for k in range(n_atoms):
            part = np.zeros((n_channels, n_valid + n_times_atom - 1))
            for t in np.flatnonzero(z[n, k]):
                part[:, t:t + n_times_atom] += z[n, k, t] * atoms[k]
            energy[k] += np.sum(part ** 2)
    return energy


def test_model_shares_match_the_atoms_reconstructions():
    rng = np.random.RandomState(2)
    n_trials, n_atoms, n_channels, n_times_atom, n_valid = 2, 3, 5, 12, 300
    u, v = rng.randn(n_atoms, n_channels), rng.randn(n_atoms, n_times_atom)
    uv = np.hstack([u, v])
    z = np.zeros((n_trials, n_atoms, n_valid))
    z[:, 0, rng.choice(n_valid, 40, replace=False)] = rng.rand(n_trials, 40)
    z[0, 1, [3, 7, 150]] = [2., 5., 1.]  # overlapping occurrences
    z[1, 1, n_valid - 1] = 3.  # at the last valid time
    # atom 2 unused
    energy = _parts_energy(u[:, :, None] * v[:, None, :], z)
    shares = model_shares(uv, z, n_channels)
    np.testing.assert_allclose(shares, energy / energy.sum(), rtol=1e-10)
    assert shares[2] == 0. and np.isclose(shares.sum(), 1.)
    # float32 activations, and no activation at all
    np.testing.assert_allclose(model_shares(uv, z.astype(np.float32), n_channels),
                               shares, rtol=1e-5)
    np.testing.assert_array_equal(model_shares(uv, np.zeros_like(z), n_channels),
                                  0.)
    rows = describe_atoms(u, v, z)
    assert [r["model_share"] for r in rows] == [float(s) for s in shares]
    # full-rank atoms: the shares of the atoms, not of their rank-1 parts
    D = rng.randn(n_atoms, n_channels, n_times_atom)
    energy = _parts_energy(D, z)
    np.testing.assert_allclose(model_shares(D, z, n_channels),
                               energy / energy.sum(), rtol=1e-10)
    rows = describe_atoms(u, v, z, D=D)
    np.testing.assert_allclose([r["model_share"] for r in rows],
                               energy / energy.sum(), rtol=1e-10)
    with pytest.raises(ValueError, match="z must have shape"):
        model_shares(uv, z[:, :2], n_channels)


def test_a_rare_atom_of_large_events_has_a_large_share():
    rng = np.random.RandomState(3)
    u, v = rng.randn(2, 6), rng.randn(2, 20)
    z = np.zeros((1, 2, 2000))
    z[0, 0, 10:1900:40] = 1.  # 48 small occurrences
    z[0, 1, [100, 900, 1500]] = 30.  # 3 large ones
    rows = describe_atoms(u, v, z, min_occurrences=5)
    assert rows[1]["rare"] and not rows[0]["rare"]
    assert rows[1]["model_share"] > rows[0]["model_share"]


def test_fitted_estimator_exposes_the_diagnostics():
    mne = pytest.importorskip("mne")
    rng = np.random.RandomState(1)
    n_times = 3000
    names = ["Fp1", "Fp2", "C3", "C4", "O1", "O2"]
    X = 0.05 * rng.randn(len(names), n_times)
    blink = np.hanning(80)  # 0.5 s
    for t in rng.choice(n_times - 80, 20, replace=False):
        X[:2, t:t + 80] += blink
    info = mne.create_info(names, SFREQ, "eeg")
    raw = mne.io.RawArray(X, info, verbose=False)
    model = BatchCDL(n_atoms=2, n_times_atom=80, n_iter=10, random_state=0,
                     sort_atoms=True, verbose=False).fit(raw)
    rows = model.diagnostics_
    assert len(rows) == 2 and rows[0]["label"] == "blink-like", rows
    assert model.atom_labels_ == [row["label"] for row in rows]
    expected = describe_atoms(model.u_hat_, model.v_hat_, model.z_hat_, names,
                              SFREQ)
    assert [r["occurrences"] for r in rows] == [r["occurrences"] for r in expected]
    assert [r["model_share"] for r in rows] == [r["model_share"] for r in expected]
    # Without Info (an array was fitted): flags, no labels.
    model.info_ = None
    assert model.atom_labels_ == [None, None]
    assert [r["rare"] for r in model.diagnostics_] == [r["rare"] for r in rows]
    with pytest.raises(ValueError, match="not fitted"):
        _ = BatchCDL(n_atoms=2, n_times_atom=40).diagnostics_


def test_full_rank_estimator_shares_come_from_its_atoms():
    rng = np.random.RandomState(4)
    X = rng.randn(1, 4, 600)
    model = BatchCDL(n_atoms=2, n_times_atom=10, rank1=False, n_iter=3,
                     random_state=0, verbose=False).fit(X)
    shares = [r["model_share"] for r in model.diagnostics_]
    energy = _parts_energy(model.D_hat_, model.z_hat_)
    np.testing.assert_allclose(shares, energy / energy.sum(), rtol=1e-8)
