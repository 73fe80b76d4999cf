"""MEG recordings: default picks, per-type scaling, CTF compensation, topomaps
per channel type, model files with MEG Infos, the simulated Neuromag recording
and what CDL recovers from it with the default picks.

The vendor files are read from the environment variable CDL_DATA_MEG, else
``<repo root>/../shared/data/meg``; tests needing them are skipped when absent.
"""
import json
import warnings

import matplotlib

matplotlib.use("Agg")

import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cdl  # noqa: E402
from cdl.io.channels import (  # noqa: E402
    channel_types,
    compensation_grade,
    default_picks,
    pick_channels,
    set_compensation,
    unit_of,
)
from cdl.io.scaling import (  # noqa: E402
    apply_type_scalings,
    check_same_types,
    compute_type_scalings,
    pattern_to_physical,
    undo_type_scalings,
)
from cdl.viz.topomaps import n_topomaps, plot_topomaps, type_groups  # noqa: E402

RAW_FILES = ("kit_test_raw.fif", "bti_4d_test_raw.fif", "ctf_comp_test_raw.fif")
requires_data = pytest.mark.requires_data


def _read_raw(meg_file, name):
    return mne.io.read_raw_fif(meg_file(name), preload=True, verbose=False)


def _counts(info, picks=None):
    types, counts = np.unique(channel_types(info, picks), return_counts=True)
    return dict(zip(types.tolist(), counts.tolist()))


# -- picks -------------------------------------------------------------------------
@requires_data
@pytest.mark.parametrize("name, expected", [
    ("kit_test_raw.fif", {"mag": 157}),
    ("bti_4d_test_raw.fif", {"mag": 248}),
    ("ctf_comp_test_raw.fif", {"mag": 274}),  # not the 29 ref_meg, 35 misc
])
def test_default_picks_vendor_files(meg_file, name, expected):
    raw = _read_raw(meg_file, name)
    assert _counts(raw.info, default_picks(raw.info)) == expected
    # MNE's own "data" and "meg" picks keep CTF's reference channels, ours not
    n_ref = len(mne.pick_types(raw.info, meg=False, ref_meg=True))
    data = mne._fiff.pick._picks_to_idx(raw.info, "data", exclude="bads")
    assert len(data) == sum(expected.values()) + n_ref
    for picks in ("data", None, "meg", ["mag"]):
        assert _counts(raw.info, pick_channels(raw.info, picks)) == expected
    if n_ref:  # asked by type or by name, they are given
        assert len(pick_channels(raw.info, "ref_meg")) == n_ref
        ref = raw.ch_names[mne.pick_types(raw.info, meg=False, ref_meg=True)[0]]
        assert pick_channels(raw.info, [ref]).tolist() == [raw.ch_names.index(ref)]


@requires_data
def test_default_picks_neuromag_excludes_stim_eog_and_bads(sample_info):
    info = sample_info.copy()
    assert _counts(info, default_picks(info)) == {"eeg": 60, "grad": 204,
                                                  "mag": 102}
    info["bads"] = ["MEG 0113", "EEG 053"]
    names = [info["ch_names"][i] for i in default_picks(info)]
    assert len(names) == 364 and "MEG 0113" not in names and "EEG 053" not in names
    assert _counts(info, pick_channels(info, "grad")) == {"grad": 203}
    assert _counts(info, pick_channels(info, ["mag", "eeg"])) == {"mag": 102,
                                                                   "eeg": 59}


def test_default_picks_errors_and_other_types():
    info = mne.create_info(["STI 014", "EOG 061", "ECG", "MISC"], 100.,
                           ["stim", "eog", "ecg", "misc"])
    with pytest.raises(ValueError, match=r"No MEG or EEG data channel.*'ecg', "
                                         r"'eog', 'misc', 'stim'"):
        default_picks(info)
    assert pick_channels(info, "eog").tolist() == [1]  # asked for: given
    info = mne.create_info(["a", "b", "c", "d"], 100., ["seeg", "ecog", "emg", "bio"])
    assert default_picks(info).tolist() == [0, 1]
    assert unit_of("grad") == ("fT/cm", 1e13) and unit_of("bio") == ("a.u.", 1.)


