"""Chunked encoding of long recordings equals one-shot encoding."""
import numpy as np
import pytest
from callbacks import interrupt_at
from scipy import sparse

from cdl import (
    BatchCDL,
    GreedyCDL,
    OnlineCDL,
    compute_objective,
    lambda_max,
    sparse_encode,
)
from cdl.coding.chunked import SparseActivations, sparse_encode_chunked
from cdl.io.sources import as_source, lambda_max_source, objective_source, stats_source
from cdl.model.objective import compute_ztX, compute_ztz
from cdl.simulate import simulate_data


@pytest.fixture(scope="module")
def long_problem():
    X, u, v, _ = simulate_data(n_trials=2, n_channels=4, n_times=6000, n_atoms=3,
                               n_times_atom=16, density=0.01, noise_level=0.2,
                               random_state=0)
    return X, np.hstack([u, v])


def _dense(z_list):
    return np.stack([z.toarray() for z in z_list])


@pytest.mark.parametrize("rank1, positive", [(True, True), (False, False)])
def test_chunked_equals_one_shot(long_problem, rank1, positive):
    X, uv = long_problem
    D = uv if rank1 else uv[:, :4, None] * uv[:, None, 4:]
    reg = 0.1 * lambda_max(X, D)
    kwargs = dict(tol=1e-9, max_iter=100000, positive=positive)
    z_one = sparse_encode(X, D, reg, **kwargs)
    # Windows much shorter than the signal: many borders to get right.
    z_chunks, info = sparse_encode_chunked(X, D, reg, chunk_len=500, margin=20,
                                           return_info=True, **kwargs)
    assert all(sparse.issparse(z) and z.shape == z_one.shape[1:]
               for z in z_chunks)
    assert info["n_windows"] >= 2 * 12
    z_chunk = _dense(z_chunks)
    obj_one = compute_objective(X, z_one, D, reg)
    obj_chunk = compute_objective(X, z_chunk, D, reg)
    assert abs(obj_chunk - obj_one) <= 1e-8 * obj_one
    np.testing.assert_allclose(info["objective"], obj_chunk, rtol=1e-10)
    # Same activations up to the effect of the tolerance.
    assert np.abs(z_chunk - z_one).max() <= 1e-4 * np.abs(z_one).max()
    assert np.array_equal(z_chunk != 0, z_one != 0) or \
        np.sum((z_chunk != 0) != (z_one != 0)) <= 2
    if positive:
        assert z_chunk.min() >= 0


def test_chunked_memmap_and_warm_start(long_problem, tmp_path):
    X, uv = long_problem
    reg = 0.2 * lambda_max(X, uv)
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    z_map = sparse_encode_chunked(X_map, uv, reg, chunk_len=1000, tol=1e-4)
    z_mem = sparse_encode_chunked(X.astype(np.float32), uv, reg, chunk_len=1000,
                                  tol=1e-4)
    assert z_map[0].dtype == np.float32
    np.testing.assert_array_equal(_dense(z_map), _dense(z_mem))
    # Warm-started from its own solution, nothing moves (float64: in float32
    # the residual recomputed from scratch differs from LGCD's running one by
    # more than this tol).
    z64 = sparse_encode_chunked(X, uv, reg, chunk_len=1000, tol=1e-6,
                                max_iter=100000)
    _, info = sparse_encode_chunked(X, uv, reg, chunk_len=1000, tol=1e-6,
                                    z0=z64, return_info=True)
    assert info["n_updates"] == 0
    assert info["n_windows"] == 6 * 2


def test_chunked_float32_matches_float64(long_problem):
    X, uv = long_problem
    reg = 0.1 * lambda_max(X, uv)
    objectives = []
    for dtype in ("float64", "float32"):
        _, info = sparse_encode_chunked(X, uv, reg, chunk_len=800, tol=1e-5,
                                        dtype=dtype, return_info=True)
        objectives.append(info["objective"])
    assert abs(objectives[1] - objectives[0]) <= 1e-4 * objectives[0]


def test_chunked_lazy_raw(long_problem, tmp_path):
    mne = pytest.importorskip("mne")
    X, uv = long_problem
    info = mne.create_info(4, 250., "eeg")
    mne.io.RawArray(X[0], info, verbose=False).save(tmp_path / "x_raw.fif",
                                                    verbose=False)
    raw = mne.io.read_raw_fif(tmp_path / "x_raw.fif", preload=False,
                              verbose=False)
    reg = 0.2 * lambda_max(X[:1], uv)
    z_raw = sparse_encode_chunked(raw, uv, reg, chunk_len=1500, tol=1e-6)
    X_saved = raw.get_data()  # FIF stores float32: compare on what was read
    z_arr = sparse_encode_chunked(X_saved, uv, reg, chunk_len=1500, tol=1e-6)
    assert len(z_raw) == 1
    np.testing.assert_array_equal(z_raw[0].toarray(), z_arr[0].toarray())


def test_sparse_activations_roundtrip():
    rng = np.random.RandomState(0)
    z = (rng.rand(3, 10000) < 0.01) * rng.rand(3, 10000)
    za = SparseActivations.from_array(z)
    assert za.nnz == np.count_nonzero(z)
    np.testing.assert_array_equal(za.toarray(), z)
    np.testing.assert_array_equal(za.get(4000, 9000), z[:, 4000:9000])
    za.set(4090, 4100, np.ones((3, 10)))
    z[:, 4090:4100] = 1
    np.testing.assert_array_equal(za.tocsr().toarray(), z)
    np.testing.assert_allclose(za.abs_sum(), np.abs(z).sum(axis=1))
    za.set(0, 10000, np.zeros((3, 10000)))
    assert za.nnz == 0 and za.tocsr().nnz == 0


