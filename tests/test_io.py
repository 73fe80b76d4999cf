"""Tests of cdl.io: MNE objects -> X, activations -> events, model files."""
import json
import zipfile
from datetime import datetime, timezone

import mne
import numpy as np
import pytest

import cdl
from cdl.io import (
    FORMAT_VERSION,
    activations_to_annotations,
    activations_to_events,
    epochs_to_X,
    mne_to_X,
    model_to_annotations,
    model_to_events,
    raw_to_X,
    read_model_file,
    read_model_metadata,
    set_model_metadata,
    write_activations,
    write_model_file,
)
from cdl.model.occurrences import find_occurrences


def _raw(first_samp=0, meas_date=None, seed=0):
    rng = np.random.RandomState(seed)
    names = ["Fz", "Cz", "Pz", "Oz", "STI 014"]
    info = mne.create_info(names, 100., ["eeg"] * 4 + ["stim"])
    raw = mne.io.RawArray(rng.randn(5, 1000), info, first_samp=first_samp,
                          verbose=False)
    raw.set_meas_date(meas_date)
    raw.set_montage("standard_1020" if "standard_1020" in
                    mne.channels.get_builtin_montages(
                        descriptions=False) else "colin27_1020", verbose=False)
    return raw


@pytest.fixture
def z():
    """Two trials, three atoms, 10 valid samples, known occurrences."""
    z = np.zeros((2, 3, 10))
    z[0, 0, 2] = 1.5
    z[0, 2, 2] = 0.5
    z[0, 1, 7] = 2.
    z[1, 0, 0] = 3.
    z[1, 1, 9] = 1e-3  # below the threshold used in the tests
    return z


# ------------------------------------------------------------------ X
def test_raw_and_epochs_to_X():
    raw = _raw()
    raw.info["bads"] = ["Pz"]
    X, info = raw_to_X(raw)  # data channels, no bads: no stim, no Pz
    assert X.shape == (1, 3, 1000) and X.dtype == np.float64
    assert info["ch_names"] == ["Fz", "Cz", "Oz"]
    np.testing.assert_array_equal(X[0], raw.get_data(picks=["Fz", "Cz", "Oz"]))
    X, info = raw_to_X(raw, picks=["Pz", "Fz"])  # explicit picks keep bads
    np.testing.assert_array_equal(X[0], raw.get_data(picks=["Pz", "Fz"]))
    assert info["ch_names"] == ["Pz", "Fz"] and info["sfreq"] == 100.

    events = np.array([[100, 0, 1], [400, 0, 1], [700, 0, 1]])
    epochs = mne.Epochs(raw, events, tmin=0., tmax=0.99, baseline=None,
                        preload=True, verbose=False)
    X, info = epochs_to_X(epochs, picks="eeg")  # a type: bads left out
    assert X.shape == (3, 3, 100) and "Pz" not in info["ch_names"]
    np.testing.assert_array_equal(X, epochs.get_data(picks="eeg"))
    evoked = epochs.average(picks=["Fz", "Cz"])  # an Evoked is one trial
    np.testing.assert_array_equal(mne_to_X(evoked)[0], evoked.data[None])
    with pytest.raises(TypeError, match="raw must be an mne.io.Raw"):
        raw_to_X(epochs)
    with pytest.raises(TypeError, match="epochs must be an mne.Epochs"):
        epochs_to_X(raw)
    with pytest.raises(TypeError, match="inst must be"):
        mne_to_X(raw.get_data())


# ------------------------------------------------------ activations
def test_activations_to_events(z):
    events = activations_to_events(z, first_samp=100, threshold=0.01, n_times=12)
    expected = [[102, 0, 1], [102, 0, 3], [107, 0, 2], [112, 0, 1]]
    np.testing.assert_array_equal(events, expected)
    # trial_starts places each trial anywhere
    events = activations_to_events(z, threshold=0.01, trial_starts=[0, 50])
    np.testing.assert_array_equal(events[:, 0], [2, 2, 7, 50])
    # threshold 0 keeps every non-zero entry
    assert len(activations_to_events(z, n_times=12)) == 5
    # one trial needs no layout; a 2-D z is one trial
    np.testing.assert_array_equal(activations_to_events(z[0])[:, 0], [2, 2, 7])
    with pytest.raises(ValueError, match="n_times"):
        activations_to_events(z)
    with pytest.raises(ValueError, match="n_times"):
        activations_to_events(z, n_times=5)
    with pytest.raises(ValueError, match="trial_starts"):
        activations_to_events(z, trial_starts=[0])
    with pytest.raises(ValueError, match="z must be"):
        activations_to_events(np.zeros(4))


