"""SSP projectors: applied by the fetchers, the cdl pipeline and the command
line as mne.Epochs applies them, checked against a plain numpy projection."""
import warnings

import mne
import numpy as np
import pytest

import cdl
from cdl.cli import main
from cdl.io import read_model_metadata
from cdl.pipeline import load_for_cdl, load_like_model
from data_fetchers import load_recording, preprocess

PCA = ["PCA-v1", "PCA-v2", "PCA-v3"]
AVERAGE = "Average EEG reference"


@pytest.fixture()
def neuromag_raw(sample_info):
    """Noise on the sample dataset's Neuromag channels (60 EEG, MEG 2443 and
    EEG 053 bad) with its projectors (three empty-room vectors of the
    magnetometers, an average EEG reference) not applied, as in a raw file."""
    info = sample_info.copy()
    with info._unlock():
        info["projs"] = [mne.Projection(**{k: p[k] for k in p}) for p in info["projs"]]
        for p in info["projs"]:
            p["active"] = False
        info["bads"] = ["MEG 2443", "EEG 053"]
    rng = np.random.RandomState(0)
    scale = {"grad": 1e-11, "mag": 1e-12, "eeg": 1e-5}
    types = info.get_channel_types()
    data = rng.randn(len(types), 1200) * np.array(
        [scale.get(t, 1e-6) for t in types])[:, None]
    # an environmental field along the first empty-room vector
    first = info["projs"][0]["data"]
    idx = [info["ch_names"].index(n) for n in first["col_names"]]
    data[idx] += np.outer(first["data"][0], rng.randn(1200)) * 1e-10
    return mne.io.RawArray(data, info, verbose=False)


def _projected(data, names, projs):
    """``data`` (rows: ``names``) projected out of the vectors of ``projs``,
    restricted to the channels present, normalised and orthogonalised."""
    vectors = []
    for p in projs:
        vec = np.zeros(len(names))
        for name, value in zip(p["data"]["col_names"], p["data"]["data"][0]):
            if name in names:
                vec[names.index(name)] = value
        vectors.append(vec / np.linalg.norm(vec))
    basis, _ = np.linalg.qr(np.array(vectors).T)
    return data - basis @ (basis.T @ data)


def _rows(recording, names):
    idx = [recording.info["ch_names"].index(n) for n in names]
    return recording.X[0][idx]


def test_projectors_applied_as_numpy(neuromag_raw):
    raw = neuromag_raw
    rec = preprocess(raw, picks="data")
    assert rec.preprocessing["projectors"] == PCA + [AVERAGE]
    assert all(p["active"] for p in rec.info["projs"])
    assert not any(p["active"] for p in raw.info["projs"])  # input untouched

    kept = rec.info["ch_names"]
    assert "MEG 2443" not in kept and "EEG 053" not in kept
    original = raw.get_data(picks=kept)
    types = rec.info.get_channel_types()
    mags = [n for n, t in zip(kept, types) if t == "mag"]
    eeg = [n for n, t in zip(kept, types) if t == "eeg"]
    grads = [n for n, t in zip(kept, types) if t == "grad"]
    rows = {n: original[i] for i, n in enumerate(kept)}
    pca = [p for p in raw.info["projs"] if p["desc"] in PCA]
    expected = _projected(np.array([rows[n] for n in mags]), mags, pca)
    np.testing.assert_allclose(_rows(rec, mags), expected, rtol=1e-6,
                               atol=1e-9 * np.abs(expected).max())
    eeg_data = np.array([rows[n] for n in eeg])
    np.testing.assert_allclose(_rows(rec, eeg), eeg_data - eeg_data.mean(axis=0),
                               atol=1e-9 * np.abs(eeg_data).max())
    np.testing.assert_allclose(_rows(rec, grads),  # no projector on them
                               np.array([rows[n] for n in grads]), rtol=1e-12)
    # the environmental field is gone from the magnetometers
    assert np.linalg.norm(_rows(rec, mags)) < 0.2 * np.linalg.norm(
        [rows[n] for n in mags])


def test_projectors_left_aside_or_applied_once(neuromag_raw):
    raw = neuromag_raw
    off = preprocess(raw, picks="data", proj=False)
    assert off.preprocessing["projectors"] == []
    assert not any(p["active"] for p in off.info["projs"])
    np.testing.assert_array_equal(off.X[0], raw.get_data(picks=off.info["ch_names"]))

    applied = raw.copy().apply_proj(verbose=False)  # projectors active already
    again = preprocess(applied, picks="data")
    assert again.preprocessing["projectors"] == []
    np.testing.assert_array_equal(again.X[0], applied.get_data(
        picks=again.info["ch_names"]))

    # a reference replaces the file's average-reference projector
    ref = preprocess(raw, picks="data", reference="average")
    assert ref.preprocessing["projectors"] == PCA
    np.testing.assert_allclose(
        ref.X[0], preprocess(raw, picks="data").X[0], rtol=1e-6,
        atol=1e-9 * np.abs(ref.X).max())

    # channels of one type: MNE drops the projectors of the others
    grads = preprocess(raw, picks="grad")
    assert grads.preprocessing["projectors"] == []
    with pytest.raises(TypeError, match="proj must be True or False"):
        preprocess(raw, picks="data", proj="yes")


