"""Tests of data_fetchers: layouts, preprocessing, offline errors."""
import json
import socket
import time

import mne
import numpy as np
import pytest

import data_fetchers
from data_fetchers import (
    DataNotFoundError,
    _config,
    load_camcan,
    load_eegbci,
    load_recording,
    load_sample,
    load_somato,
    preprocess,
)

requires_data = pytest.mark.requires_data


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if a download or a connection is attempted."""
    def _forbidden(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(_config, "is_reachable", _forbidden)
    for name in ("somato", "sample"):
        monkeypatch.setattr(getattr(mne.datasets, name), "data_path", _forbidden)
    monkeypatch.setattr(mne.datasets.eegbci, "load_data", _forbidden)


@pytest.fixture
def offline(monkeypatch, no_network):
    """Pretend that no server can be reached (without touching the network)."""
    monkeypatch.setattr(_config, "is_reachable", lambda *a, **k: False)


def _meg_raw(codes=(1,), sfreq=600., duration=10., seed=0):
    """Small MEG recording: 4 gradiometers, 1 magnetometer and STI 014."""
    rng = np.random.RandomState(seed)
    names = ["MEG 0112", "MEG 0113", "MEG 0122", "MEG 0123", "MEG 0111", "STI 014"]
    info = mne.create_info(names, sfreq, ["grad"] * 4 + ["mag", "stim"])
    n_times = int(duration * sfreq)
    data = np.zeros((len(names), n_times))
    data[:5] = 1e-12 * rng.randn(5, n_times)
    for i, second in enumerate(range(1, int(duration) - 1, 2)):
        start = int(second * sfreq)
        data[5, start:start + 10] = codes[i % len(codes)]
    return mne.io.RawArray(data, info, verbose=False)


def _eeg_raw(n_channels=5, sfreq=200., duration=12., seed=0):
    rng = np.random.RandomState(seed)
    info = mne.create_info([f"EEG {i:03d}" for i in range(n_channels)], sfreq, "eeg")
    raw = mne.io.RawArray(1e-5 * rng.randn(n_channels, int(duration * sfreq)),
                          info, verbose=False)
    raw.set_annotations(mne.Annotations([1., 4.5, 9.], [0., 0., 0.],
                                        ["T1", "T2", "T1"]))
    return raw


# ---------------------------------------------------------------- EEGBCI
@requires_data
def test_eegbci_flat_folder(eegbci_path):
    rec = load_eegbci(1, [3, 4], path=eegbci_path, verbose=False)
    assert rec.X.shape == (2, 64, 20000)  # one trial per run of 125 s
    assert rec.X.dtype == np.float64
    assert rec.sfreq == 160.
    assert rec.info["ch_names"][:3] == ["FC5", "FC3", "FC1"]  # standardized
    positions = np.array([ch["loc"][:3] for ch in rec.info["chs"]])
    assert np.all(np.isfinite(positions)) and np.all(np.abs(positions).sum(1) > 0)
    descriptions = set(rec.annotations.description)
    assert {"T0", "T1", "T2"} <= descriptions
    assert rec.event_id == {"T0": 1, "T1": 2, "T2": 3}
    n_cues = np.isin(rec.annotations.description, ["T0", "T1", "T2"]).sum()
    assert len(rec.events) == n_cues
    np.testing.assert_array_equal(rec.trial_starts, [0, 20000])
    np.testing.assert_array_equal(rec.X[1], rec.raw.get_data()[:, 20000:])
    pre = rec.preprocessing
    assert pre["picks"] == "eeg" and pre["notch"] == [60.] and pre["l_freq"] == 1.
    assert pre["runs"] == [3, 4] and pre["subject"] == 1
    assert [p.rsplit("/", 1)[-1] for p in pre["source"]] == ["S001R03.edf",
                                                             "S001R04.edf"]
    assert json.loads(json.dumps(pre)) == pre  # can go into a model file


@requires_data
def test_eegbci_env_var_and_raw_values(eegbci_path, monkeypatch):
    monkeypatch.setenv("CDL_DATA_EEGBCI", str(eegbci_path))
    rec = load_eegbci(1, 3, notch=None, l_freq=None)  # no processing at all
    expected = mne.io.read_raw_edf(eegbci_path / "S001R03.edf",
                                   verbose=False).get_data()
    np.testing.assert_array_equal(rec.X[0], expected)
    assert rec.preprocessing["notch"] is None


@requires_data
@pytest.mark.parametrize("layout", ["mne", "physionet"])
def test_eegbci_standard_layouts(eegbci_path, tmp_path, layout, no_network):
    sub = {"mne": "MNE-eegbci-data/files/eegmmidb/1.0.0/S001",
           "physionet": "S001"}[layout]
    folder = tmp_path / sub
    folder.mkdir(parents=True)
    (folder / "S001R05.edf").symlink_to(eegbci_path / "S001R05.edf")  # no copy
    rec = load_eegbci(1, 5, path=tmp_path, notch=None, l_freq=None)
    assert rec.X.shape == (1, 64, 20000)
    assert rec.preprocessing["source"] == [str(folder / "S001R05.edf")]


@requires_data
def test_eegbci_split_resample_scale(eegbci_path):
    rec = load_eegbci(1, 3, path=eegbci_path, sfreq=80., trial_duration=10.,
                      scaling="per_channel")
    assert rec.X.shape == (12, 64, 800)
    assert rec.sfreq == 80.
    np.testing.assert_allclose(rec.X.std(axis=(0, 2)), 1., rtol=1e-10)
    scale = np.array(rec.preprocessing["scale"])
    assert scale.shape == (64,)
    np.testing.assert_allclose(rec.X[0] * scale[:, None],
                               rec.raw.get_data()[:, :800], rtol=1e-10)
    assert rec.preprocessing["n_times_trial"] == 800
    # events follow the new sampling rate
    onsets = rec.annotations.onset[np.isin(rec.annotations.description,
                                           ["T0", "T1", "T2"])]
    np.testing.assert_array_equal(rec.events[:, 0], np.round(onsets * 80.))

    rec = load_eegbci(1, 3, path=eegbci_path, n_splits=5, scaling="global")
    assert rec.X.shape == (5, 64, 4000)
    assert rec.X.std() == pytest.approx(1.)
    assert isinstance(rec.preprocessing["scale"], float)


def test_eegbci_missing_offline(tmp_path, offline):
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        load_eegbci(1, [3, 4], path=tmp_path)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "'eegbci'" in message and str(tmp_path) in message
    assert "Missing runs [3, 4]" in message and "cannot be reached" in message
    assert "path=" in message and "CDL_DATA_EEGBCI" in message
    assert "MNE_DATASETS_EEGBCI_PATH" in message


@pytest.mark.parametrize("loader, name", [(load_somato, "somato"),
                                          (load_sample, "sample")])
@pytest.mark.parametrize("download", [True, False])
def test_mne_dataset_offline_error(tmp_path, monkeypatch, no_network, loader,
                                   name, download):
    if download:  # the server check answers "unreachable" without network
        monkeypatch.setattr(_config, "is_reachable", lambda *a, **k: False)
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        loader(path=tmp_path, download=download)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert f"Dataset '{name}' was not found" in message
    assert str(tmp_path / f"MNE-{name}-data") in message
    assert "the path argument" in message
    assert f"CDL_DATA_{name.upper()}" in message
    assert f"MNE_DATASETS_{name.upper()}_PATH" in message
    assert ("cannot be reached" if download else "download=False") in message
    assert isinstance(err.value, FileNotFoundError)


def test_is_reachable_on_loopback():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert _config.is_reachable("127.0.0.1", port, timeout=2.)
    start = time.perf_counter()
    assert not _config.is_reachable("127.0.0.1", port, timeout=2.)  # closed
    assert time.perf_counter() - start < 3


def test_data_path_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CDL_DATA_SOMATO", str(tmp_path / "env"))
    assert _config.get_data_path("somato", tmp_path) == (tmp_path,
                                                         "the path argument")
    root, source = _config.get_data_path("somato")
    assert root == tmp_path / "env" and "CDL_DATA_SOMATO" in source
    monkeypatch.delenv("CDL_DATA_SOMATO")
    monkeypatch.setenv("MNE_DATASETS_SOMATO_PATH", str(tmp_path / "mne"))
    root, source = _config.get_data_path("somato")
    assert root == tmp_path / "mne" and "MNE_DATASETS_SOMATO_PATH" in source


@pytest.mark.parametrize("name, loader, relative, codes", [
    ("somato", load_somato, "MNE-somato-data/sub-01/meg/sub-01_task-somato_meg.fif",
     (1,)),
    ("sample", load_sample, "MNE-sample-data/MEG/sample/sample_audvis_raw.fif",
     (1, 32)),
])
def test_mne_dataset_local_copy(tmp_path, no_network, name, loader, relative,
                                codes):
    fname = tmp_path / relative
    fname.parent.mkdir(parents=True)
    _meg_raw(codes).save(fname, verbose=False)
    rec = loader(path=tmp_path)  # the dataset's default preprocessing
    assert rec.X.shape == (10, 4, 150)  # grads, 10 s at 150 Hz, 10 splits
    assert rec.sfreq == 150.
    assert rec.X.std() == pytest.approx(1.)
    np.testing.assert_array_equal(rec.events[:, 0], [150, 450, 750, 1050])
    assert set(rec.events[:, 2]) == set(codes)
    assert rec.preprocessing["dataset"] == name
    assert rec.preprocessing["events_from"] == "stim"
    # the dataset folder itself works too
    rec = loader(path=tmp_path / relative.split("/")[0], n_splits=None)
    assert rec.X.shape == (1, 4, 1500)


def test_camcan(tmp_path, monkeypatch):
    monkeypatch.delenv("CDL_DATA_CAMCAN", raising=False)
    with pytest.raises(DataNotFoundError, match="registration"):
        load_camcan("CC110033")
    with pytest.raises(DataNotFoundError, match="No 'smt' recording of sub-CC1"):
        load_camcan("CC110033", tmp_path)
    meg = tmp_path / "sub-CC110033" / "ses-smt" / "meg"
    meg.mkdir(parents=True)
    _meg_raw().save(meg / "sub-CC110033_ses-smt_task-smt_meg.fif", verbose=False)
    rec = load_camcan("sub-CC110033", tmp_path, n_splits=4)
    assert rec.X.shape == (4, 4, 1500)
    assert rec.preprocessing["h_freq"] == 45. and rec.preprocessing["subject"] \
        == "sub-CC110033"


# ---------------------------------------------------------- any recording
@requires_data
def test_load_recording_edf(eegbci_path):
    rec = load_recording(eegbci_path / "S001R03.edf")
    raw = mne.io.read_raw_edf(eegbci_path / "S001R03.edf", verbose=False)
    assert rec.X.shape == (1, 64, 20000)
    np.testing.assert_array_equal(rec.X[0], raw.get_data())
    assert set(rec.event_id) == {"T0", "T1", "T2"}


def test_load_recording_fif_preprocessing(tmp_path):
    raw = _eeg_raw()
    raw._data[3] = 1e-12 * np.sign(np.sin(np.arange(raw.n_times)))  # ~flat
    fname = tmp_path / "rec_raw.fif"
    raw.save(fname, fmt="double", verbose=False)

    rec = load_recording(fname)  # nothing applied
    np.testing.assert_array_equal(rec.X[0], raw.get_data())
    assert rec.event_id == {"T1": 1, "T2": 2}
    np.testing.assert_array_equal(rec.events[:, 0], [200, 900, 1800])

    rec = load_recording(fname, bads=["EEG 001"], reject_flat=1e-3, l_freq=1.,
                         h_freq=40., notch=50., sfreq=100., n_splits=3,
                         scaling="global")
    assert rec.info["ch_names"] == ["EEG 000", "EEG 002", "EEG 004"]
    assert rec.preprocessing["dropped_channels"] == ["EEG 001", "EEG 003"]
    assert rec.X.shape == (3, 3, 400)
    assert rec.X.std() == pytest.approx(1.)
    np.testing.assert_array_equal(rec.trial_starts, [0, 400, 800])
    np.testing.assert_array_equal(rec.events[:, 0], [100, 450, 900])
    assert rec.preprocessing["notch"] == [50.] and rec.preprocessing["h_freq"] == 40.
    assert json.loads(json.dumps(rec.preprocessing)) == rec.preprocessing


def test_split_at_boundaries_crops_to_shortest():
    raw = mne.concatenate_raws([_eeg_raw(duration=12.), _eeg_raw(duration=10.)],
                               verbose=False)
    with pytest.warns(RuntimeWarning, match="different lengths"):
        rec = preprocess(raw)
    assert rec.X.shape == (2, 5, 2000)
    np.testing.assert_array_equal(rec.trial_starts, [0, 2400])
    np.testing.assert_array_equal(rec.X[1], raw.get_data()[:, 2400:4400])
    rec = preprocess(raw, split_at_boundaries=False)
    assert rec.X.shape == (1, 5, 4400)


def test_recording_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_recording(tmp_path / "missing.edf")
    bad = tmp_path / "notes.txt"
    bad.write_text("not a recording")
    with pytest.raises(ValueError, match="Supported formats"):
        load_recording(bad)
    raw = _eeg_raw()
    with pytest.raises(ValueError, match="n_splits or trial_duration"):
        preprocess(raw, n_splits=2, trial_duration=1.)
    with pytest.raises(ValueError, match="'scaling'"):
        preprocess(raw, scaling="robust")
    with pytest.raises(ValueError, match="notch"):
        preprocess(raw, notch=150.)
    with pytest.raises(ValueError, match="bads"):
        preprocess(raw, bads=["nope"])
    with pytest.raises(ValueError, match="trial_duration"):
        preprocess(raw, trial_duration=100.)
    with pytest.raises(TypeError, match="Unknown preprocessing option"):
        load_somato(path=tmp_path, download=False, lfreq=1.)
    with pytest.raises(TypeError, match="mne.io.Raw"):
        preprocess(raw.get_data())
    assert repr(preprocess(raw)).startswith("<Recording | 1 trial(s) x 5 channels")
    assert set(data_fetchers.__all__) >= {"load_eegbci", "load_recording",
                                          "preprocess", "Recording"}


# ---------------------------------------------- montage and broken files
@requires_data
def test_load_recording_auto_montage(eegbci_path):
    rec = load_recording(eegbci_path / "S001R03.edf", montage="auto")
    assert rec.info["ch_names"][:3] == ["FC5", "FC3", "FC1"]  # was 'Fc5.' ...
    assert len(rec.preprocessing["renamed_channels"]) == 64
    assert rec.preprocessing["renamed_channels"]["Fc5."] == "FC5"
    locs = np.array([ch["loc"][:3] for ch in rec.info["chs"]])
    assert np.all(np.isfinite(locs)) and np.all(np.linalg.norm(locs, axis=1) > 0)
    plain = load_recording(eegbci_path / "S001R03.edf")
    np.testing.assert_array_equal(rec.X, plain.X)  # only names and positions


def test_auto_montage_keeps_positions_and_unknown_names(tmp_path):
    raw = _eeg_raw()  # names 'EEG 000' ...: nothing to match
    raw.save(tmp_path / "plain_raw.fif", verbose=False)
    rec = load_recording(tmp_path / "plain_raw.fif", montage="auto")
    assert rec.info["ch_names"] == raw.ch_names
    assert rec.preprocessing["montage"] is None
    assert rec.preprocessing["renamed_channels"] == {}

    named = mne.io.RawArray(raw.get_data()[:4], mne.create_info(
        ["fp1.", "CZ", "oz", "Pz"], raw.info["sfreq"], "eeg"), verbose=False)
    named.save(tmp_path / "named_raw.fif", verbose=False)
    rec = load_recording(tmp_path / "named_raw.fif", montage="auto")
    assert rec.info["ch_names"] == ["Fp1", "Cz", "Oz", "Pz"]
    assert rec.info.get_montage() is not None
    # positions already there: auto leaves them alone
    rec.raw.save(tmp_path / "with_pos_raw.fif", verbose=False)
    again = load_recording(tmp_path / "with_pos_raw.fif", montage="auto")
    assert again.preprocessing["renamed_channels"] == {}
    np.testing.assert_allclose(again.info["chs"][0]["loc"][:3],
                               rec.info["chs"][0]["loc"][:3], atol=1e-6)


@requires_data
def test_truncated_and_corrupted_recordings(eegbci_path, tmp_path):
    content = (eegbci_path / "S001R03.edf").read_bytes()
    truncated = tmp_path / "truncated.edf"
    truncated.write_bytes(content[:300_000])
    with pytest.raises(ValueError, match="is truncated: its header announces "
                                         "125 data records"):
        load_recording(truncated)
    header_only = tmp_path / "header.edf"
    header_only.write_bytes(content[:3000])
    with pytest.raises(ValueError, match="corrupted, truncated"):
        load_recording(header_only)

    raw = _eeg_raw()
    raw._data[2, 100:200] = np.nan  # what a damaged FIF can read back as
    raw.save(tmp_path / "nan_raw.fif", verbose=False)
    with pytest.raises(ValueError, match=r"NaN or infinite values in 1 "
                                         r"channel\(s\): EEG 002"):
        load_recording(tmp_path / "nan_raw.fif")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_recording(tmp_path)


def test_epochs_file_loads_as_trials_and_evoked_is_named(tmp_path):
    raw = _eeg_raw()
    events = np.array([[200, 0, 1], [900, 0, 2], [1800, 0, 1]])
    epochs = mne.Epochs(raw, events, dict(A=1, B=2), tmin=-0.1, tmax=0.5,
                        baseline=None, preload=True, verbose=False)
    epochs.save(tmp_path / "rec-epo.fif", verbose=False)
    assert data_fetchers.fif_kind(tmp_path / "rec-epo.fif") == "epochs"
    rec = load_recording(tmp_path / "rec-epo.fif", sfreq=100.)
    n_times = rec.X.shape[2]
    assert rec.X.shape[:2] == (3, 5) and n_times in (60, 61)
    np.testing.assert_array_equal(rec.trial_starts, [0, n_times, 2 * n_times])
    np.testing.assert_array_equal(rec.events[:, 0],  # at each epoch's time 0
                                  np.arange(3) * n_times + 10)
    assert list(rec.annotations.description) == ["A", "B", "A"]
    assert rec.preprocessing["epochs"]["n_epochs"] == 3
    with pytest.raises(ValueError, match="do not apply to an epochs file"):
        load_recording(tmp_path / "rec-epo.fif", n_splits=2)
    epochs.average().save(tmp_path / "rec-ave.fif", verbose=False)
    assert data_fetchers.fif_kind(tmp_path / "rec-ave.fif") == "evoked"
    with pytest.raises(ValueError, match="is an evoked .averaged. FIF file"):
        load_recording(tmp_path / "rec-ave.fif")