def test_activations_to_annotations(z):
    annot = activations_to_annotations(z, sfreq=100., threshold=0.01, n_times=12,
                                       first_samp=100)
    # orig_time=None: onsets count from the first sample of the data
    np.testing.assert_allclose(annot.onset, [0.02, 0.02, 0.07, 0.12])
    assert list(annot.description) == ["atom_0", "atom_2", "atom_1", "atom_0"]
    assert [e["amplitude"] for e in annot.extras] == [1.5, 0.5, 2., 3.]
    assert [e["trial"] for e in annot.extras] == [0, 0, 0, 1]
    assert np.all(annot.duration == 0)


@pytest.mark.parametrize("meas_date", [None,
                                       datetime(2020, 1, 1, tzinfo=timezone.utc)])
def test_annotations_and_events_agree_on_raw(z, meas_date):
    """Both exports point at the same samples of a Raw with a first_samp."""
    raw = _raw(first_samp=300, meas_date=meas_date)
    kwargs = dict(threshold=0.01, n_times=500, first_samp=raw.first_samp)
    events = activations_to_events(z, **kwargs)
    annot = activations_to_annotations(z, raw.info["sfreq"],
                                       orig_time=raw.info["meas_date"], **kwargs)
    raw.set_annotations(annot)
    from_annot, event_id = mne.events_from_annotations(raw, verbose=False)
    np.testing.assert_array_equal(from_annot[:, 0], events[:, 0])
    assert event_id == {"atom_0": 1, "atom_1": 2, "atom_2": 3}
    # epoching on atom occurrences works with the events
    epochs = mne.Epochs(raw, events, {"atom_0": 1}, tmin=0., tmax=0.05,
                        baseline=None, event_repeated="merge", verbose=False)
    assert len(epochs.events) == 2


# ------------------------------------------------------ model files
def _arrays():
    rng = np.random.RandomState(0)
    special = np.array([np.nan, -0., np.inf, -np.inf, 5e-324, 1.])
    return dict(
        uv=rng.randn(3, 68),
        z=np.asfortranarray(rng.rand(2, 3, 50).astype(np.float32)),
        special=special, counts=np.arange(6, dtype=np.int16),
        mask=rng.rand(4) > 0.5, cplx=rng.randn(3) + 1j * rng.randn(3),
        scalar=np.float64(2.5), big_endian=np.arange(3, dtype=">f8"))


def test_save_read_model_bit_exact(tmp_path):
    arrays = _arrays()
    params = dict(n_atoms=3, reg=np.float64(0.1), n_times_atom=np.int64(64),
                  solver_z_kwargs=dict(tol=1e-3, max_iter=(10, 20)),
                  window=True, D_init=None, name="run-1")
    raw = _raw()
    fname = write_model_file(tmp_path / "model.npz", arrays, params, info=raw.info)
    assert fname == tmp_path / "model.npz"
    read_arrays, read_params, info = read_model_file(fname)
    assert set(read_arrays) == set(arrays)
    for name, array in arrays.items():
        array = np.asarray(array)
        assert read_arrays[name].dtype == array.dtype
        assert read_arrays[name].shape == array.shape
        assert read_arrays[name].tobytes() == array.tobytes(), name
    assert read_params == dict(n_atoms=3, reg=0.1, n_times_atom=64,
                               solver_z_kwargs=dict(tol=1e-3, max_iter=[10, 20]),
                               window=True, D_init=None, name="run-1")
    assert info["ch_names"] == raw.ch_names
    assert info.get_channel_types() == raw.get_channel_types()
    assert info["sfreq"] == raw.info["sfreq"]
    locs = np.array([ch["loc"] for ch in info["chs"]])
    np.testing.assert_array_equal(locs, [ch["loc"] for ch in raw.info["chs"]])
    positions = info.get_montage().get_positions()["ch_pos"]
    np.testing.assert_array_equal(positions["Cz"],
                                  raw.get_montage().get_positions()["ch_pos"]["Cz"])
    mne.viz.plot_topomap(np.arange(4.), mne.pick_info(info, [0, 1, 2, 3]),
                         show=False)  # topomaps can be redrawn

    with np.load(fname, allow_pickle=False) as npz:  # the header is plain JSON
        header = json.loads(str(npz["__cdl_model__"]))
    assert header["format_version"] == FORMAT_VERSION
    assert header["software_version"] == cdl.__version__