def test_epochs_projectors(neuromag_raw):
    events = np.array([[100, 0, 1], [500, 0, 1], [900, 0, 1]])
    epochs = mne.Epochs(neuromag_raw, events, dict(A=1), tmin=0., tmax=0.3,
                        baseline=None, proj=False, preload=True, verbose=False)
    from data_fetchers._epochs import preprocess_epochs
    off = preprocess_epochs(epochs.copy(), picks="mag", proj=False)
    rec = preprocess_epochs(epochs.copy(), picks="mag")
    assert rec.preprocessing["projectors"] == PCA
    mags = rec.info["ch_names"]
    pca = [p for p in neuromag_raw.info["projs"] if p["desc"] in PCA]
    for trial in range(3):
        np.testing.assert_allclose(rec.X[trial], _projected(off.X[trial], mags, pca),
                                   rtol=1e-6, atol=1e-9 * np.abs(off.X).max())


def test_cdl_reads_projected_and_models_as_they_were(neuromag_raw, tmp_path):
    path = tmp_path / "rec_raw.fif"
    neuromag_raw.save(path, verbose=False)
    options = dict(picks="mag", l_freq=None, h_freq=None, montage=None)
    rec = load_for_cdl(path, **options)
    assert rec.preprocessing["projectors"] == PCA
    unprojected = load_for_cdl(path, proj=False, **options)
    assert unprojected.preprocessing["projectors"] == []
    assert not np.allclose(rec.X, unprojected.X)
    assert load_recording(path, picks="mag").preprocessing["projectors"] == PCA

    model = cdl.BatchCDL(n_atoms=1, n_times_atom=10, n_iter=1,
                         random_state=0).fit(unprojected.X)
    model.info_ = unprojected.info
    model.scalings_ = unprojected.preprocessing["scalings"]
    old = dict(load_options=dict(picks="mag", l_freq=None, h_freq=None,
                                 montage=None))  # no 'proj': an older file
    again = load_like_model(model, old, path)
    assert again.preprocessing["projectors"] == []
    np.testing.assert_allclose(again.X, unprojected.X)
    # a model fitted on projected data, applied to a file read without them
    fitted = dict(load_options=dict(old["load_options"], proj=False),
                  projectors=PCA)
    with pytest.warns(RuntimeWarning, match=r"projectors applied \[\], the "
                                            r"model's recording had \['PCA-v1'"):
        load_like_model(model, fitted, path)


def test_cli_proj_option(neuromag_raw, tmp_path):
    path = tmp_path / "rec_raw.fif"
    neuromag_raw.copy().crop(0, 1.9).save(path, verbose=False)
    quick = ["--picks", "mag", "--n-atoms", "1", "--atom-duration", "0.05",
             "--n-iter", "1", "--montage", "none", "--l-freq", "none",
             "--h-freq", "none", "--quiet"]
    assert main(["fit", str(path), "--out", str(tmp_path / "p"), *quick]) == 0
    metadata = read_model_metadata(tmp_path / "p" / "model.npz")
    assert metadata["load_options"]["proj"] is True
    assert metadata["projectors"] == PCA
    assert main(["fit", str(path), "--out", str(tmp_path / "n"), "--no-proj",
                 *quick]) == 0
    metadata = read_model_metadata(tmp_path / "n" / "model.npz")
    assert metadata["load_options"]["proj"] is False
    assert metadata["projectors"] == []


def test_mne_objects_with_projectors_not_applied_warn(neuromag_raw):
    """The estimators read an MNE object as get_data() returns it; unapplied
    projectors are named so that the user can apply them."""
    from cdl.io import mne_to_X

    raw = neuromag_raw.copy().pick("mag")
    with pytest.warns(RuntimeWarning, match=r"not applied \(PCA-v1, PCA-v2"):
        X, _ = mne_to_X(raw)
    np.testing.assert_array_equal(X[0], raw.get_data())
    with pytest.warns(RuntimeWarning, match="SSP projectors"):
        cdl.BatchCDL(n_atoms=1, n_times_atom=10, n_iter=1, random_state=0).fit(raw)
    raw.apply_proj(verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mne_to_X(raw)
        mne_to_X(neuromag_raw, picks="grad")  # no projector on them
    with pytest.warns(RuntimeWarning, match="SSP projectors"):  # read lazily too
        cdl.BatchCDL(n_atoms=1, n_times_atom=10, n_iter=1, random_state=0,
                     chunk_len=600).fit(neuromag_raw.copy().pick("mag"))


def test_epochs_file_projectors_follow_proj(neuromag_raw, tmp_path):
    """An epochs file saved with its projectors unapplied: proj decides, as
    for a raw file (mne.read_epochs alone would apply them)."""
    events = np.array([[100, 0, 1], [500, 0, 1], [900, 0, 1]])
    epochs = mne.Epochs(neuromag_raw, events, dict(A=1), tmin=0., tmax=0.3,
                        baseline=None, proj=False, preload=True, verbose=False)
    path = tmp_path / "rec-epo.fif"
    epochs.save(path, verbose=False)
    on = load_recording(path, picks="mag")
    off = load_recording(path, picks="mag", proj=False)
    assert on.preprocessing["projectors"] == PCA
    assert off.preprocessing["projectors"] == []
    pca = [p for p in neuromag_raw.info["projs"] if p["desc"] in PCA]
    for trial in range(3):
        np.testing.assert_allclose(
            on.X[trial], _projected(off.X[trial], on.info["ch_names"], pca),
            rtol=1e-6, atol=1e-9 * np.abs(off.X).max())
    with pytest.raises(TypeError, match="proj must be True or False"):
        load_recording(path, proj="no")
