"""Estimators on MNE objects: picks, Info kept, activations as events/annotations."""
import numpy as np
import pytest

from cdl import BatchCDL, read_model
from cdl.model.occurrences import find_occurrences
from cdl.simulate import simulate_data

mne = pytest.importorskip("mne")


@pytest.fixture(scope="module")
def raw():
    X, _, _, _ = simulate_data(n_trials=1, n_channels=4, n_times=1200, n_atoms=2,
                               n_times_atom=20, n_events=10, random_state=0)
    info = mne.create_info(["a", "b", "c", "d", "stim"], 100.,
                           ["eeg"] * 4 + ["stim"])
    data = np.concatenate([X[0], np.zeros((1, X.shape[2]))])
    return mne.io.RawArray(data, info, verbose=False)


def test_fit_raw_with_picks_keeps_info(raw):
    model = BatchCDL(n_atoms=2, n_times_atom=20, n_iter=5, random_state=0)
    model.fit(raw, picks=["a", "b", "c"])
    assert model.info_["ch_names"] == ["a", "b", "c"]
    assert model.u_hat_.shape == (2, 3)
    # the channels are divided by the std of their type (EEG here)
    X = raw.get_data(picks=["a", "b", "c"])[None]
    assert model.scalings_ == {"eeg": pytest.approx(
        (X - X.mean(axis=2, keepdims=True)).std())}
    expected = BatchCDL(n_atoms=2, n_times_atom=20, n_iter=5, random_state=0).fit(
        X / model.scalings_["eeg"])
    assert expected.scalings_ is None  # arrays are used as they are
    np.testing.assert_allclose(model.uv_hat_, expected.uv_hat_)
    z = model.transform(raw, picks=["a", "b", "c"])
    assert z.shape == model.z_hat_.shape
    with pytest.raises(ValueError, match="picks"):
        model.transform(raw.get_data()[None, :3], picks=["a"])


def test_events_annotations_and_metadata_round_trip(raw, tmp_path):
    model = BatchCDL(n_atoms=2, n_times_atom=20, n_iter=5, random_state=0)
    model.fit(raw, picks="eeg")
    events, event_id = model.to_events()
    assert event_id == {'atom_0': 1, 'atom_1': 2}
    # one event per occurrence (local maximum of z), at the peak of |v|
    occ = find_occurrences(model.z_hat_, model.v_hat_)
    assert 0 < len(events) == len(occ) < np.count_nonzero(model.z_hat_)
    assert set(zip(events[:, 2] - 1, events[:, 0])) == set(zip(occ["atom"],
                                                               occ["time"]))
    annotations = model.to_annotations()
    assert len(annotations) == len(events)
    np.testing.assert_allclose(np.sort(annotations.onset), np.sort(events[:, 0]) / 100.)
    fname = tmp_path / "model.npz"
    model.save(fname, metadata=dict(recording="sim", l_freq=1.))
    loaded = read_model(fname)
    assert loaded.metadata_ == dict(recording="sim", l_freq=1.)
    np.testing.assert_array_equal(loaded.z_hat_, model.z_hat_)
