"""Atom revival: the pure rules, the encoders' revival methods, and revival
inside the learning loop (every learning mode and encoder, resume, Ctrl-C)."""
import json

import numpy as np
import pytest
from callbacks import interrupt_at
from scipy import sparse

import cdl
import dicod
from cdl import BatchCDL, DiCoDiLe, GreedyCDL, OnlineCDL
from cdl.dictionary import make_update_d
from cdl.learn import ChunkedEncoder, LocalEncoder
from cdl.learn.revival import Reviver
from cdl.learn.revival_params import check_revive_atoms
from cdl.learn.revival_rules import (
    best_lag_correlation,
    centring_shift,
    cluster_counts,
    dense_cluster_counts,
    find_candidates,
    is_fragmented,
    looks_fragmented,
    merge_fragments,
    shift_activations,
    shift_waveform,
    shifted_atom,
)
from cdl.model.objective import data_fit_from_stats
from cdl.model.occurrences import occurrence_counts, sparse_occurrence_counts
from cdl.model.similarity import atom_similarity, duplicate_pairs, match_atoms
from cdl.simulate import simulate_data

# Exact z-steps (inexact=False): the encoders solve the same problems.
TIGHT = dict(tol=1e-7, max_iter=100000, inexact=False)


def assert_same_fit(resumed, reference):
    """A resumed fit is bit-identical to the uninterrupted one: atoms,
    objective trajectory and revival log."""
    np.testing.assert_array_equal(resumed.uv_hat_, reference.uv_hat_)
    np.testing.assert_array_equal(resumed.pobj_, reference.pobj_)
    assert resumed.revived_ == reference.revived_


# -- pure functions ----------------------------------------------------------------

def test_occurrence_counts_are_positive_local_maxima():
    z = np.zeros((2, 3, 20))
    z[0, 0, [2, 3, 4]] = [1., 2., 1.]  # one peak
    z[1, 0, [10, 15]] = 1.             # two peaks
    z[0, 1, 5] = -3.                   # negative: not an occurrence
    z[:, 2, 7] = 0.5                   # one per trial
    np.testing.assert_array_equal(occurrence_counts(z), [3, 0, 2])


def test_sparse_occurrence_counts_match_the_dense_ones():
    rng = np.random.RandomState(5)
    z = np.zeros((4, 300))
    for k in range(4):
        z[k, rng.choice(300, 40, replace=False)] = rng.rand(40)
    z[0, :3] = [2., 1., 1.]               # maximum at the first sample
    z[1, -2:] = [1., 3.]                  # and at the last
    z[2, 100:104] = [1., 2., 2., 0.5]     # plateau: counted once
    z[3, 200:203] = [1., 0., 1.]          # an explicit zero between two
    csr = sparse.csr_array(z)
    np.testing.assert_array_equal(sparse_occurrence_counts(csr),
                                  occurrence_counts(z[None]))
    assert sparse_occurrence_counts(sparse.csr_array((3, 50))).tolist() == [0] * 3


def _uv(u, v):
    return np.concatenate([u / np.linalg.norm(u), v / np.linalg.norm(v)])


def test_duplicates_are_found_up_to_a_shift_and_sign_matters():
    rng = np.random.RandomState(0)
    u, u2 = rng.randn(2, 6)
    t = np.arange(30)
    v = np.sin(2 * np.pi * t / 15) * np.hanning(30)
    uv = np.array([_uv(u, v), _uv(u, shift_waveform(v, 2)),  # same, shifted
                   _uv(-u, shift_waveform(v, 2)),           # its negative
                   _uv(u2, v)])                             # other pattern
    pairs = duplicate_pairs(uv, 6, max_corr=0.9)
    assert [(j, k) for j, k, _, _ in pairs] == [(0, 1)]
    # Without the sign constraint, the negative copy is a duplicate too.
    loose = {(j, k) for j, k, _, _ in duplicate_pairs(uv, 6, 0.9, positive=False)}
    assert loose == {(0, 1), (0, 2), (1, 2)}
    corr_u, corr_v = atom_similarity(uv, 6)
    assert corr_u[0, 3] < 0.9 and corr_v[0, 3] > 0.99
    # Full-rank atoms: the same rules on u v^T.
    D = uv[:, :6, None] * uv[:, None, 6:]
    assert [(j, k) for j, k, _, _ in duplicate_pairs(D, 6)] == [(0, 1)]


def test_candidates_unused_first_then_weaker_duplicate():
    rng = np.random.RandomState(1)
    uv = rng.randn(5, 10)
    uv[3] = uv[1]  # 1 and 3 are duplicates; 3 is used less
    counts = np.array([40, 30, 2, 20, 0])
    candidates = find_candidates(counts, uv, 4, min_occurrences=5)
    assert candidates == [(4, "unused"), (2, "unused"), (3, "duplicate of 1")]
    # An unused duplicate is listed once.
    counts[3] = 1
    assert find_candidates(counts, uv, 4) == [(4, "unused"), (3, "unused"),
                                              (2, "unused")]


def test_candidates_underused_below_a_fraction_of_the_median():
    rng = np.random.RandomState(3)
    uv = rng.randn(6, 10)
    counts = np.array([30, 9, 31, 2, 29, 10])  # median 19.5
    # below 5: unused; below 0.5 * 19.5 = 9.75: underused (10 is not)
    assert find_candidates(counts, uv, 4, min_relative=0.5) == [
        (3, "unused"), (1, "underused")]
    assert find_candidates(counts, uv, 4, min_relative=0.) == [(3, "unused")]
    # The default of revive_atoms: a third of the median (6.5 here).
    relative = check_revive_atoms(True)["min_relative"]
    assert find_candidates(counts, uv, 4, min_relative=relative) == [
        (3, "unused")]
    counts[1] = 6
    assert find_candidates(counts, uv, 4, min_relative=relative) == [
        (3, "unused"), (1, "underused")]


class _UsageEncoder:
    """What Reviver.candidate asks of an encoder."""
    n_channels = 4

    def __init__(self, counts):
        self.counts = np.asarray(counts)

    def atom_usage(self):
        return self.counts, self.counts.astype(float)

    def atom_clusters(self):
        # One activation per event: as many compact clusters as occurrences,
        # not fragmented.
        return np.array([self.counts, self.counts, self.counts])

    def compute_z(self, trials=None):
        return {}


def test_reviver_tries_an_underused_atom():
    uv = np.random.RandomState(4).randn(4, 10)
    uv[:, 4:] = np.hanning(6)  # centred waveforms: no move
    encoder = _UsageEncoder([30, 8, 31, 29])
    assert Reviver(n_atoms=4).candidate(encoder, uv, 5) == (1, "underused")
    assert Reviver(n_atoms=4, min_relative=0.).candidate(encoder, uv, 5) is None