def test_model_without_info_and_filename_checks(tmp_path):
    fname = tmp_path / "model.npz"
    write_model_file(fname, dict(uv=np.ones((2, 5))), {})
    arrays, params, info = read_model_file(str(fname))
    assert info is None and params == {}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_model_file(fname, dict(uv=np.zeros((2, 5))), {})
    np.testing.assert_array_equal(read_model_file(fname)[0]["uv"], 1.)  # untouched
    write_model_file(fname, dict(uv=np.zeros((2, 5))), {}, overwrite=True)
    np.testing.assert_array_equal(read_model_file(fname)[0]["uv"], 0.)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    with pytest.raises(ValueError, match="'.npz'"):
        write_model_file(tmp_path / "model.pkl", {}, {})
    with pytest.raises(ValueError, match="'.npz'"):
        read_model_file(tmp_path / "model")
    with pytest.raises(FileNotFoundError):
        read_model_file(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_model_file(tmp_path / "no" / "model.npz", {}, {})
    with pytest.raises(TypeError, match=r"params\['callback'\]"):
        write_model_file(tmp_path / "m.npz", {}, dict(callback=print))
    with pytest.raises(TypeError, match=r"arrays\['obj'\]"):
        write_model_file(tmp_path / "m.npz", dict(obj=np.array([None, 1])), {})
    with pytest.raises(ValueError, match="'__'"):
        write_model_file(tmp_path / "m.npz", {"__cdl_model__": np.ones(2)}, {})
    with pytest.raises(TypeError, match="info must be"):
        write_model_file(tmp_path / "m.npz", {}, {}, info=dict(sfreq=1.))


def test_read_truncated_and_corrupted_models(tmp_path):
    fname = write_model_file(tmp_path / "model.npz", dict(uv=np.arange(4096.)),
                       dict(n_atoms=1))
    content = fname.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(content[:len(content) // 2])
    with pytest.raises(ValueError, match="corrupted or truncated"):
        read_model_file(truncated)

    flipped = bytearray(content)
    position = content.index(np.float64(2000.).tobytes())
    flipped[position] ^= 0xFF  # one byte of the array's data
    corrupted = tmp_path / "corrupted.npz"
    corrupted.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="corrupted"):
        read_model_file(corrupted)

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="corrupted or truncated"):
        read_model_file(garbage)


def _rewrite(fname, out, **header_changes):
    with np.load(fname, allow_pickle=False) as npz:
        data = {k: npz[k] for k in npz.files}
    header = json.loads(str(data["__cdl_model__"]))
    header.update(header_changes)
    data["__cdl_model__"] = np.array(json.dumps(header))
    np.savez(out, **data)
    return out


def test_read_model_rejects_newer_and_foreign_files(tmp_path):
    fname = write_model_file(tmp_path / "model.npz", dict(uv=np.ones(3)), {})
    newer = _rewrite(fname, tmp_path / "newer.npz",
                     format_version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}.*"
                                          f"Upgrade cdl-meeg"):
        read_model_file(newer)
    with pytest.raises(ValueError, match="header cannot be parsed"):
        read_model_file(_rewrite(fname, tmp_path / "foreign.npz", format="other"))
    with pytest.raises(ValueError, match="Info cannot be rebuilt"):
        read_model_file(_rewrite(fname, tmp_path / "bad_info.npz", info=dict(sfreq=1)))

    plain = tmp_path / "plain.npz"
    np.savez(plain, uv=np.ones(3))
    with pytest.raises(ValueError, match="not a cdl model file"):
        read_model_file(plain)

    # an object array is never unpickled
    with np.load(fname, allow_pickle=False) as npz:
        data = {k: npz[k] for k in npz.files}
    np.savez(tmp_path / "pickled.npz", evil=np.array([{"a": 1}], dtype=object),
             **data)
    with pytest.raises(ValueError, match="corrupted"):
        read_model_file(tmp_path / "pickled.npz")
    with zipfile.ZipFile(tmp_path / "pickled.npz") as archive:
        assert "evil.npy" in archive.namelist()


