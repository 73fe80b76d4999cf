"""One definition of an occurrence: local maxima of z, timed on the waveform,
the same in the events and annotations files, the tables and DriPP."""
import mne
import numpy as np
import pytest

from cdl.dripp import events_from_activations
from cdl.io import activations_to_annotations, activations_to_events
from cdl.io.events import EXTRAS, write_activations
from cdl.model.occurrences import (
    OCCURRENCE_DTYPE,
    find_occurrences,
    local_maxima,
    timing_offsets,
)
from cdl.report import activation_counts


def _planted(rng, n_trials=3, n_atoms=2, n_times_valid=400, n_events=25):
    """z with isolated events spread over 1 to 3 samples (a plateau, a
    rising or a falling shoulder), and the expected peak of each."""
    z = np.zeros((n_trials, n_atoms, n_times_valid))
    expected = []
    for n in range(n_trials):
        for k in range(n_atoms):
            starts = 5 + 7 * np.sort(rng.choice(n_times_valid // 7 - 2, n_events,
                                                replace=False))
            for t in starts:
                amp = rng.uniform(0.5, 2.)
                shape = rng.randint(4)
                if shape == 0:    # a single sample
                    z[n, k, t] = amp
                    peak = t
                elif shape == 1:  # a plateau of 3 equal values: counted once
                    z[n, k, t:t + 3] = amp
                    peak = t
                elif shape == 2:  # a shoulder then the maximum
                    z[n, k, t:t + 3] = [0.3 * amp, 0.3 * amp, amp]
                    peak = t + 2
                else:             # the maximum then a decay
                    z[n, k, t:t + 3] = [amp, 0.5 * amp, 0.2 * amp]
                    peak = t
                expected.append((n, k, peak, amp))
    return z, expected


@pytest.fixture
def planted():
    z, expected = _planted(np.random.RandomState(0))
    v = np.zeros((2, 30))
    v[0, 12] = -3.   # |v| peaks at 12 (a negative peak)
    v[0, 3] = 2.
    v[1, 0] = 1.     # peaks at the window start
    return z, v, expected


def test_planted_events_found_exactly(planted):
    z, v, expected = planted
    occ = find_occurrences(z, v)
    assert occ.dtype == OCCURRENCE_DTYPE
    assert len(occ) == len(expected) < np.count_nonzero(z)
    got = sorted(zip(occ["trial"].tolist(), occ["atom"].tolist(),
                     occ["start"].tolist()))
    assert got == sorted((n, k, t) for n, k, t, _ in expected)
    np.testing.assert_array_equal(occ["time"] - occ["start"],
                                  np.where(occ["atom"] == 0, 12, 0))
    amp = {(n, k, t): a for n, k, t, a in expected}
    np.testing.assert_array_equal(
        occ["amplitude"], [amp[(n, k, t)] for n, k, t in
                           zip(occ["trial"], occ["atom"], occ["start"])])
    order = np.lexsort((occ["atom"], occ["time"], occ["trial"]))
    np.testing.assert_array_equal(order, np.arange(len(occ)))
    mask = local_maxima(z)
    assert mask.sum() == len(expected)


def test_events_annotations_tables_and_dripp_hold_the_same_occurrences(
        planted, tmp_path):
    z, v, expected = planted
    starts = np.array([0, 1000, 2000])
    events = activations_to_events(z, first_samp=50, trial_starts=starts, v=v)
    occ = find_occurrences(z, v)
    assert len(events) == len(expected)
    # at the sample of the peak of |v| after each window start, to the sample
    np.testing.assert_array_equal(
        np.sort(events[:, 0]), np.sort(50 + starts[occ["trial"]] + occ["time"]))
    annot = activations_to_annotations(z, 100., trial_starts=starts, v=v)
    np.testing.assert_allclose(annot.onset, (events[:, 0] - 50) / 100.)
    assert [e["window_start"] for e in annot.extras][:3] == \
        (starts[occ["trial"]] + occ["start"])[np.lexsort((
            occ["atom"], starts[occ["trial"]] + occ["time"]))][:3].tolist()
    counts = activation_counts(z, sfreq=100.)
    assert [c["occurrences"] for c in counts] == \
        [int(np.sum(occ["atom"] == k)) for k in range(2)]
    times = events_from_activations(z, 100., v=v, trial_starts=starts)
    assert sum(t.size for t in times) == len(expected)
    np.testing.assert_allclose(np.sort(np.concatenate(times)),
                               np.sort(events[:, 0] - 50) / 100.)
    # 'start' timing: the window start, as before
    np.testing.assert_array_equal(
        np.sort(activations_to_events(z, trial_starts=starts, v=v,
                                      timing="start")[:, 0]),
        np.sort(starts[occ["trial"]] + occ["start"]))