def test_an_atom_added_by_greedy_learning_grows_before_it_is_underused():
    uv = np.random.RandomState(5).randn(4, 10)
    uv[:, 4:] = np.hanning(6)
    reviver = Reviver(n_atoms=4)  # cooldown 5
    encoder = _UsageEncoder([30, 31, 29])
    reviver.z_step(encoder, uv[:3], 0, None, [1.], None, None, None)
    encoder.counts = np.array([30, 31, 29, 6])  # atom 3 added at iteration 6
    reviver.z_step(encoder, uv, 6, None, [1.], None, None, None)
    assert reviver.encoded_at == {3: 6}
    assert reviver.candidate(encoder, uv, 8) is None
    assert reviver.candidate(encoder, uv, 11) == (3, "underused")
    # part of the state (checkpoints)
    resumed = Reviver(n_atoms=4)
    resumed.set_state(reviver.get_state())
    assert resumed.candidate(encoder, uv, 8) is None
    assert resumed.candidate(encoder, uv, 11) == (3, "underused")
    # atoms of the initial dictionary are not growing
    encoder.counts = np.array([30, 31, 6, 29])
    assert Reviver(n_atoms=4).candidate(encoder, uv, 5) == (2, "underused")
    # a growing atom that duplicates another is replaced as a duplicate
    uv_dup = uv.copy()
    uv_dup[3] = uv_dup[0]
    encoder.counts = np.array([30, 31, 29, 8])
    assert reviver.candidate(encoder, uv_dup, 8) == (3, "duplicate of 0")


class _WindowEncoder:
    """What Reviver.new_atom asks of an encoder."""

    def __init__(self, window):
        self.window = window
        self.n_channels = window.shape[0]

    def residual_window(self, n_times_atom):
        assert n_times_atom == self.window.shape[1]
        return self.window


@pytest.mark.parametrize("uv_constraint, norm", [("separate", 1.),
                                                 ("joint", 1 / np.sqrt(2))])
def test_new_atom_is_the_rank1_window_normalised_and_positive(uv_constraint, norm):
    rng = np.random.RandomState(2)
    u, v = rng.randn(6), rng.randn(20)
    window = 3. * np.outer(u, v) + 0.01 * rng.randn(6, 20)
    D = np.zeros((2, 26))
    reviver = Reviver(uv_constraint=uv_constraint)
    atom = reviver.new_atom(_WindowEncoder(window), D)
    u_new, v_new = atom[:6], atom[6:]
    np.testing.assert_allclose(np.linalg.norm(u_new), norm)
    np.testing.assert_allclose(np.linalg.norm(v_new), norm)
    assert abs(u_new @ u) / (norm * np.linalg.norm(u)) > 0.999
    assert abs(v_new @ v) / (norm * np.linalg.norm(v)) > 0.999
    assert u_new @ window @ v_new > 0  # explains the window with z > 0
    assert np.argmax(np.abs(v_new)) == np.argmax(v_new)  # deterministic sign
    np.testing.assert_array_equal(reviver.new_atom(_WindowEncoder(
        np.zeros((6, 20))), D), 0.)
    full = Reviver(rank1=False).new_atom(_WindowEncoder(window),
                                         np.zeros((2, 6, 20)))
    np.testing.assert_allclose(np.linalg.norm(full), 1.)
    taper = np.hanning(20)
    tapered = Reviver(taper=taper).new_atom(_WindowEncoder(window), D)
    assert np.all(tapered[6:][[0, -1]] == 0)
    assert reviver.new_atom(_WindowEncoder(window), D.astype(np.float32)).dtype \
        == np.float32


def test_centring_moves_energy_to_the_middle_and_keeps_the_model():
    v = np.r_[np.hanning(20), np.zeros(12)]  # energy early in the window
    shift = centring_shift(v)
    assert shift == 6
    moved = shift_waveform(v, shift)
    centre = np.arange(32) @ moved ** 2 / np.sum(moved ** 2)
    assert abs(centre - 15.5) <= 0.5
    assert centring_shift(moved) == 0
    # Moving the waveform later and the activations earlier keeps z * v.
    rng = np.random.RandomState(3)
    z = np.zeros((2, 200))
    z[:, 20:180:37] = rng.rand(2, 5)
    z_moved = shift_activations(z, shift)
    for n in range(2):
        np.testing.assert_allclose(np.convolve(z_moved[n], moved),
                                   np.convolve(z[n], v), atol=1e-12)
    # No energy is lost beyond max_loss: a full window is not moved.
    assert centring_shift(np.r_[np.ones(31), 5.]) == 0


def _fragments(n_events=30, n_times_atom=64, seed=0):
    """A waveform made of a burst and its copy (``[s, s]``), an atom that
    learned the burst only (``[s, 0]``), and activations that rebuild the
    waveform with it: two per event, half an atom apart."""
    rng = np.random.RandomState(seed)
    half = n_times_atom // 2
    burst = np.sin(2 * np.pi * np.arange(half) / 8) * np.hanning(half)
    whole, piece = np.r_[burst, burst], np.r_[burst, np.zeros(half)]
    onsets = np.sort(rng.choice(50, n_events, replace=False)) * 3 * n_times_atom
    amplitudes = rng.uniform(1, 2, n_events)
    times = np.sort(np.r_[onsets, onsets + half])
    values = np.repeat(amplitudes, 2)
    return whole, piece, [(times, values)]


def test_merged_fragments_rebuild_the_whole_waveform():
    whole, piece, activations = _fragments()
    merged = merge_fragments(piece[None], activations, 64)
    np.testing.assert_allclose(merged["window"][0],
                               whole / np.linalg.norm(whole), atol=1e-12)
    np.testing.assert_array_equal(merged["counts"], [30, 60, 60])
    assert merged["coherence"] == pytest.approx(1.)
    corr = best_lag_correlation(piece[None], merged["window"])
    assert corr == pytest.approx(1 / np.sqrt(2))
    assert is_fragmented(piece[None], merged, 1.5)
    # The whole waveform, once per event, is not fragmented: its merged
    # window is itself (and one occurrence per cluster).
    times, values = activations[0]
    once = [(times[::2], values[::2])]
    merged = merge_fragments(whole[None], once, 64)
    np.testing.assert_array_equal(merged["counts"], [30, 30, 30])
    assert best_lag_correlation(whole[None], merged["window"]) == pytest.approx(1.)
    assert not is_fragmented(whole[None], merged, 1.5)


def test_an_ongoing_rhythm_is_not_fragmented():
    # Activations every 20 samples for 2000 samples (an atom of 64): one long
    # chain, no compact cluster.
    times = np.arange(0, 2000, 20)
    counts = cluster_counts(times, 64)
    np.testing.assert_array_equal(counts, [0, 0, 100])
    assert not looks_fragmented(counts, 1.5)
    merged = merge_fragments(np.hanning(64)[None], [(times, np.ones(100))], 64)
    assert merged["window"] is None and not is_fragmented(
        np.hanning(64)[None], merged, 1.5)