# -- CTF compensation --------------------------------------------------------------
@requires_data
def test_ctf_compensation_kept_recorded_and_reapplied(meg_file):
    raw = _read_raw(meg_file, "ctf_comp_test_raw.fif")
    assert compensation_grade(raw.info) == 3
    compensated = raw.get_data(picks="mag")
    picked = raw.copy().pick(default_picks(raw.info), verbose=False)
    # the data stay compensated and the grade is still known, but it can no
    # longer change (MNE drops the compensators with the reference channels)
    assert compensation_grade(picked.info) == 3 and picked.info["comps"] == []
    np.testing.assert_array_equal(picked.get_data(), compensated)
    with pytest.raises(ValueError, match="grade cannot be changed here"):
        set_compensation(picked, 0)
    # set before picking: the grade the model was fitted at
    graded = set_compensation(raw.copy(), 0)
    assert compensation_grade(graded.info) == 0
    assert np.linalg.norm(graded.get_data(picks="mag") - compensated) > \
        10 * np.linalg.norm(compensated)  # the references remove the far field
    for other in (_read_raw(meg_file, "kit_test_raw.fif"),):
        assert compensation_grade(other.info) is None
    # a model at grade 3 refuses a recording at grade 0 in transform
    model = cdl.BatchCDL(n_atoms=1, n_times_atom=12, n_iter=1,
                         random_state=0).fit(raw)
    assert compensation_grade(model.info_) == 3
    with pytest.raises(ValueError, match=r"grade 0, the model was fitted at "
                                         r"grade 3"):
        model.transform(graded)


@requires_data
def test_ctf_grade_change_warns_about_projectors(meg_file):
    """Projectors made at one compensation grade do not fit the data at
    another: changing the grade with projectors pending warns."""
    raw = _read_raw(meg_file, "ctf_comp_test_raw.fif")
    names = [raw.ch_names[i] for i in mne.pick_types(raw.info, meg="mag")[:20]]
    vec = np.random.RandomState(0).randn(1, len(names))
    proj = mne.Projection(data=dict(nrow=1, ncol=len(names), row_names=None,
                                    col_names=names, data=vec / np.linalg.norm(vec)),
                          desc="test-grade-3", kind=1, active=False,
                          explained_var=None)
    raw.add_proj([proj], verbose=False)
    with pytest.warns(RuntimeWarning, match=r"\(test-grade-3\) were made at CTF "
                                            r"compensation grade 3"):
        set_compensation(raw.copy(), 0)
    with warnings.catch_warnings():  # same grade, or no projector pending
        warnings.simplefilter("error")
        set_compensation(raw.copy(), 3)
        set_compensation(_read_raw(meg_file, "ctf_comp_test_raw.fif"), 0)


# -- per-type scaling --------------------------------------------------------------
def _two_type_signal(rng, n_times=20000):
    """mag noise 1e-13, EEG noise 2e-6, plus sparse EEG events of 1e-4."""
    ch_types = ["mag"] * 6 + ["eeg"] * 4
    X = rng.randn(1, 10, n_times)
    X[0, :6] *= 1e-13
    X[0, 6:] *= 2e-6
    for t in rng.choice(n_times - 50, size=40, replace=False):
        X[0, 6:, t:t + 10] += 1e-4  # 2% of the samples, 50 x the EEG noise
    return X, ch_types


def test_scaling_methods():
    X, ch_types = _two_type_signal(np.random.RandomState(0))
    noise = compute_type_scalings(X, ch_types, "noise")
    assert list(noise) == ["mag", "eeg"]
    assert noise["mag"] == pytest.approx(1e-13, rel=0.05)
    assert noise["eeg"] == pytest.approx(2e-6, rel=0.05)  # events ignored
    std = compute_type_scalings(X, ch_types, "std")
    assert std["mag"] == pytest.approx(1e-13, rel=0.05)
    assert std["eeg"] > 3 * 2e-6  # inflated by the events
    glob = compute_type_scalings(X, ch_types, "global")
    assert glob["mag"] == glob["eeg"] == pytest.approx(
        (X - X.mean(axis=2, keepdims=True)).std())
    scaled = apply_type_scalings(X, ch_types, std)
    for ch_type in ("mag", "eeg"):  # each type: unit variance
        assert scaled[0, np.array(ch_types) == ch_type].std() == pytest.approx(1.,
                                                                             rel=0.01)
    json.dumps(noise)  # plain floats


