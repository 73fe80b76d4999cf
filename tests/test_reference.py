"""The EEG reference: kept, set to the average or to named channels, by the
fetchers, the cdl pipeline and the command line."""
import mne
import numpy as np
import pytest

import cdl
from cdl.cli import main
from cdl.io import read_model_metadata
from cdl.pipeline import load_for_cdl, load_like_model
from data_fetchers import load_recording, preprocess

EEG = ["Fz", "Cz", "Pz", "Oz"]


def _raw(eeg=EEG, seed=0, n_times=2000, sfreq=100.):
    """EEG sharing a large common signal (the reference electrode's), two
    magnetometers and an EOG channel."""
    rng = np.random.RandomState(seed)
    names = list(eeg) + ["MEG 0111", "MEG 0121", "EOG1"]
    types = ["eeg"] * len(eeg) + ["mag", "mag", "eog"]
    data = rng.randn(len(names), n_times)
    data[:len(eeg)] += 5 * rng.randn(n_times)  # common mode
    data *= np.array([1e-5] * len(eeg) + [1e-12, 1e-12, 1e-4])[:, None]
    return mne.io.RawArray(data, mne.create_info(names, sfreq, types),
                           verbose=False)


def _rows(recording, names):
    return recording.X[0][[recording.info["ch_names"].index(n) for n in names]]


def test_average_reference_changes_eeg_only():
    raw = _raw()
    original = raw.get_data()
    kept = preprocess(raw, picks=None)
    assert kept.preprocessing["reference"] is None
    np.testing.assert_array_equal(kept.X[0], original)

    rec = preprocess(raw, picks=None, reference="average")
    assert rec.preprocessing["reference"] == "average"
    eeg = original[:4]
    np.testing.assert_allclose(_rows(rec, EEG), eeg - eeg.mean(axis=0), atol=1e-20)
    np.testing.assert_allclose(_rows(rec, EEG).sum(axis=0), 0., atol=1e-18)
    np.testing.assert_array_equal(rec.X[0][4:], original[4:])  # MEG, EOG as read
    np.testing.assert_array_equal(raw.get_data(), original)  # input untouched


def test_average_reference_leaves_bad_channels_out():
    raw = _raw()
    raw.info["bads"] = ["Oz"]
    original = raw.get_data()
    rec = preprocess(raw, picks="eeg", reference="average")
    assert rec.info["ch_names"] == EEG[:3]
    eeg = original[:3]
    np.testing.assert_allclose(rec.X[0], eeg - eeg.mean(axis=0), atol=1e-20)


def test_named_reference():
    raw = _raw()
    original = raw.get_data()
    rec = preprocess(raw, picks="eeg", reference="Cz")
    assert rec.preprocessing["reference"] == ["Cz"]
    np.testing.assert_allclose(rec.X[0], original[:4] - original[1], atol=1e-20)
    linked = preprocess(raw, picks="eeg", reference=["Fz", "Oz"])
    np.testing.assert_allclose(
        linked.X[0], original[:4] - original[[0, 3]].mean(axis=0), atol=1e-20)


def test_average_projector_is_replaced():
    """A file's average-reference projector (as Neuromag files carry) gives way
    to the applied reference: it would otherwise be applied a second time."""
    raw = _raw()
    raw.set_eeg_reference("average", projection=True, verbose=False)
    assert any(p["desc"] == "Average EEG reference" for p in raw.info["projs"])
    rec = preprocess(raw, picks=None, reference="average")
    assert not any(p["desc"] == "Average EEG reference" for p in rec.info["projs"])
    np.testing.assert_allclose(_rows(rec, EEG).sum(axis=0), 0., atol=1e-18)


def test_reference_errors_and_too_few_channels():
    raw = _raw()
    with pytest.raises(ValueError, match=r"reference channel\(s\) \['T7'\]"):
        preprocess(raw, picks=None, reference="T7")
    with pytest.raises(ValueError, match="reference channel.*'Oz'"):
        preprocess(raw, picks=["Fz", "Cz", "Pz"], reference="Oz")  # not picked
    with pytest.raises(ValueError, match="reference must be None, 'average' or"):
        preprocess(raw, picks=None, reference=3)
    with pytest.raises(ValueError, match="reference must be None"):
        preprocess(raw, picks=None, reference=[])
    with pytest.raises(ValueError, match="has no EEG channel"):
        preprocess(raw, picks=["MEG 0111", "MEG 0121"], reference=["MEG 0111"])
    # MEG only: nothing to re-reference, nothing changed
    meg = preprocess(raw, picks="mag", reference="average")
    assert meg.preprocessing["reference"] is None
    np.testing.assert_array_equal(meg.X[0], raw.get_data()[4:6])
    # two EEG channels: an average reference would leave their difference only
    two = _raw(eeg=["Fz", "Cz"])
    with pytest.warns(RuntimeWarning, match="reference='average' skipped"):
        rec = preprocess(two, picks=None, reference="average")
    assert rec.preprocessing["reference"] is None
    np.testing.assert_array_equal(rec.X[0], two.get_data())