def test_cluster_counts_of_pieces_add_up():
    """Counted where they begin, through a window that reaches
    n_times_atom - 1 before a piece and 2 (n_times_atom - 1) after it (a
    DICOD worker's view), the counts of the pieces add up to the whole's."""
    rng = np.random.RandomState(4)
    n_times_atom = 12
    for _ in range(20):
        times = np.sort(rng.choice(2000, 150, replace=False))
        bounds = np.r_[0, np.sort(rng.choice(np.arange(1, 2000), 3, replace=False)),
                       2000]
        total = np.zeros(3, dtype=np.int64)
        for a, b in zip(bounds[:-1], bounds[1:]):
            seen = times[(times >= a - n_times_atom + 1)
                         & (times < b + 2 * (n_times_atom - 1))]
            total += cluster_counts(seen, n_times_atom, a, b)
        np.testing.assert_array_equal(total, cluster_counts(times, n_times_atom))


def test_negative_events_are_merged_with_their_sign_flipped():
    """With positive=False, a fragmented atom may rebuild an event and its
    negative: the merged window is the waveform, not their cancellation."""
    whole, piece, [(times, values)] = _fragments()
    bump = np.hanning(32)
    whole, piece = np.r_[bump, bump], np.r_[bump, np.zeros(32)]  # monophasic
    values = values * np.repeat(np.where(np.arange(30) % 2, -1., 1.), 2)
    merged = merge_fragments(piece[None], [(times, values)], 64, positive=False)
    np.testing.assert_allclose(np.abs(merged["window"][0]),
                               whole / np.linalg.norm(whole), atol=1e-12)
    assert merged["coherence"] == pytest.approx(1.)
    assert is_fragmented(piece[None], merged, 1.5, positive=False)


def test_dense_cluster_counts_match_the_rows():
    rng = np.random.RandomState(9)
    z = np.zeros((5, 4, 700))
    for n in range(5):
        for k in range(4):
            times = rng.choice(700, rng.randint(0, 60), replace=False)
            z[n, k, times] = rng.randn(times.size)
    z[2, 1, 100:104] = 1.  # one occurrence of four samples
    expected = np.array([
        sum(cluster_counts(np.flatnonzero(z[n, k]), 16) for n in range(5))
        for k in range(4)]).T
    np.testing.assert_array_equal(dense_cluster_counts(z, 16), expected)
    np.testing.assert_array_equal(dense_cluster_counts(np.zeros((2, 3, 50)), 16),
                                  np.zeros((3, 3)))


def test_cluster_counts_match_a_loop():
    rng = np.random.RandomState(3)
    for _ in range(20):
        times = np.sort(rng.choice(3000, rng.randint(1, 120), replace=False))
        n_times_atom = int(rng.choice([5, 16, 64]))
        clusters, run_counts = [[times[0]]], [1]
        for previous, t in zip(times[:-1], times[1:]):
            if t - previous >= n_times_atom:
                clusters.append([])
                run_counts.append(1)
            elif t - previous > 1:
                run_counts[-1] += 1
            clusters[-1].append(t)
        compact = [c[-1] - c[0] < n_times_atom for c in clusters]
        expected = [sum(compact),
                    sum(r for r, c in zip(run_counts, compact) if c),
                    sum(run_counts)]
        np.testing.assert_array_equal(cluster_counts(times, n_times_atom),
                                      expected)
    np.testing.assert_array_equal(cluster_counts([], 10), [0, 0, 0])


@pytest.mark.parametrize("value, error, match", [
    (dict(min_occurrences=-1), ValueError, "min_occurrences"),
    (dict(max_corr=1.5), ValueError, "max_corr"),
    (dict(cooldown=0), ValueError, "cooldown"),
    (dict(start=0), ValueError, "start"),
    (dict(min_relative=1.), ValueError, "min_relative"),
    (dict(min_relative=-0.1), ValueError, "min_relative"),
    (dict(min_fragments=1.), ValueError, "min_fragments"),
    (dict(min_fragments="2"), TypeError, "min_fragments"),
    (dict(centre="x"), TypeError, "centre"),
    (dict(foo=1), ValueError, "revive_atoms has unknown keys"),
    ("yes", TypeError, "revive_atoms"),
])
def test_bad_revive_atoms(value, error, match):
    with pytest.raises(error, match=match):
        check_revive_atoms(value)
    X = np.random.RandomState(0).randn(1, 3, 200)
    with pytest.raises(error, match=match):
        BatchCDL(n_atoms=2, n_times_atom=10, n_iter=2, revive_atoms=value).fit(X)


def test_revive_atoms_values():
    assert check_revive_atoms(False) is None
    assert check_revive_atoms(True)["min_occurrences"] == 5
    assert check_revive_atoms(dict(max_corr=0.8))["max_corr"] == 0.8
    assert check_revive_atoms(dict(centre=None))["centre"] is None


# -- encoders --------------------------------------------------------------------------
def _encoders(X, n_atoms, n_times_atom):
    """The in-process encoders and a distributed one (2 thread workers)."""
    return [LocalEncoder(X, n_atoms, n_times_atom),
            ChunkedEncoder(X, n_atoms, n_times_atom, chunk_len=64),
            dicod.DistributedEncoder(X, n_atoms, n_times_atom, n_workers=2,
                                     backend="local")]


def test_encoders_count_reset_shift_keep_and_restore_alike():
    X = np.random.RandomState(4).randn(2, 3, 300)
    z = np.zeros((2, 3, 291))
    z[0, 0, [5, 50]] = 1.
    z[1, 1, 100] = 2.
    z[1, 2, [10, 11]] = [1., 3.]
    z[0, 2, [200, 260]] = [0.5, 0.25]
    for encoder in _encoders(X, 3, 10):
        with encoder:
            encoder.set_D(np.random.RandomState(0).randn(3, 13))
            encoder.set_z(z)
            counts, sums = encoder.atom_usage()
            np.testing.assert_array_equal(counts, [2, 1, 3])
            np.testing.assert_allclose(sums, [2., 2., 4.75])
            encoder.keep_z()
            encoder.reset_atom(1)
            expected = z.copy()
            expected[:, 1] = 0.
            np.testing.assert_array_equal(encoder.get_z_hat(), expected)
            np.testing.assert_array_equal(encoder.atom_usage()[0], [2, 0, 3])
            encoder.shift_activations(2, 20)  # z'(t) = z(t + 20)
            expected[:, 2] = shift_activations(z[:, 2], 20)
            assert expected[1, 2, 0] == 0. and expected[0, 2, 240] == 0.25
            np.testing.assert_array_equal(encoder.get_z_hat(), expected)
            encoder.restore_z()
            np.testing.assert_array_equal(encoder.get_z_hat(), z)
            np.testing.assert_array_equal(encoder.atom_usage()[0], [2, 1, 3])