def test_scaling_errors():
    X = np.random.RandomState(0).randn(2, 3, 100)
    with pytest.raises(ValueError, match="scaling method must be one of"):
        compute_type_scalings(X, ["mag"] * 3, "mad")
    with pytest.raises(ValueError, match="one type per channel"):
        compute_type_scalings(X, ["mag"] * 2)
    with pytest.raises(ValueError, match=r"\['grad'\] without a scaling factor"):
        compute_type_scalings(X, ["mag", "mag", "grad"], {"mag": 1.})
    X[:, 2] = 0.
    with pytest.raises(ValueError, match=r"\['grad'\] are flat"):
        compute_type_scalings(X, ["mag", "mag", "grad"], "std")
    with pytest.raises(ValueError, match=r"No scaling factor.*\['eeg'\]"):
        apply_type_scalings(X, ["mag", "mag", "eeg"], {"mag": 1., "grad": 1.})
    with pytest.raises(ValueError, match=r"lacks the channel type\(s\) \['eeg'\]"):
        check_same_types({"mag": 1., "eeg": 1.}, ["mag"] * 3)


def test_apply_undo_and_physical_patterns():
    rng = np.random.RandomState(1)
    ch_types = ["grad", "mag", "grad", "eeg"]
    scalings = {"grad": 4e-12, "mag": 1e-13, "eeg": 3e-6}
    X = rng.randn(2, 4, 50) * np.array([4e-12, 1e-13, 4e-12, 3e-6])[:, None]
    Xs = apply_type_scalings(X, ch_types, scalings)
    np.testing.assert_allclose(undo_type_scalings(Xs, ch_types, scalings), X)
    u = np.array([[0.5, 0.5, 0.5, 0.5]])
    np.testing.assert_allclose(pattern_to_physical(u, ch_types, scalings),
                               [[2e-12, 5e-14, 2e-12, 1.5e-6]])
    # the model's reconstruction, undone, is the physical one: S (u v) = (S u) v
    v = rng.randn(7)
    np.testing.assert_allclose(
        undo_type_scalings(np.outer(u[0], v), ch_types, scalings),
        np.outer(pattern_to_physical(u[0], ch_types, scalings), v))


def _neuromag_raw(info, seed=0, n_times=3000):
    """A RawArray on the sample info's data channels, each type in its unit."""
    picks = default_picks(info)
    sub = mne.pick_info(info, picks)
    with sub._unlock():
        sub["projs"], sub["sfreq"] = [], 150.
    rng = np.random.RandomState(seed)
    level = {"grad": 5e-12, "mag": 1e-13, "eeg": 3e-6}
    data = rng.randn(len(picks), n_times) * np.array(
        [level[t] for t in channel_types(sub)])[:, None]
    return mne.io.RawArray(data, sub, verbose=False)


@requires_data
def test_scaling_round_trips_through_save_and_load(sample_info, tmp_path):
    """fit(raw) scales each type; the factors are saved, read back and applied
    by transform to a new recording of the same system; the Info (with the
    digitised EEG of the sample data) reads back."""
    raw = _neuromag_raw(sample_info)
    model = cdl.BatchCDL(n_atoms=2, n_times_atom=15, n_iter=2,
                         random_state=0).fit(raw)
    assert set(model.scalings_) == {"grad", "mag", "eeg"}
    assert model.scalings_["mag"] == pytest.approx(1e-13, rel=0.05)
    assert model.scalings_["grad"] == pytest.approx(5e-12, rel=0.05)
    model.save(tmp_path / "model.npz")
    loaded = cdl.read_model(tmp_path / "model.npz")
    assert loaded.scalings_ == model.scalings_
    assert loaded.info_["ch_names"] == model.info_["ch_names"]
    assert loaded.info_.get_montage() is not None  # dig points restored
    assert len(loaded.info_["dig"]) == len(sample_info["dig"])
    np.testing.assert_allclose([c["loc"] for c in loaded.info_["chs"]],
                               [c["loc"] for c in model.info_["chs"]])
    new = _neuromag_raw(sample_info, seed=1)
    z = loaded.transform(new)
    X = apply_type_scalings(new.get_data()[None], channel_types(new.info),
                            model.scalings_)
    np.testing.assert_allclose(z, loaded.transform(X))  # the same factors
    # a new recording twice as large: its factors are not recomputed
    twice = mne.io.RawArray(2 * new.get_data(), new.info, verbose=False)
    assert not np.allclose(loaded.transform(twice), z)
    np.testing.assert_allclose(loaded.transform(twice), loaded.transform(2 * X))
    # the channels are read by name, in the model's order
    shuffled = new.copy().reorder_channels(new.ch_names[::-1])
    np.testing.assert_allclose(loaded.transform(shuffled), z)


