"""Objective and duality gap of the z-step of one trial."""
import numpy as np

from cdl.model.objective import _reconstruct as reconstruct
from cdl.model.objective import correlate


def primal_and_gap(X_n, z, D, reg, positive=True):
    """Objective value and duality gap of one trial's lasso problem.

    The dual point is the residual rescaled to satisfy the dual constraint
    ``(D_k corr w)(t) <= reg_k`` (in absolute value when not ``positive``).

    Parameters
    ----------
    X_n : ndarray of shape (n_channels, n_times)
    z : ndarray of shape (n_atoms, n_times_valid)
    D : ndarray, ``uv`` or full-rank dictionary
    reg : ndarray of shape (n_atoms,)
    positive : bool

    Returns
    -------
    objective : float
    gap : float
        Non-negative; zero at the optimum.
    """
    residual = X_n - reconstruct(z[None], D, X_n.shape[0])[0]
    residual = residual.astype(np.float64)
    reg = np.asarray(reg, dtype=np.float64)
    objective = 0.5 * np.sum(residual ** 2) + np.sum(reg * np.abs(z).sum(axis=1))
    corr = correlate(residual, D.astype(np.float64))
    corr_max = corr.max(axis=1) if positive else np.abs(corr).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(corr_max > 0, reg / corr_max, np.inf)
    scale = min(1., float(ratios.min()))
    w = scale * residual
    dual = np.sum(w * X_n) - 0.5 * np.sum(w * w)
    return float(objective), float(max(objective - dual, 0.))