def test_distributed_usage_counts_maxima_on_the_workers_borders():
    """Each worker counts its own box; a maximum (or a plateau) on a border
    between two workers is counted once, with the neighbour's sample."""
    X = np.random.RandomState(6).randn(2, 3, 400)
    n_times_atom = 10
    rng = np.random.RandomState(7)
    with dicod.DistributedEncoder(X, 2, n_times_atom, n_workers=3,
                                  backend="local") as encoder:
        borders = [encoder.seg.own(i)[3] for i in range(2)]
        z = np.zeros((2, 2, 391))
        z[:, :, rng.choice(391, 30, replace=False)] = rng.rand(2, 2, 30)
        for b in borders:
            z[0, 0, b - 2:b + 2] = [1., 3., 2., 1.]  # maximum just left of b
            z[0, 1, b - 2:b + 2] = [1., 2., 3., 1.]  # maximum at b
            z[1, 0, b - 2:b + 2] = [1., 2., 2., 1.]  # plateau across b: once
            z[1, 1, b - 2:b + 2] = [3., 1., 1., 3.]  # none near b
        z[:, :, [0, -1]] = 5.                        # at the ends of the signal
        encoder.set_D(rng.randn(2, 3 + n_times_atom))
        encoder.set_z(z)
        counts, sums = encoder.atom_usage()
        np.testing.assert_array_equal(counts, occurrence_counts(z))
        np.testing.assert_allclose(sums, np.abs(z).sum(axis=(0, 2)))


def test_encoders_give_the_same_atom_activations_and_clusters():
    """Dense, sparse (chunked) and distributed encoders: the same non-zero
    activations per atom and trial, and the same cluster counts (no cluster
    across a worker border here)."""
    rng = np.random.RandomState(8)
    X = rng.randn(2, 3, 600)
    n_times_atom = 10
    z = np.zeros((2, 2, 591))
    for n in range(2):
        for k in range(2):
            onsets = [40, 41, 45, 300, 303, 500] if k == 0 else [100, 250, 251]
            z[n, k, onsets] = rng.rand(len(onsets)) + 0.1
    D = rng.randn(2, 3 + n_times_atom)
    expected = {k: [(np.flatnonzero(z[n, k]), z[n, k][z[n, k] != 0])
                    for n in range(2)] for k in range(2)}
    # Atom 0, per trial: clusters 40-45 (40 and 41 are one occurrence),
    # 300-303 and 500; atom 1: 100 and 250-251. All compact.
    local = LocalEncoder(X, 2, n_times_atom)
    chunked = ChunkedEncoder(X, 2, n_times_atom)
    with dicod.DistributedEncoder(X, 2, n_times_atom, n_workers=2,
                                  backend="local") as distributed:
        for encoder in (local, chunked, distributed):
            encoder.set_D(D)
            encoder.set_z(z)
            got = encoder.atom_activations([0, 1])
            for k in range(2):
                for (times, values), (t_ref, v_ref) in zip(got[k], expected[k]):
                    np.testing.assert_array_equal(times, t_ref)
                    np.testing.assert_allclose(values, v_ref)
            np.testing.assert_array_equal(
                encoder.atom_clusters(), [[6, 4], [10, 4], [10, 4]])
    # Clusters across the borders of 3 workers: the workers count each where
    # it begins, and their sums are the local encoder's.
    n_times_atom = 25
    X = rng.randn(3, 3, 900)
    z = np.zeros((3, 4, 876))
    for n in range(3):
        for k in range(4):
            for onset in rng.choice(850, 8, replace=False):
                z[n, k, onset] = rng.rand() + 0.1
                if rng.rand() < 0.7:
                    z[n, k, onset + rng.randint(5, 15)] = rng.rand() + 0.1
    D = rng.randn(4, 3 + n_times_atom)
    local = LocalEncoder(X, 4, n_times_atom)
    local.set_D(D)
    local.set_z(z)
    with dicod.DistributedEncoder(X, 4, n_times_atom, n_workers=3,
                                  backend="local") as distributed:
        distributed.set_D(D)
        distributed.set_z(z)
        np.testing.assert_array_equal(distributed.atom_clusters(),
                                      local.atom_clusters())


# -- learning ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planted():
    """Three known atoms; an initial dictionary with true atom 0, a shifted
    copy of it and an atom that never fits the signal (dead). (The copy does
    not stay a duplicate: the d-step separates them; the duplicate rule is
    tested on a fixed dictionary below.)"""
    X, u, v, _ = simulate_data(n_trials=2, n_channels=8, n_times=2000, n_atoms=3,
                               n_times_atom=24, n_events=15, noise_level=0.05,
                               random_state=0)
    dead_v = np.where(np.arange(24) % 2, 1., -1.)  # Nyquist: no such waveform
    D_init = np.array([_uv(u[0], v[0]), _uv(u[0], shift_waveform(v[0], 2)),
                       _uv(np.ones(8), dead_v)])
    return X, u, v, D_init