# -- topomaps per channel type -----------------------------------------------------
@requires_data
def test_type_groups_neuromag(sample_info):
    info = mne.pick_info(sample_info, default_picks(sample_info))
    values = np.arange(len(info["ch_names"]), dtype=float)
    groups = type_groups(values, info)
    assert [(t, len(i["ch_names"])) for t, i, _ in groups] == [
        ("grad", 204), ("mag", 102), ("eeg", 60)]
    for ch_type, sub_info, sub_values in groups:
        assert set(channel_types(sub_info)) == {ch_type}
        np.testing.assert_array_equal(
            sub_values, [values[info["ch_names"].index(n)]
                         for n in sub_info["ch_names"]])
    with pytest.raises(ValueError, match="Multiple channel types"):
        mne.viz.plot_topomap(values, info, show=False)  # why they are split
    with pytest.raises(ValueError, match="one value per channel"):
        type_groups(values[:-1], info)


@requires_data
@pytest.mark.parametrize("name", ["sample", *RAW_FILES])
def test_plot_topomaps_each_vendor(name, sample_info, meg_file):
    import matplotlib.pyplot as plt

    info = sample_info if name == "sample" else _read_raw(meg_file, name).info
    info = mne.pick_info(info, default_picks(info))
    values = np.random.RandomState(0).randn(len(info["ch_names"]))
    n = n_topomaps(info)
    fig, axes = plt.subplots(1, n + 1)
    scalings = {t: 1e-13 for t in set(channel_types(info))}
    drawn = plot_topomaps(values, info, axes, scalings=scalings, title="atom 0")
    expected = ["grad", "mag", "eeg"] if name == "sample" else ["mag"]
    assert drawn == expected and n == len(expected)
    units = {"grad": "fT/cm", "mag": "fT", "eeg": "uV"}
    for ax, ch_type in zip(axes, drawn):
        assert ax.get_title().startswith(f"atom 0: {ch_type}")
        assert f"({units[ch_type]})" in ax.get_title()
        assert ax.images, "no topomap image drawn"  # not a bar plot
    # the colour scale is in display units: values x factor x 1e15 fT/T
    mag = axes[drawn.index("mag")].images[0].get_clim()
    shown = values[np.array(channel_types(info)) == "mag"] * 1e-13 * 1e15
    assert max(abs(c) for c in mag) == pytest.approx(np.abs(shown).max(), rel=0.3)
    assert not axes[-1].axison  # the spare axis is hidden
    plt.close(fig)
    with pytest.raises(ValueError, match="need"):
        plot_topomaps(values, info, axes[:n - 1] if n > 1 else [])