@pytest.mark.filterwarnings("ignore:Extra fields found:RuntimeWarning")  # no pandas
def test_annotations_text_has_a_fixed_column_order(planted, tmp_path):
    z, v, expected = planted
    annot = activations_to_annotations(z, 100., n_times=500, v=v)
    events = activations_to_events(z, n_times=500, v=v)
    fnames = write_activations(tmp_path / "act", annot, events)
    lines = fnames["annot_txt"].read_text().splitlines()
    assert lines[0] == "# MNE-Annotations"
    assert lines[1] == "# onset, duration, description, " + ", ".join(EXTRAS)
    assert EXTRAS == ("atom", "trial", "amplitude", "window_start")
    first = lines[2].split(",")
    assert first[2] == f"atom_{annot.extras[0]['atom']}"
    assert float(first[5]) == annot.extras[0]["amplitude"]
    assert len(lines) == 2 + len(expected)
    read = mne.read_annotations(fnames["annot_txt"])
    np.testing.assert_allclose(read.onset, annot.onset)
    assert len(mne.read_events(fnames["events"])) == len(expected)


def test_plateaus_shoulders_edges_threshold():
    z = np.array([[3., 0, 1, 1, 2, 0, 1, 1, 0, 0.5, 0.5, 0.7, 0.7, 0.1, 2., 2.]])
    occ = find_occurrences(z)
    # 0: edge max; 2-3 is a shoulder (not a max); 4: max; 6-7 plateau once;
    # 11-12 plateau after a rise; 14-15 plateau at the end
    assert occ["start"].tolist() == [0, 4, 6, 11, 14]
    assert occ["time"].tolist() == occ["start"].tolist()  # no v: window start
    assert find_occurrences(z, threshold=1.)["start"].tolist() == [0, 4, 14]
    assert len(find_occurrences(z, threshold=3.)) == 0  # strictly above
    assert len(find_occurrences(np.zeros((2, 3, 10)))) == 0
    assert len(find_occurrences(np.array([[-2., -1., -2.]]))) == 0
    assert np.flatnonzero(local_maxima(z[0], threshold=1.)).tolist() == [0, 4, 14]


def test_absolute_keeps_sign():
    z = np.array([[0., -2., -1., 0., 1.5, 0.]])
    assert len(find_occurrences(z)) == 1
    occ = find_occurrences(z, absolute=True)
    assert occ["start"].tolist() == [1, 4]
    assert occ["amplitude"].tolist() == [-2., 1.5]


def test_timing_offsets():
    v = np.zeros((3, 20))
    v[0, [2, 9]] = [1., -2.]
    v[1, 5:8] = 1.          # tie: the first
    v[2, [4, 14]] = 1.
    assert timing_offsets(v).tolist() == [9, 5, 4]
    assert timing_offsets(v, "start").tolist() == [0, 0, 0]
    assert timing_offsets(v, np.array([1, 2, 3])).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="timing must be one of"):
        timing_offsets(v, "middle")
    with pytest.raises(ValueError, match="integers in"):
        timing_offsets(v, np.array([1, 2, 20]))
    z = np.zeros((1, 3, 50))
    z[0, :, 10] = 1.
    occ = find_occurrences(z, v)  # sorted by time
    assert occ["atom"].tolist() == [2, 1, 0]
    assert occ["time"].tolist() == [14, 15, 19]
    occ = find_occurrences(z, timing=np.array([1, 2, 3]))  # offsets without v
    assert occ["time"].tolist() == [11, 12, 13]


def test_errors():
    with pytest.raises(ValueError, match="shape"):
        find_occurrences(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        find_occurrences(np.array([[0., np.nan]]))
    with pytest.raises(ValueError, match="threshold"):
        find_occurrences(np.zeros((1, 4)), threshold=-1)
    with pytest.raises(ValueError, match=r"v must have shape \(2"):
        find_occurrences(np.zeros((1, 2, 4)), v=np.zeros((3, 5)))