def test_streaming_statistics_match_in_memory(long_problem):
    X, uv = long_problem
    reg = 0.1 * lambda_max(X, uv)
    z = sparse_encode(X, uv, reg, tol=1e-4)
    source = as_source(X)
    z_list = [SparseActivations.from_array(z_n) for z_n in z]
    from cdl.io import sources as _sources
    old = _sources.READ_BLOCK
    _sources.READ_BLOCK = 700  # many blocks
    try:
        ztz, ztX = stats_source(source, z_list, 16)
        objective = objective_source(source, z_list, uv, np.full(3, reg))
        lmbd = lambda_max_source(source, uv, per_atom=True)
    finally:
        _sources.READ_BLOCK = old
    np.testing.assert_allclose(ztz, compute_ztz(z, 16), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ztX, compute_ztX(z, X), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(objective, compute_objective(X, z, uv, reg),
                               rtol=1e-12)
    np.testing.assert_allclose(lmbd, lambda_max(X, uv, per_atom=True),
                               rtol=1e-12)


def test_chunked_bad_input(long_problem, tmp_path):
    X, uv = long_problem
    X_bad = X.copy()
    X_bad[1, 2, 5000] = np.nan
    np.save(tmp_path / "bad.npy", X_bad)
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        sparse_encode_chunked(np.load(tmp_path / "bad.npy", mmap_mode="r"), uv,
                              0.1)
    with pytest.raises(ValueError, match="margin"):
        sparse_encode_chunked(X, uv, 0.1, margin=3)
    with pytest.raises(ValueError, match="chunk_len"):
        sparse_encode_chunked(X, uv, 0.1, chunk_len=0)
    with pytest.raises(ValueError, match="z0"):
        sparse_encode_chunked(X, uv, 0.1, z0=[np.zeros((3, 10))] * 2)
    with pytest.raises(TypeError, match="X must be"):
        sparse_encode_chunked("x.npy", uv, 0.1)


@pytest.mark.parametrize("cls, params", [
    (BatchCDL, {}), (GreedyCDL, {}), (OnlineCDL, dict(batch_size=1)),
    (BatchCDL, dict(rank1=False)),
])
def test_estimators_with_chunk_len_match_in_memory(cls, params):
    X = simulate_data(n_trials=2, n_channels=4, n_times=1500, n_atoms=2,
                      n_times_atom=16, n_events=10, noise_level=0.1,
                      random_state=0)[0]
    kwargs = dict(n_atoms=2, n_times_atom=16, n_iter=6, random_state=0,
                  solver_z_kwargs=dict(tol=1e-7, max_iter=100000, inexact=False),
                  **params)  # exact z-steps: the chunked encoder's are
    in_memory = cls(**kwargs).fit(X)
    chunked = cls(chunk_len=200, **kwargs).fit(X)
    assert abs(chunked.pobj_[-1] - in_memory.pobj_[-1]) \
        <= 1e-6 * in_memory.pobj_[-1]
    np.testing.assert_allclose(chunked.D_hat_, in_memory.D_hat_, atol=1e-5)
    z = chunked.transform(X)
    assert z.shape == in_memory.z_hat_.shape and z.min() >= 0


def test_chunk_len_fit_on_memmap_and_lazy_raw_with_resume(tmp_path):
    mne = pytest.importorskip("mne")
    X = simulate_data(n_trials=1, n_channels=4, n_times=3000, n_atoms=2,
                      n_times_atom=16, n_events=15, random_state=1)[0]
    raw = mne.io.RawArray(X[0], mne.create_info(4, 100., "eeg"), verbose=False)
    raw.save(tmp_path / "x_raw.fif", verbose=False)
    raw = mne.io.read_raw_fif(tmp_path / "x_raw.fif", preload=False,
                              verbose=False)
    kwargs = dict(n_atoms=2, n_times_atom=16, n_iter=8, eps=0., random_state=0,
                  chunk_len=500)
    from_raw = BatchCDL(**kwargs).fit(raw)
    # a Raw is divided by the std of its channel type (one streaming pass)
    np.save(tmp_path / "x.npy", raw.get_data()[None] / from_raw.scalings_["eeg"])
    X_map = np.load(tmp_path / "x.npy", mmap_mode="r")
    from_map = BatchCDL(**kwargs).fit(X_map)
    assert from_raw.info_ is not None and from_raw.info_["sfreq"] == 100.
    np.testing.assert_array_equal(from_raw.D_hat_, from_map.D_hat_)
    # Interrupted and resumed: the same model, bit for bit.
    with pytest.warns(RuntimeWarning, match="checkpointed"):
        BatchCDL(callback=interrupt_at(5), checkpoint=tmp_path / "c.npz",
                 **kwargs).fit(X_map)
    resumed = BatchCDL(**kwargs).fit(X_map, resume=tmp_path / "c.npz")
    np.testing.assert_array_equal(resumed.D_hat_, from_map.D_hat_)
    np.testing.assert_array_equal(resumed.z_hat_, from_map.z_hat_)


def test_chunk_len_refuses_other_solvers():
    X = np.random.RandomState(0).randn(1, 2, 100)
    with pytest.raises(ValueError, match="chunk_len"):
        BatchCDL(n_atoms=1, n_times_atom=4, chunk_len=50, solver_z="fista").fit(X)
    with pytest.raises(ValueError, match="chunk_len"):
        BatchCDL(n_atoms=1, n_times_atom=4, chunk_len=0).fit(X)