# -- simulated Neuromag recording --------------------------------------------------
@requires_data
def test_simulated_neuromag_recording(neuromag_sim):
    from cdl.model.occurrences import find_occurrences

    raw, truth = neuromag_sim
    sfreq = truth.sfreq
    assert raw.info["sfreq"] == sfreq == 150. and raw.n_times == 12000
    assert len(raw.ch_names) == 376 and raw.info["projs"] == []
    np.testing.assert_array_equal(truth.picks, default_picks(raw.info))
    assert _counts(raw.info, truth.picks) == {"eeg": 60, "grad": 204, "mag": 102}
    assert len(truth.stim_samples) == 80
    events = mne.find_events(raw, stim_channel="STI 014", verbose=False)
    np.testing.assert_array_equal(events[:, 0], truth.stim_samples)
    np.testing.assert_allclose(raw.annotations.onset, truth.stim_samples / sfreq,
                               atol=1e-6)
    # data channels = atoms + noise of the announced level per type
    X = raw.get_data(picks=truth.picks)
    model = sum(np.outer(truth.u[k], np.convolve(truth.z[0, k], truth.v[k]))
                for k in range(3))
    types = np.array(truth.ch_types)
    for ch_type, level in truth.noise_std.items():
        assert (X - model)[types == ch_type].std() == pytest.approx(level, rel=0.02)
    peak = {t: np.abs(truth.u[0, types == t]).max() for t in ("mag", "grad", "eeg")}
    assert 1e-13 < peak["mag"] < 1e-12 and 5e-12 < peak["grad"] < 1e-10
    assert 1e-6 < peak["eeg"] < 2e-5
    assert all(1 < snr < 10 for snr in truth.snr.values())
    blink = np.convolve(truth.z[0, 2], truth.v[2])
    assert np.corrcoef(raw.get_data(picks="eog")[0], blink)[0, 1] > 0.95
    # the evoked atom peaks `latency` after each stimulus (+ jitter), exactly
    occ = find_occurrences(truth.z, truth.v)
    occ = occ[occ["atom"] == 0]
    np.testing.assert_array_equal(
        occ["time"], truth.stim_samples + truth.jitter_samples
        + round(truth.latency * sfreq))
    assert 0 < np.abs(truth.jitter_samples).max() <= 3


@requires_data
def test_simulation_errors(meg_file):
    from cdl.simulate import simulate_neuromag_raw

    fname = meg_file("sample_audvis-ave.fif.gz")
    with pytest.raises(ValueError, match="latency must be <="):
        simulate_neuromag_raw(fname, latency=0.3, atom_duration=0.4)
    with pytest.raises(ValueError, match="do not fit"):
        simulate_neuromag_raw(fname, duration=20., n_stimuli=80)
    with pytest.raises(ValueError, match="noise_std lacks"):
        simulate_neuromag_raw(fname, noise_std=dict(mag=1e-13))


def _best_match(model, truth, k):
    """Learned atom of atom k: |corr| of u (noise-whitened, physical units)
    and of v (best lag)."""
    noise = np.array([truth.noise_std[t] for t in truth.ch_types])
    u = pattern_to_physical(model.u_hat_, truth.ch_types, model.scalings_) / noise
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    u_true = truth.u[k] / noise
    u_true /= np.linalg.norm(u_true)
    j = int(np.argmax(np.abs(u @ u_true)))
    xcorr = np.correlate(model.v_hat_[j], truth.v[k], "full")
    v_corr = np.abs(xcorr).max() / np.linalg.norm(model.v_hat_[j]) / np.linalg.norm(
        truth.v[k])
    return j, abs(u[j] @ u_true), v_corr


