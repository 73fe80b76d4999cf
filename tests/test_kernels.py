"""Each compiled kernel against a plain numpy reference, in both dtypes."""
import numpy as np
import pytest
import reference

from cdl._kernels import conv, lgcd, stats
from cdl.model import objective

DTYPES = [np.float64, np.float32]
SHAPES = [(1, 1, 30, 1, 1), (2, 3, 50, 2, 7), (3, 5, 64, 4, 16)]


def _problem(shape, dtype, seed=0, density=0.1):
    n_trials, n_channels, n_times, n_atoms, n_times_atom = shape
    rng = np.random.RandomState(seed)
    X = rng.randn(n_trials, n_channels, n_times).astype(dtype)
    uv = rng.randn(n_atoms, n_channels + n_times_atom).astype(dtype)
    z = (rng.rand(n_trials, n_atoms, n_times - n_times_atom + 1) < density) \
        * rng.rand(n_trials, n_atoms, n_times - n_times_atom + 1)
    return X, uv, z.astype(dtype)


def _rtol(dtype):
    return 1e-10 if dtype == np.float64 else 2e-4


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_correlations(shape, dtype):
    X, uv, _ = _problem(shape, dtype)
    D = reference.full_rank(uv, X.shape[1]).astype(dtype)
    expected = reference.correlate_valid(X[0].astype(float), D.astype(float))
    for got in (conv.correlate_full_rank(X[0], D), objective.correlate(X[0], uv)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=_rtol(dtype),
                                   atol=_rtol(dtype) * np.abs(expected).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_reconstruct(shape, dtype):
    X, uv, z = _problem(shape, dtype)
    D = reference.full_rank(uv, X.shape[1]).astype(dtype)
    expected = reference.reconstruct(z.astype(float), D.astype(float))
    for got in (objective.reconstruct(z, uv, X.shape[1]),
                objective.reconstruct(z, D, X.shape[1])):
        assert got.shape == X.shape and got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=_rtol(dtype),
                                   atol=_rtol(dtype) * np.abs(expected).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_DtD(shape, dtype):
    X, uv, _ = _problem(shape, dtype)
    D = reference.full_rank(uv, X.shape[1]).astype(dtype)
    expected = reference.DtD(D.astype(float))
    for got in (objective.compute_DtD(uv, X.shape[1]),
                objective.compute_DtD(D, X.shape[1])):
        np.testing.assert_allclose(got, expected, rtol=_rtol(dtype),
                                   atol=_rtol(dtype) * np.abs(expected).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_sufficient_statistics(shape, dtype):
    X, uv, z = _problem(shape, dtype, density=0.3)
    n_times_atom = shape[-1]
    expected_ztz = reference.ztz(z.astype(float), n_times_atom)
    expected_ztX = reference.ztX(z.astype(float), X.astype(float))
    np.testing.assert_allclose(objective.compute_ztz(z, n_times_atom),
                               expected_ztz, rtol=_rtol(dtype), atol=1e-4)
    np.testing.assert_allclose(objective.compute_ztX(z, X), expected_ztX,
                               rtol=_rtol(dtype), atol=1e-4)


@pytest.mark.parametrize("shape", SHAPES)
def test_ztz_times_operators(shape):
    X, uv, z = _problem(shape, np.float64, density=0.3)
    n_channels, n_times_atom = shape[1], shape[-1]
    D = reference.full_rank(uv, n_channels)
    ztz = reference.ztz(z, n_times_atom)
    # G[k, c, j] = sum_{l, i} ztz[k, l, j - i + L - 1] D[l, c, i]
    expected = np.zeros_like(D)
    for k in range(D.shape[0]):
        for j in range(n_times_atom):
            for i in range(n_times_atom):
                expected[k, :, j] += ztz[k, :, j - i + n_times_atom - 1] @ D[:, :, i]
    np.testing.assert_allclose(stats.ztz_times_atoms(ztz, D), expected,
                               rtol=1e-10, atol=1e-10)
    v = np.ascontiguousarray(uv[:, n_channels:])
    W = stats.ztz_times_waveforms(ztz, v)
    u = uv[:, :n_channels]
    np.testing.assert_allclose(np.einsum("klj,lc->kcj", W, u), expected,
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("positive", [True, False])
def test_soft_threshold(dtype, positive):
    rng = np.random.RandomState(0)
    x = rng.randn(4, 50).astype(dtype)
    threshold = np.array([0., 0.5, 1., 3.], dtype=dtype)
    expected = reference.soft_threshold(x, threshold[:, None], positive)
    np.testing.assert_allclose(lgcd.soft_threshold(x, threshold, positive),
                               expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lgcd_beta_is_kept_current(dtype):
    """After LGCD, beta equals the correlation with the residual plus z * norm."""
    X, uv, _ = _problem((1, 3, 120, 3, 9), dtype, seed=3)
    n_channels = X.shape[1]
    D = reference.full_rank(uv, n_channels).astype(dtype)
    DtD = objective.compute_DtD(uv, n_channels)
    beta = objective.correlate(X[0], uv)
    z = np.zeros_like(beta)
    reg = np.full(3, 0.1, dtype=dtype)
    frozen = np.zeros((0, 0), dtype=np.bool_)
    for seg_len in (5, 17, beta.shape[1]):
        beta = objective.correlate(X[0], uv)
        z = np.zeros_like(beta)
        lgcd.lgcd(beta, z, DtD, reg, 1e-8, 2, seg_len, True, frozen)
        assert np.count_nonzero(z) > 0
        residual = X[0] - reference.reconstruct(z[None].astype(float),
                                                D.astype(float))[0]
        norms = np.diagonal(DtD[:, :, DtD.shape[2] // 2])
        expected = reference.correlate_valid(residual, D.astype(float)) \
            + z * norms[:, None]
        np.testing.assert_allclose(beta, expected, rtol=_rtol(dtype),
                                   atol=10 * _rtol(dtype))