@pytest.fixture(scope="module")
def fragmented():
    """Two known atoms, the first a burst and its copy (``[s, s]``); an
    initial dictionary whose first atom learned the burst only (``[s, 0]``,
    it rebuilds each event with two activations) and the true second."""
    rng = np.random.RandomState(0)
    n_times_atom, n_channels, n_times = 32, 8, 6000
    half = n_times_atom // 2
    burst = np.sin(2 * np.pi * np.arange(half) / 6) * np.hanning(half)
    v = np.array([np.r_[burst, burst], np.hanning(n_times_atom)
                  * np.cos(2 * np.pi * np.arange(n_times_atom) / 16)])
    u = rng.randn(2, n_channels)
    X = np.zeros((1, n_channels, n_times))
    for k in range(2):
        z = np.zeros(n_times - n_times_atom + 1)
        onsets = rng.choice(n_times // (2 * n_times_atom) - 1, 30, replace=False)
        z[onsets * 2 * n_times_atom + rng.randint(n_times_atom, size=30)] = \
            rng.uniform(1, 2, 30)
        X[0] += np.outer(u[k], np.convolve(z, v[k]))
    X += 0.01 * X.std() * rng.randn(*X.shape)
    D_init = np.array([_uv(u[0], np.r_[burst, np.zeros(half)]), _uv(u[1], v[1])])
    return X, u, v, D_init


@pytest.mark.parametrize("kwargs", [
    {}, dict(chunk_len=1000),
    dict(solver_z="dicod", n_workers=2, backend="local")])
def test_a_fragmented_atom_is_merged(fragmented, kwargs):
    X, u, v, D_init = fragmented
    fits = {}
    for name, revive in (("on", True), ("off", dict(min_fragments=None))):
        fits[name] = BatchCDL(n_atoms=2, n_times_atom=32, reg=0.1, n_iter=15,
                              D_init=D_init, revive_atoms=revive, random_state=0,
                              **kwargs).fit(X)
    on, off = fits["on"], fits["off"]
    assert {"iteration": 5, "atom": 0, "reason": "fragmented",
            "accepted": True} in on.revived_
    assert _n_recovered(on, u, v, threshold=0.99) == 2
    assert _n_recovered(off, u, v) == 1  # the piece stays a piece
    assert on.pobj_[-1] < 0.9 * off.pobj_[-1]


def _n_recovered(model, u, v, threshold=0.95):
    return sum(m["corr_u"] >= threshold and m["corr_v"] >= threshold
               for m in match_atoms(u, v, model.u_hat_, model.v_hat_))


def test_planted_dead_atom_and_duplicate_are_repaired(planted):
    X, u, v, D_init = planted
    kwargs = dict(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=30, D_init=D_init,
                  random_state=0)
    off = BatchCDL(**kwargs, revive_atoms=False).fit(X)
    on = BatchCDL(**kwargs).fit(X)
    assert occurrence_counts(off.z_hat_)[2] == 0  # never revived by learning
    assert _n_recovered(off, u, v) <= 1
    assert _n_recovered(on, u, v) == 3
    # Nothing is tried before iteration 5 (revive_atoms['start']).
    assert on.revived_[0] == dict(iteration=5, atom=2, reason="unused",
                                  accepted=True)
    assert np.all(occurrence_counts(on.z_hat_) >= 5)
    assert not duplicate_pairs(on.uv_hat_, 8)
    # The diagnostics of the fitted estimators say the same.
    assert [row["rare"] for row in off.diagnostics_] == [False, False, True]
    assert not any(row["rare"] or row["duplicate_of"] for row in on.diagnostics_)
    # Replacements are kept only when the objective falls: still monotone.
    assert np.all(np.diff(on.pobj_) <= 1e-10 * on.pobj_[0])
    assert on.pobj_[-1] < off.pobj_[-1]
    # Deterministic given random_state (nothing random is drawn).
    again = BatchCDL(**kwargs).fit(X)
    np.testing.assert_array_equal(again.uv_hat_, on.uv_hat_)
    assert again.revived_ == on.revived_


def test_revival_log_and_diagnostics_survive_save_and_read(planted, tmp_path):
    X, u, v, D_init = planted
    model = BatchCDL(3, 24, reg=0.1, n_iter=30, D_init=D_init, sort_atoms=True,
                     random_state=0).fit(X)
    unsorted = BatchCDL(3, 24, reg=0.1, n_iter=30, D_init=D_init,
                        random_state=0).fit(X)
    # The log names atoms as the (sorted) attributes do.
    k = unsorted.revived_[0]["atom"]
    moved = model.revived_[0]["atom"]
    np.testing.assert_allclose(model.uv_hat_[moved], unsorted.uv_hat_[k])
    model.save(tmp_path / "model.npz")
    back = cdl.read_model(tmp_path / "model.npz")
    assert back.revived_ == model.revived_ and back.interrupted_ is False
    assert back.diagnostics_ == model.diagnostics_


def _encoder(X, D, reg=None):
    """A LocalEncoder of the planted problem with dictionary ``D`` and
    ``reg`` (None: 0.1 times lambda_max of ``D``)."""
    encoder = LocalEncoder(X, 3, 24)
    encoder.set_D(D)
    if reg is None:
        reg = np.full(3, 0.1 * encoder.lambda_max())
    encoder.set_reg(reg)
    return encoder, reg


def _dictionary_setter(encoder, reg):
    """The loop's ``set_dictionary`` at a fixed ``reg``."""
    def set_dictionary(D_new):
        encoder.set_D(D_new)
        encoder.set_reg(reg)
    return set_dictionary


def test_duplicate_is_replaced_by_the_missing_atom(planted):
    X, u, v, _ = planted
    # True atoms 0 and 1, and atom 0 again (slightly shifted): atom 2 of the
    # truth is missing.
    D = np.array([_uv(u[0], v[0]), _uv(u[1], v[1]),
                  _uv(u[0], shift_waveform(v[0], 1))])
    encoder, reg = _encoder(X, D)
    encoder.compute_z()
    z = encoder.get_z_hat()
    z[:, 0] = z[:, 2] = np.maximum(z[:, 0], z[:, 2]) / 2  # shared activations
    encoder.set_z(z)
    before = encoder.get_cost()
    assert Reviver(n_atoms=3).candidate(encoder, D, 4) is None  # start 5
    reviver = Reviver(n_atoms=3, start=1)
    atom, reason = reviver.candidate(encoder, D, 1)
    assert (atom, reason) in ((2, "duplicate of 0"), (0, "duplicate of 2"))
    set_dictionary = _dictionary_setter(encoder, reg)
    D_new, info, accepted = reviver.attempt(
        encoder, D, atom, reason, 1, None, set_dictionary,
        lambda info: info["objective"], before)
    assert accepted and info["objective"] < before
    new = match_atoms(u[2:], v[2:], D_new[atom:atom + 1, :8],
                      D_new[atom:atom + 1, 8:])[0]
    assert new["corr_u"] > 0.9 and new["corr_v"] > 0.9  # the missing atom
    assert np.all(encoder.get_z_hat()[:, atom] >= 0)
    assert reviver.get_state()["n_attempts"] == 1


def _d_step_gain(encoder, update_d):
    """The loop's judge of off-centre moves: objective, and after a d-step."""
    def d_step_gain(D_try):
        ztz, ztX = encoder.get_sufficient_statistics()
        l1 = encoder.get_l1()
        before = data_fit_from_stats(encoder.D, ztz, ztX, encoder.XtX, 8) + l1
        D_next = update_d(D_try, ztz, ztX)
        after = data_fit_from_stats(D_next, ztz, ztX, encoder.XtX, 8) + l1
        return before, after, (ztz, ztX, D_next)
    return d_step_gain


@pytest.mark.parametrize("pays", [True, False])
def test_off_centre_move_is_kept_only_when_the_d_step_goes_further(planted, pays):
    X, u, v, _ = planted
    D = _cut_dictionary(u, v)
    encoder, reg = _encoder(X, D)
    set_dictionary = _dictionary_setter(encoder, reg)
    previous = encoder.compute_z()["objective"]  # iteration 0 (no d-step)
    reviver = Reviver(n_atoms=3, start=1)
    atom, reason = reviver.candidate(encoder, D, 1)
    shift = int(reason.split()[-1])
    assert atom == 0 and shift < 0  # energy late: moved earlier
    plain, _ = _encoder(X, D, reg)
    plain.compute_z()
    plain.compute_z()  # iteration 1, without the move
    z_plain = plain.get_z_hat()
    judge = _d_step_gain(encoder, make_update_d(8, rank1=True))
    values = []

    def d_step_gain(D_try):
        values.append(judge(D_try))
        before, after, step = values[-1]
        # A move that does not pay: the moved d-step is made to look worse.
        return before, after if pays or len(values) == 1 else values[0][1] + 1., step
    D_kept, info = reviver.move(encoder, D, atom, reason, 1, None,
                                set_dictionary, d_step_gain, previous)
    assert reviver.log == [(1, 0, reason, pays)]
    if pays:
        (_, without, _), (moved_before, moved, step) = values
        assert moved < without and moved_before <= previous
        assert info["d_step"] is step  # the loop's d-step is the one judged
        np.testing.assert_array_equal(D_kept[0], shifted_atom(D, 0, 8, shift))
        np.testing.assert_array_equal(D_kept[1:], D[1:])
        z = encoder.get_z_hat()
        np.testing.assert_array_equal(z[:, 0], shift_activations(z_plain[:, 0], shift))
        np.testing.assert_array_equal(z[:, 1:], z_plain[:, 1:])
        # The moved model is the plain one up to the energy the move cut.
        np.testing.assert_allclose(info["objective"], encoder.get_cost(), rtol=1e-9)
        np.testing.assert_allclose(moved_before, values[0][0], rtol=1e-2)
        assert info["l1"] == encoder.get_l1()
        assert reviver.refused == {}
    else:  # exactly the plain z-step, as without revival
        assert D_kept is D and info["d_step"] is values[0][2]
        np.testing.assert_array_equal(encoder.D, D)
        np.testing.assert_array_equal(encoder.get_z_hat(), z_plain)
        # Not moved again until it is further off-centre; the checkpointed
        # state remembers it.
        assert reviver.refused == {0: abs(shift)}
        again = reviver.candidate(encoder, D, 1 + reviver.cooldown)
        assert again is None or again[0] != 0
        resumed = Reviver(n_atoms=3, start=1)
        resumed.set_state(json.loads(json.dumps(reviver.get_state())))
        assert resumed.refused == reviver.refused
        resumed.refused[0] = abs(shift) - 1
        assert resumed.candidate(encoder, D, 1 + reviver.cooldown)[0] == 0


def _cut_dictionary(u, v):
    """True atoms 0-2, atom 0 cut by the window (its waveform 8 samples late)."""
    D = np.array([_uv(u[0], shift_waveform(v[0], 8)), _uv(u[1], v[1]),
                  _uv(u[2], v[2])])
    D[0, 8:] /= np.linalg.norm(D[0, 8:])
    return D


def test_ctrl_c_while_a_move_is_judged_checkpoints_nothing_ahead(
        planted, tmp_path, monkeypatch):
    """The move comes after the z-step: a Ctrl-C then is one during a d-step
    (no checkpoint of activations that are ahead of the dictionary), and the
    activations are the z-step's, not the moved ones."""
    from cdl.learn import revival
    X, u, v, _ = planted
    kwargs = dict(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=8, eps=0.,
                  D_init=_cut_dictionary(u, v), random_state=0,
                  revive_atoms=dict(start=1))
    reference = BatchCDL(**kwargs).fit(X)
    assert reference.revived_[0]["iteration"] == 1
    assert reference.revived_[0]["reason"].startswith("off-centre")
    shifted = revival.shifted_atom

    def interrupted(*args):
        shifted(*args)
        raise KeyboardInterrupt
    monkeypatch.setattr(revival, "shifted_atom", interrupted)
    fname = tmp_path / "ckpt.npz"
    with pytest.warns(RuntimeWarning, match=r"after 1 iteration\(s\); the "
                      r"dictionary learned so far is kept\.$"):
        model = BatchCDL(**kwargs, checkpoint=fname).fit(X)
    assert model.interrupted_ and model.revived_ == [] and not fname.exists()
    # The dictionary of iteration 0 (no move), with finite activations.
    first = BatchCDL(**dict(kwargs, n_iter=1)).fit(X)
    np.testing.assert_array_equal(model.uv_hat_, first.uv_hat_)
    assert np.all(np.isfinite(model.z_hat_)) and model.z_hat_.shape == (2, 3, 1977)


def test_interrupted_rejection_keeps_the_z_step(planted):
    """A Ctrl-C while a refused move is undone leaves the z-step's
    activations (the kept copy is put back once)."""
    X, u, v, _ = planted
    D = _cut_dictionary(u, v)
    encoder, reg = _encoder(X, D)
    previous = encoder.compute_z()["objective"]
    reviver = Reviver(n_atoms=3, start=1)
    atom, reason = reviver.candidate(encoder, D, 1)
    calls, put = [], _dictionary_setter(encoder, reg)

    def set_dictionary(D_new):
        calls.append(1)
        if len(calls) == 2:  # putting D back after the refusal
            raise KeyboardInterrupt
        put(D_new)
    judge = _d_step_gain(encoder, make_update_d(8, rank1=True))
    values = []

    def refuse(D_try):
        values.append(judge(D_try))
        return values[-1][0], values[0][1] + (len(values) > 1), values[-1][2]
    with pytest.raises(KeyboardInterrupt):
        reviver.move(encoder, D, atom, reason, 1, None, set_dictionary, refuse,
                     previous)
    plain, _ = _encoder(X, D, reg)
    plain.compute_z()
    plain.compute_z()
    np.testing.assert_array_equal(encoder.get_z_hat(), plain.get_z_hat())
    np.testing.assert_array_equal(encoder.D, D)
    assert reviver.log == []


def test_learning_does_not_stop_on_eps_before_revival_starts(planted):
    X, u, v, D_init = planted
    model = BatchCDL(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=30, eps=0.3,
                     D_init=D_init, random_state=0).fit(X)
    # eps 0.3 would stop at iteration 2, with atom 2 still dead.
    assert model.n_iter_ > 5
    assert model.revived_[0] == dict(iteration=5, atom=2, reason="unused",
                                     accepted=True)
    assert occurrence_counts(model.z_hat_)[2] >= 5


@pytest.mark.parametrize("cls, params", [
    (OnlineCDL, dict(batch_size=1, n_iter=40)),
    (GreedyCDL, dict(n_iter=30, D_init="greedy")),
    (BatchCDL, dict(n_iter=30, chunk_len=500)),
    (BatchCDL, dict(n_iter=30, rank1=False)),
    (BatchCDL, dict(n_iter=30, solver_z="dicod", n_workers=2, backend="local",
                    solver_z_kwargs=TIGHT)),
    (DiCoDiLe, dict(n_iter=30, n_workers=2, backend="local",
                    solver_z_kwargs=TIGHT)),
])
def test_revival_in_every_learning_mode(planted, cls, params):
    X, u, v, D_init = planted
    params = dict(dict(D_init=D_init), **params)
    if not params.get("rank1", True):
        params["D_init"] = D_init[:, :8, None] * D_init[:, None, 8:]
    model = cls(n_atoms=3, n_times_atom=24, reg=0.1, random_state=0,
                **params).fit(X)
    assert np.all(occurrence_counts(model.z_hat_) >= 5)
    assert _n_recovered(model, u, v, threshold=0.9) == 3
    assert model.revived_ and model.revived_[0]["reason"] == "unused" \
        or cls is GreedyCDL
    if cls is not OnlineCDL:
        assert np.all(np.diff(model.pobj_) <= 1e-10 * model.pobj_[0])


def test_greedy_atoms_are_tried_only_after_their_first_z_step(planted):
    X, _, _, _ = planted
    model = GreedyCDL(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=12,
                      random_state=0, eps=0.).fit(X)
    added_at = (4, 8)  # atoms 1 and 2 (linspace(0, 12, 3))
    for entry in model.revived_:
        assert entry["atom"] == 0 or entry["iteration"] > added_at[entry["atom"] - 1]


def test_chunked_and_distributed_revive_as_the_local_encoder(planted):
    """The same tries, whatever holds the activations."""
    X, _, _, D_init = planted
    kwargs = dict(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=12, eps=0.,
                  D_init=D_init, random_state=0, solver_z_kwargs=TIGHT)
    local = BatchCDL(**kwargs).fit(X)
    chunked = BatchCDL(**kwargs, chunk_len=500).fit(X)
    dist = BatchCDL(**kwargs, solver_z="dicod", n_workers=2,
                    backend="local").fit(X)
    for other in (chunked, dist):
        assert [(r["iteration"], r["atom"], r["accepted"]) for r in other.revived_] \
            == [(r["iteration"], r["atom"], r["accepted"]) for r in local.revived_]
        np.testing.assert_allclose(other.pobj_[-1], local.pobj_[-1], rtol=1e-5)


@pytest.mark.parametrize("cls, kwargs", [
    (BatchCDL, {}), (BatchCDL, dict(lmbd_max="shared")),
    (OnlineCDL, dict(batch_size=1))])
def test_distributed_revival_adds_no_round_trip_when_nothing_is_tried(
        planted, cluster_calls, cls, kwargs):
    """Two round trips per iteration (solve, set_D) as without revival: the
    occurrences come back with the solve; a try costs its own, and a kept
    off-centre move (made after its solve) one more for the occurrences of
    the moved activations, at the next iteration."""
    X, _, _, D_init = planted
    calls = cluster_calls
    ends = []  # len(calls) at the end of each iteration
    model = cls(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=12, eps=0.,
                D_init=D_init, random_state=0, solver_z="dicod", n_workers=2,
                backend="local", solver_z_kwargs=TIGHT,
                callback=lambda *args: ends.append(len(calls)), **kwargs).fit(X)
    tried = {r["iteration"] for r in model.revived_}
    moved = {r["iteration"] + 1 for r in model.revived_  # batch: after the solve
             if r["accepted"] and r["reason"].startswith("off-centre")
             and cls is BatchCDL}
    assert tried and len(tried) < model.n_iter_ == len(ends)
    per_iteration = [calls[a:b] for a, b in zip(ends[:-1], ends[1:])]
    for ii, names in enumerate(per_iteration, start=1):
        if ii in tried:
            assert names.count("solve") >= 1 and "keep_z" in names, names
        elif ii in moved:
            assert names == ["get_usage", "solve", "set_D"], (ii, names)
        else:
            assert names == ["solve", "set_D"], (ii, names)
    assert calls.count("get_usage") == len(moved - tried)
    assert calls.count("get_z") == 1 + sum(
        r["reason"].startswith("off-centre") for r in model.revived_)


# Objective values of main just before revival was merged (commit 6f233c4,
# with the one-pass z-step kernels; the same problem and parameters, D_init
# 'chunk', float.hex): revive_atoms=False must give them back. They are
# bit-identical on the project machine and compared at rtol 1e-12 so that
# another CPU's last bits do not fail the test. If a change of the kernels
# moves them, regenerate them at the commit before that change's merge with
# revive_atoms=False (which calls none of revival's encoder methods).
MAIN_POBJ = {
    "BatchCDL": "0x1.a2b920875226cp+5 0x1.cc98e58a9cf17p+4 0x1.75b0c378ac641p+4 "
                "0x1.380d65f580b46p+4 0x1.198e87d74c9f4p+4 0x1.06c396897aa13p+4 "
                "0x1.f8a022fc9387fp+3 0x1.e9d6494d01a88p+3 0x1.da9c739cc17dcp+3 "
                "0x1.c91ee48bd62c0p+3 0x1.b61e925e5d9cfp+3 0x1.a269693c77f01p+3 "
                "0x1.92398dd5357bap+3",
    "OnlineCDL": "0x1.a2b920875226cp+5 0x1.29373f53f4e8fp+5 0x1.074916c9ead4fp+5 "
                 "0x1.4c91f151a5b12p+4 0x1.3ab48d038f288p+4 0x1.1a482864dd963p+4 "
                 "0x1.10b8e6ab600cdp+4 0x1.07e6c8db8fb38p+4 0x1.012cbbaf08f02p+4 "
                 "0x1.feb33f65a533ap+3 0x1.f682ecf940ee6p+3 0x1.f5b7c9374c6e0p+3 "
                 "0x1.efde2975fe90cp+3",
    "GreedyCDL": "0x1.a2b920875226cp+5 0x1.5678d3a4606b0p+5 0x1.3d12558aae0f6p+5 "
                 "0x1.2dc686a221627p+5 0x1.294d4d44ebe8dp+5 0x1.97089c99a01b1p+4 "
                 "0x1.8ae2ce4ce4037p+4 0x1.86134c46a973ap+4 0x1.8404716ae64d9p+4 "
                 "0x1.40413fc880636p+4 0x1.2f73338e1847ep+4 0x1.169c5bfd7bc82p+4 "
                 "0x1.f883855d52494p+3",
}
MAIN_SUMS = {  # sum(uv_hat_ ** 2), sum(z_hat_)
    "BatchCDL": ("0x1.7fffffffffff4p+2", "0x1.fe993a950e790p+5"),
    "OnlineCDL": ("0x1.7fffffffffff7p+2", "0x1.158249de4aa56p+6"),
    "GreedyCDL": ("0x1.7ffffffffffd6p+2", "0x1.277a7cf25dc07p+6"),
}


@pytest.mark.parametrize("cls, params", [(BatchCDL, {}),
                                         (OnlineCDL, dict(batch_size=2)),
                                         (GreedyCDL, {})])
def test_revival_off_is_main_before_revival(cls, params, monkeypatch):
    X = simulate_data(n_trials=3, n_channels=5, n_times=500, n_atoms=3,
                      n_times_atom=16, random_state=0)[0]
    for name in ("atom_usage", "reset_atom", "shift_activations", "keep_z"):
        def refuse(*args, name=name, **kwargs):
            raise AssertionError(f"{name} called with revive_atoms=False")
        monkeypatch.setattr(LocalEncoder, name, refuse)
    # inexact=False: exact z-steps give back main's trajectory before the
    # inexact z-steps (cdl.learn.precision) too.
    model = cls(n_atoms=3, n_times_atom=16, n_iter=6, random_state=0,
                revive_atoms=False, D_init="chunk",
                solver_z_kwargs=dict(inexact=False), **params).fit(X)
    name = cls.__name__
    expected = [float.fromhex(h) for h in MAIN_POBJ[name].split()]
    np.testing.assert_allclose(model.pobj_, expected, rtol=1e-12)
    np.testing.assert_allclose(
        [np.sum(model.uv_hat_ ** 2), np.sum(model.z_hat_)],
        [float.fromhex(h) for h in MAIN_SUMS[name]], rtol=1e-12)
    assert model.revived_ == []


def test_default_init_is_ssa(planted):
    X = planted[0]
    kwargs = dict(n_atoms=3, n_times_atom=24, n_iter=3, random_state=0)
    default = BatchCDL(**kwargs).fit(X)
    ssa = BatchCDL(**kwargs, D_init="ssa").fit(X)
    np.testing.assert_array_equal(default.pobj_, ssa.pobj_)


@pytest.mark.parametrize("revive_atoms", [True, dict(max_attempts=1)])
def test_resume_across_a_revival_is_exact(planted, tmp_path, revive_atoms):
    X, u, v, D_init = planted
    kwargs = dict(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=14, eps=0.,
                  D_init=D_init, random_state=0, revive_atoms=revive_atoms)
    fname = tmp_path / "ckpt.npz"
    reference = BatchCDL(**kwargs).fit(X)
    assert reference.revived_ and reference.revived_[0]["iteration"] < 9
    with pytest.warns(RuntimeWarning, match="interrupted after 9 "):
        BatchCDL(**kwargs, callback=interrupt_at(9), checkpoint=fname,
                 checkpoint_every=5).fit(X)
    resumed = BatchCDL(**kwargs, checkpoint=fname).fit(X, resume=fname)
    assert_same_fit(resumed, reference)
    np.testing.assert_array_equal(resumed.z_hat_, reference.z_hat_)


def test_resume_of_greedy_learning_is_exact(planted, tmp_path):
    """The atoms not encoded yet (greedy) are part of the revival state."""
    X = planted[0]
    kwargs = dict(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=12, eps=0.,
                  random_state=0)
    fname = tmp_path / "ckpt.npz"
    reference = GreedyCDL(**kwargs).fit(X)
    with pytest.warns(RuntimeWarning, match="interrupted after 5 "):
        GreedyCDL(**kwargs, callback=interrupt_at(5), checkpoint=fname).fit(X)
    resumed = GreedyCDL(**kwargs).fit(X, resume=fname)
    assert_same_fit(resumed, reference)


def test_ctrl_c_during_a_revival_try_checkpoints_a_consistent_state(
        planted, tmp_path, monkeypatch):
    X, u, v, D_init = planted
    kwargs = dict(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=8, eps=0.,
                  D_init=D_init, random_state=0, revive_atoms=dict(start=1))
    reference = BatchCDL(**kwargs).fit(X)
    assert reference.revived_[0]["iteration"] == 1
    fname = tmp_path / "ckpt.npz"
    compute_z = LocalEncoder.compute_z
    calls = []

    def interrupted(self, trials=None):
        calls.append(1)
        if len(calls) == 2:  # the z-step of iteration 1: the revival's try
            raise KeyboardInterrupt
        return compute_z(self, trials)
    monkeypatch.setattr(LocalEncoder, "compute_z", interrupted)
    with pytest.warns(RuntimeWarning, match="interrupted after 1 .*checkpointed"):
        BatchCDL(**kwargs, checkpoint=fname).fit(X)
    monkeypatch.setattr(LocalEncoder, "compute_z", compute_z)
    resumed = BatchCDL(**kwargs).fit(X, resume=fname)
    assert_same_fit(resumed, reference)


def test_ctrl_c_during_a_distributed_try_puts_the_workers_back(
        planted, tmp_path, monkeypatch):
    """The workers finish the interrupted solve (as after a real Ctrl-C, see
    dicod._root.Cluster.solve): the try's activations are undone on them."""
    from cdl.learn.checkpoint import read_checkpoint
    from cdl.model.objective import compute_objective
    from dicod._root import Cluster
    X, u, v, D_init = planted
    solve = Cluster.solve
    calls = []

    def interrupted(self, **kw):
        calls.append(1)
        result = solve(self, **kw)
        if len(calls) == 2:  # the z-step of iteration 1: the revival's try
            raise KeyboardInterrupt
        return result
    monkeypatch.setattr(Cluster, "solve", interrupted)
    fname = tmp_path / "ckpt.npz"
    with pytest.warns(RuntimeWarning, match="interrupted after 1 .*checkpointed"):
        model = BatchCDL(n_atoms=3, n_times_atom=24, reg=0.1, n_iter=8,
                         D_init=D_init, random_state=0, solver_z="dicod",
                         n_workers=2, backend="local", solver_z_kwargs=TIGHT,
                         revive_atoms=dict(start=1), checkpoint=fname).fit(X)
    assert model.interrupted_ and model.revived_ == []
    state, _ = read_checkpoint(fname)
    assert state["n_iter"] == 1 and state["revival"]["n_attempts"] == 0
    # The checkpoint's activations are those of iteration 1 (the unused
    # atom still unused), consistent with its dictionary and objective.
    assert occurrence_counts(state["z"])[2] == 0
    reg = np.full(3, 0.1 * state["reg_scale"])
    z_step_objective = compute_objective(X, state["z"], D_init, reg)
    np.testing.assert_allclose(z_step_objective, state["pobj"][1], rtol=1e-9)
    np.testing.assert_array_equal(model.z_hat_, state["z"])


def test_weakest_swap_is_kept_only_when_it_beats_the_plain_z_step(planted):
    X, u, v, _ = planted
    D = np.array([_uv(u[k], v[k]) for k in range(3)])  # the truth: no swap pays
    encoder, reg = _encoder(X, D)
    before = encoder.compute_z()["objective"]
    flat = [before, before, before]
    assert Reviver(n_atoms=3, start=1).candidate(encoder, D, 1, flat) is None  # no swap
    reviver = Reviver(n_atoms=3, swap=1e-3, start=1)
    assert reviver.candidate(encoder, D, 1, [2 * before, before, before]) is None
    atom, reason = reviver.candidate(encoder, D, 1, flat)
    assert reason == "weakest"
    z_before = encoder.get_z_hat()
    set_dictionary = _dictionary_setter(encoder, reg)
    D_new, info, accepted = reviver.attempt(
        encoder, D, atom, reason, 1, None, set_dictionary,
        lambda info: info["objective"], before)
    assert not accepted and D_new is D
    assert info["objective"] <= before
    # The plain z-step from the same activations, as without the try.
    plain, _ = _encoder(X, D, reg)
    plain.set_z(z_before)
    plain.compute_z()
    np.testing.assert_array_equal(encoder.get_z_hat(), plain.get_z_hat())
