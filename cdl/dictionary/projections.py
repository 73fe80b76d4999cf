"""Norm constraints of the atoms and checks shared by the d-steps."""
import numpy as np

from cdl.model.shapes import split_uv
from cdl.utils.validation import check_option

#: Norm constraints of rank-1 atoms that :func:`prox_uv` projects onto.
UV_CONSTRAINTS = ("separate", "joint")


def _row_norms(x):
    return np.sqrt(np.sum(x * x, axis=-1))


def prox_uv(uv, n_channels, uv_constraint="separate"):
    """Project rank-1 atoms onto their norm constraint.

    Parameters
    ----------
    uv : ndarray of shape (n_atoms, n_channels + n_times_atom)
    n_channels : int
    uv_constraint : {'separate', 'joint'}
        ``'separate'``: ``||u_k|| <= 1`` and ``||v_k|| <= 1``; ``'joint'``:
        ``||[u_k, v_k]|| <= 1``.

    Returns
    -------
    uv : ndarray of shape (n_atoms, n_channels + n_times_atom)
        A new array; rows already inside the ball are unchanged.
    """
    check_option("uv_constraint", uv_constraint, UV_CONSTRAINTS)
    uv = np.array(uv, dtype=np.result_type(uv, np.float32))
    if uv_constraint == "joint":
        uv /= np.maximum(1., _row_norms(uv))[:, None]
    else:
        u, v = split_uv(uv, n_channels)
        u /= np.maximum(1., _row_norms(u))[:, None]
        v /= np.maximum(1., _row_norms(v))[:, None]
    return uv


def prox_D(D):
    """Project full-rank atoms onto ``||D_k||_F <= 1``.

    Parameters
    ----------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)
        A new array.
    """
    D = np.array(D, dtype=np.result_type(D, np.float32))
    norms = np.sqrt(np.sum(D * D, axis=(1, 2)))
    return D / np.maximum(1., norms)[:, None, None]


def check_stats(ztz, ztX, n_atoms, n_times_atom):
    ztz = np.ascontiguousarray(ztz, dtype=np.float64)
    ztX = np.ascontiguousarray(ztX, dtype=np.float64)
    if ztz.shape != (n_atoms, n_atoms, 2 * n_times_atom - 1):
        raise ValueError(f"ztz must have shape (n_atoms, n_atoms, 2 * n_times_atom"
                         f" - 1) = {(n_atoms, n_atoms, 2 * n_times_atom - 1)}, "
                         f"got {ztz.shape}.")
    if ztX.shape[0] != n_atoms or ztX.ndim != 3 or ztX.shape[2] != n_times_atom:
        raise ValueError(f"ztX must have shape (n_atoms, n_channels, n_times_atom)"
                         f" with n_atoms={n_atoms}, n_times_atom={n_times_atom}, "
                         f"got {ztX.shape}.")
    return ztz, ztX


def check_window(window, n_times_atom):
    """Return the temporal window as float64 ones when ``window`` is None."""
    if window is None:
        return np.ones(n_times_atom)
    if not isinstance(window, np.ndarray) or window.shape != (n_times_atom,):
        shape = getattr(window, "shape", type(window).__name__)
        raise ValueError(f"window must be None or an ndarray of shape "
                         f"(n_times_atom,) = ({n_times_atom},), got {shape}.")
    if not np.all(np.isfinite(window)):
        raise ValueError("window must hold finite values.")
    return np.ascontiguousarray(window, dtype=np.float64)
