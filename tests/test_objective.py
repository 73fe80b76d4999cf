"""Objective, gradients and statistics against finite differences and numpy."""
import numpy as np
import pytest
import reference

from cdl.model import objective


@pytest.fixture
def problem():
    rng = np.random.RandomState(0)
    n_trials, n_channels, n_times, n_atoms, n_times_atom = 2, 4, 120, 3, 9
    X = rng.randn(n_trials, n_channels, n_times)
    uv = rng.randn(n_atoms, n_channels + n_times_atom)
    z = np.maximum(rng.randn(n_trials, n_atoms, n_times - n_times_atom + 1) - 1, 0)
    return X, uv, z


def _finite_difference(func, x, direction, eps=1e-6):
    return (func(x + eps * direction) - func(x - eps * direction)) / (2 * eps)


def _data_fit(X, z, D):
    residual = X - reference.reconstruct(z, reference.full_rank(D, X.shape[1])
                                         if D.ndim == 2 else D)
    return 0.5 * np.sum(residual ** 2)


def test_objective_matches_reference(problem):
    X, uv, z = problem
    D = reference.full_rank(uv, X.shape[1])
    expected = reference.objective(X, z, D, 0.3)
    assert np.isclose(objective.compute_objective(X, z, uv, 0.3), expected)
    assert np.isclose(objective.compute_objective(X, z, D, 0.3), expected)


def test_gradient_z_finite_differences(problem):
    X, uv, z = problem
    grad = objective.gradient_z(X, z, uv)
    direction = np.random.RandomState(1).randn(*z.shape)
    fd = _finite_difference(lambda zz: _data_fit(X, zz, uv), z, direction)
    assert np.isclose(np.sum(grad * direction), fd, rtol=1e-6)


def test_gradient_D_finite_differences(problem):
    X, uv, z = problem
    D = reference.full_rank(uv, X.shape[1])
    ztz = objective.compute_ztz(z, D.shape[2])
    ztX = objective.compute_ztX(z, X)
    grad = objective.gradient_D(D, ztz, ztX)
    direction = np.random.RandomState(2).randn(*D.shape)
    fd = _finite_difference(lambda DD: _data_fit(X, z, DD), D, direction)
    assert np.isclose(np.sum(grad * direction), fd, rtol=1e-6)


def test_gradient_uv_finite_differences(problem):
    X, uv, z = problem
    n_channels = X.shape[1]
    ztz = objective.compute_ztz(z, uv.shape[1] - n_channels)
    ztX = objective.compute_ztX(z, X)
    grad_u, grad_v = objective.gradient_uv(uv, ztz, ztX, n_channels)
    grad = np.concatenate([grad_u, grad_v], axis=1)
    direction = np.random.RandomState(3).randn(*uv.shape)
    fd = _finite_difference(lambda uu: _data_fit(X, z, uu), uv, direction)
    assert np.isclose(np.sum(grad * direction), fd, rtol=1e-6)


@pytest.mark.parametrize("rank1", [True, False])
def test_data_fit_from_stats(problem, rank1):
    X, uv, z = problem
    D = uv if rank1 else reference.full_rank(uv, X.shape[1])
    ztz = objective.compute_ztz(z, 9)
    ztX = objective.compute_ztX(z, X)
    value = objective.data_fit_from_stats(D, ztz, ztX, np.sum(X ** 2), X.shape[1])
    assert np.isclose(value, _data_fit(X, z, uv), rtol=1e-10)


def test_lambda_max_definition(problem):
    X, uv, _ = problem
    D = reference.full_rank(uv, X.shape[1])
    corr = np.array([reference.correlate_valid(X_n, D) for X_n in X])
    assert np.isclose(objective.lambda_max(X, uv), np.abs(corr).max())
    np.testing.assert_allclose(objective.lambda_max(X, uv, per_atom=True),
                               np.abs(corr).max(axis=(0, 2)))