# ------------------------------------------------ fitted models and MNE
@pytest.fixture(scope="module")
def raw_and_model():
    """A BatchCDL fitted directly on a Raw with a first_samp and a meas_date."""
    raw = _raw(first_samp=300, meas_date=datetime(2020, 1, 1, tzinfo=timezone.utc))
    model = cdl.BatchCDL(n_atoms=2, n_times_atom=20, n_iter=3, reg=0.3,
                         random_state=0).fit(raw)
    return raw, model


def test_model_activations_round_trip_on_raw(raw_and_model):
    raw, model = raw_and_model
    assert model.info_["ch_names"] == ["Fz", "Cz", "Pz", "Oz"]  # no stim
    events, event_id = model_to_events(model, first_samp=raw.first_samp)
    assert event_id == {"atom_0": 1, "atom_1": 2}
    # one event per occurrence (local maximum of z), at the peak of |v|
    occ = find_occurrences(model.z_hat_, model.v_hat_)
    assert len(events) == len(occ) > 0
    assert len(occ) < np.count_nonzero(model.z_hat_)  # neighbours merged
    offsets = np.argmax(np.abs(model.v_hat_), axis=1)
    np.testing.assert_array_equal(occ["time"], occ["start"] + offsets[occ["atom"]])
    assert sorted(zip(events[:, 0] - raw.first_samp, events[:, 2] - 1)) == \
        sorted(zip(occ["time"], occ["atom"]))
    annot = model_to_annotations(model, orig_time=raw.info["meas_date"],
                                 first_samp=raw.first_samp)
    raw = raw.copy().set_annotations(annot)
    from_annot, from_id = mne.events_from_annotations(raw, verbose=False)
    np.testing.assert_array_equal(from_annot[:, 0], events[:, 0])
    assert from_id == event_id
    # epochs on atom 0's occurrences hold the signal where the atom's window
    # starts, offset samples before the event
    epochs = mne.Epochs(raw, events, {"atom_0": 1}, tmin=-offsets[0] / 100.,
                        tmax=(19 - offsets[0]) / 100.,
                        picks=["Fz", "Cz", "Pz", "Oz"], baseline=None,
                        preload=True, event_repeated="merge", verbose=False)
    X = raw.get_data(picks=["Fz", "Cz", "Pz", "Oz"])
    first = occ[occ["atom"] == 0][0]
    t = first["start"]
    np.testing.assert_array_equal(epochs.get_data()[0], X[:, t:t + 20])
    extras = [e for e in annot.extras if e["atom"] == 0]
    assert extras[0]["amplitude"] == model.z_hat_[0, 0, t]
    assert extras[0]["window_start"] == raw.first_samp + t
    z = np.zeros_like(model.z_hat_)  # other activations, e.g. from transform
    z[0, 1, 5] = 1.
    np.testing.assert_array_equal(model_to_events(model, z=z)[0],
                                  [[5 + offsets[1], 0, 2]])
    np.testing.assert_array_equal(model_to_events(model, z=z, timing="start")[0],
                                  [[5, 0, 2]])