@pytest.mark.slow
@requires_data
def test_default_picks_recover_the_atoms(neuromag_sim):
    """BatchCDL on the Raw itself (default picks: 366 MEG and EEG channels,
    never stim or EOG; each type divided by its std) learns the three atoms,
    each carried by every channel type; one global factor drowns MEG."""
    from cdl.model.occurrences import find_occurrences

    raw, truth = neuromag_sim
    raw = raw.copy().filter(1., None, picks=truth.picks, verbose=False)
    params = dict(n_atoms=5, n_times_atom=truth.n_times_atom, reg=0.05,
                  D_init="chunk", sort_atoms=True, random_state=0, verbose=False)
    model = cdl.BatchCDL(n_iter=30, **params).fit(raw)
    assert model.info_["ch_names"] == [raw.ch_names[i] for i in truth.picks]
    types = np.array(truth.ch_types)
    for k in range(3):
        j, u_corr, v_corr = _best_match(model, truth, k)
        assert u_corr >= 0.9 and v_corr >= 0.9, truth.names[k]
    j, _, _ = _best_match(model, truth, 0)
    for ch_type in ("mag", "grad", "eeg"):  # each type carries the pattern
        mask = types == ch_type
        assert abs(np.corrcoef(model.u_hat_[j, mask], truth.u[0, mask])[0, 1]) > 0.9
        assert np.sum(model.u_hat_[j, mask] ** 2) > 0.03
    # occurrences timed at the peak of |v| fall at stimulus + latency (the
    # window start does not)
    occ = find_occurrences(model.z_hat_, model.v_hat_)
    occ = occ[occ["atom"] == j]
    target = truth.stim_samples + round(truth.latency * truth.sfreq)
    delays = {field: np.median([occ[field][np.argmin(np.abs(occ[field] - t))] - t
                                for t in target]) / truth.sfreq
              for field in ("start", "time")}
    assert abs(delays["time"]) <= 0.010 < abs(delays["start"])

    X = raw.get_data(picks=truth.picks)[None]
    model = cdl.BatchCDL(n_iter=10, **params).fit(X / X.std())
    meg_share = np.sum(model.u_hat_[:, types != "eeg"] ** 2, axis=1)
    assert np.all(meg_share < 1e-3)  # one global scale: MEG does not count


def test_eeg_with_eog_fits_on_eeg_only(tmp_path):
    """EEG with EOG and stim channels: the default picks fit the EEG only,
    from Python and from the command line."""
    from cdl.cli import main

    rng = np.random.RandomState(0)
    names = ["Fz", "Cz", "Pz", "Oz", "EOG1", "STI 014"]
    info = mne.create_info(names, 100., ["eeg"] * 4 + ["eog", "stim"])
    data = rng.randn(6, 2000) * np.array([1e-5] * 4 + [1e-4, 0])[:, None]
    raw = mne.io.RawArray(data, info, verbose=False)
    model = cdl.BatchCDL(n_atoms=1, n_times_atom=20, n_iter=1,
                         random_state=0).fit(raw)
    assert model.info_["ch_names"] == names[:4] and list(model.scalings_) == ["eeg"]
    raw.save(tmp_path / "eog_raw.fif", verbose=False)
    assert main(["fit", str(tmp_path / "eog_raw.fif"), "--out", str(tmp_path / "o"),
                 "--n-atoms", "1", "--atom-duration", "0.2", "--n-iter", "1",
                 "--montage", "none", "--quiet"]) == 0
    assert cdl.read_model(tmp_path / "o" / "model.npz").info_["ch_names"] == \
        names[:4]
    assert main(["fit", str(tmp_path / "eog_raw.fif"), "--out", str(tmp_path / "e"),
                 "--picks", "eog", "--n-atoms", "1", "--atom-duration", "0.2",
                 "--n-iter", "1", "--quiet"]) == 0  # asked for: given
    assert cdl.read_model(tmp_path / "e" / "model.npz").info_["ch_names"] == \
        ["EOG1"]


@requires_data
def test_lazy_raw_is_scaled_the_same_window_by_window(sample_info, tmp_path):
    """With chunk_len (a Raw read window by window) the factors come from one
    streaming pass and equal those of the Raw in memory."""
    from cdl.io.scaling import streaming_type_std
    from cdl.io.sources import RawSource

    raw = _neuromag_raw(sample_info, n_times=2000)
    raw.save(tmp_path / "nm_raw.fif", verbose=False)
    lazy = mne.io.read_raw_fif(tmp_path / "nm_raw.fif", preload=False,
                               verbose=False)
    source = RawSource(lazy)
    types = channel_types(source.info)
    expected = compute_type_scalings(raw.get_data(picks=default_picks(raw.info)),
                                     types)
    streamed = streaming_type_std(source, types)
    assert streamed == {t: pytest.approx(f, rel=1e-9) for t, f in expected.items()}
    model = cdl.BatchCDL(n_atoms=2, n_times_atom=15, n_iter=2, chunk_len=700,
                         random_state=0).fit(lazy)
    assert model.scalings_ == {t: pytest.approx(f, rel=1e-9)
                               for t, f in expected.items()}
    assert model.transform(lazy).shape == model.z_hat_.shape