def test_epochs_file_reference(tmp_path):
    raw = _raw()
    events = np.array([[200, 0, 1], [900, 0, 1], [1500, 0, 1]])
    epochs = mne.Epochs(raw, events, dict(A=1), tmin=0., tmax=0.5, baseline=None,
                        preload=True, verbose=False)
    epochs.save(tmp_path / "rec-epo.fif", verbose=False)
    rec = load_recording(tmp_path / "rec-epo.fif", picks="eeg",
                         reference="average")
    assert rec.preprocessing["reference"] == "average"
    np.testing.assert_allclose(rec.X.sum(axis=1), 0., atol=1e-18)
    saved = mne.read_epochs(tmp_path / "rec-epo.fif", verbose=False)
    eeg = saved.get_data(picks="eeg")  # as saved (single precision)
    np.testing.assert_allclose(rec.X, eeg - eeg.mean(axis=1, keepdims=True),
                               atol=1e-20)


def _save(raw, path):
    raw.save(path, verbose=False)
    return path


def test_cdl_reads_eeg_average_referenced_and_models_as_they_were(tmp_path):
    """``cdl fit``'s reading re-references EEG to the average; a model saved
    before the option existed is applied to EEG as recorded."""
    path = _save(_raw(), tmp_path / "rec_raw.fif")
    options = dict(l_freq=None, h_freq=None, montage=None)
    rec = load_for_cdl(path, **options)
    assert rec.preprocessing["reference"] == "average"
    eeg = [rec.info["ch_names"].index(n) for n in EEG]
    np.testing.assert_allclose(rec.X[0, eeg].sum(axis=0), 0., atol=1e-9)
    as_recorded = load_for_cdl(path, reference=None, **options)
    assert not np.allclose(as_recorded.X[0, eeg].sum(axis=0), 0.)

    model = cdl.BatchCDL(n_atoms=1, n_times_atom=10, n_iter=1,
                         random_state=0).fit(as_recorded.X)
    model.info_ = as_recorded.info
    model.scalings_ = as_recorded.preprocessing["scalings"]
    old = dict(load_options=dict(picks="data", l_freq=None, h_freq=None,
                                 montage=None))  # no 'reference': older file
    again = load_like_model(model, old, path)
    assert again.preprocessing["reference"] is None
    np.testing.assert_allclose(again.X, as_recorded.X)
    new = dict(load_options=dict(old["load_options"], reference="average"))
    np.testing.assert_allclose(  # the model's factors, on referenced EEG
        load_like_model(model, new, path).X,
        load_for_cdl(path, scalings=model.scalings_, **options).X)


def test_cli_reference_option(tmp_path):
    path = _save(_raw(n_times=3000), tmp_path / "rec_raw.fif")
    quick = ["--n-atoms", "1", "--atom-duration", "0.2", "--n-iter", "1",
             "--montage", "none", "--quiet"]
    assert main(["fit", str(path), "--out", str(tmp_path / "a"), *quick]) == 0
    metadata = read_model_metadata(tmp_path / "a" / "model.npz")
    assert metadata["load_options"]["reference"] == "average"
    model = cdl.read_model(tmp_path / "a" / "model.npz")
    u, names = model.u_hat_[0], model.info_["ch_names"]
    eeg = [names.index(n) for n in EEG]
    assert abs(u[eeg].sum()) < 1e-6 * np.abs(u[eeg]).sum()  # no common mode
    assert main(["fit", str(path), "--out", str(tmp_path / "n"), "--reference",
                 "none", *quick]) == 0
    metadata = read_model_metadata(tmp_path / "n" / "model.npz")
    assert metadata["load_options"]["reference"] is None
    assert main(["fit", str(path), "--out", str(tmp_path / "c"), "--reference",
                 "Cz,Pz", *quick]) == 0
    metadata = read_model_metadata(tmp_path / "c" / "model.npz")
    assert metadata["load_options"]["reference"] == ["Cz", "Pz"]