def test_model_activations_of_epochs(raw_and_model):
    raw, _ = raw_and_model
    events = np.array([[400, 0, 1], [700, 0, 1], [1000, 0, 1]])
    epochs = mne.Epochs(raw, events, tmin=-0.5, tmax=1.49, baseline=None,
                        preload=True, verbose=False)
    model = cdl.BatchCDL(n_atoms=2, n_times_atom=20, n_iter=2, reg=0.3,
                         random_state=0).fit(epochs)
    assert model.z_hat_.shape == (3, 2, 200 - 20 + 1)
    # place each epoch back in the raw: events point at raw samples
    starts = events[:, 0] - raw.first_samp - 50
    atom_events, _ = model_to_events(model, first_samp=raw.first_samp,
                                     trial_starts=starts)
    occ = find_occurrences(model.z_hat_, model.v_hat_)
    assert len(atom_events) == len(occ)
    X = raw.get_data(picks="eeg")
    for n, k, s in zip(occ["trial"][:5], occ["atom"][:5], occ["time"][:5]):
        sample = raw.first_samp + starts[n] + s
        assert [sample, 0, k + 1] in atom_events.tolist()
        np.testing.assert_array_equal(epochs.get_data(picks="eeg")[n][:, s],
                                      X[:, sample - raw.first_samp])
    with pytest.raises(ValueError, match="sfreq is needed"):
        model_to_annotations(_Unfitted(model))


class _Unfitted:
    """A model fitted on an array: no info_."""

    def __init__(self, model):
        self.z_hat_, self.n_times_atom, self.info_ = model.z_hat_, 20, None


@pytest.mark.filterwarnings("ignore:Extra fields found:RuntimeWarning")
def test_write_activations(raw_and_model, tmp_path):
    raw, model = raw_and_model
    annot = model_to_annotations(model, orig_time=raw.info["meas_date"],
                                 first_samp=raw.first_samp)
    events, _ = model_to_events(model, first_samp=raw.first_samp)
    fnames = write_activations(tmp_path / "act", annot, events)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "act-annot.fif", "act-annot.txt", "act-eve.fif"]
    np.testing.assert_array_equal(mne.read_events(fnames["events"]), events)
    read = mne.read_annotations(fnames["annot_fif"])
    np.testing.assert_allclose(read.onset, annot.onset)
    assert list(read.description) == list(annot.description)
    assert [e["amplitude"] for e in read.extras] == \
        [e["amplitude"] for e in annot.extras]
    text = mne.read_annotations(fnames["annot_txt"])  # extras as text
    np.testing.assert_allclose(text.onset, annot.onset)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_activations(tmp_path / "act", annot, events)
    write_activations(tmp_path / "act", annot[:2], events[:2], overwrite=True)
    assert len(mne.read_events(fnames["events"])) == 2


def test_model_metadata(tmp_path, raw_and_model):
    raw, model = raw_and_model
    fname = write_model_file(tmp_path / "m.npz", _arrays(), dict(n_atoms=3),
                       metadata=dict(recording="r.edf", scale=np.float64(2.),
                                     load_options=dict(l_freq=1., picks="eeg")))
    assert read_model_metadata(fname) == dict(
        recording="r.edf", scale=2., load_options=dict(l_freq=1., picks="eeg"))
    before = read_model_file(fname)[0]
    set_model_metadata(fname, dict(recording="other.edf"))
    assert read_model_metadata(fname) == dict(recording="other.edf")
    after, params, _ = read_model_file(fname)
    assert params == dict(n_atoms=3)
    for name, array in before.items():  # arrays untouched, bit for bit
        assert after[name].tobytes() == array.tobytes()
    # an estimator's file gets metadata and still reads as an estimator
    model.save(tmp_path / "est.npz")
    assert read_model_metadata(tmp_path / "est.npz") == {}
    set_model_metadata(tmp_path / "est.npz", dict(sfreq=100.))
    again = cdl.read_model(tmp_path / "est.npz")
    np.testing.assert_array_equal(again.uv_hat_, model.uv_hat_)
    assert read_model_metadata(tmp_path / "est.npz") == dict(sfreq=100.)
    with pytest.raises(TypeError, match="metadata"):
        set_model_metadata(fname, dict(f=print))
    with pytest.raises(ValueError, match="metadata is not a JSON object"):
        read_model_metadata(_rewrite(fname, tmp_path / "bad.npz", metadata=[1]))
