"""Initial dictionaries: random, signal chunks, greedy residual windows, SSA.

Every scheme returns atoms normalised to the largest norm the constraint allows,
so the result does not depend on the amplitude of ``X``:

- rank-1, ``'separate'``: ``||u_k|| = ||v_k|| = 1``;
- rank-1, ``'joint'``: ``||u_k|| = ||v_k|| = 1 / sqrt(2)`` (so ``||[u_k, v_k]|| = 1``
  and ``||u_k v_k^T||_F = 1 / 2``, the largest rank-1 atom the constraint allows);
- full rank: ``||D_k||_F = 1``.

Channels that are identically zero in ``X`` get zero weight in every generated
``u_k`` (or row of ``D_k``); an all-zero window gives a zero atom, never NaN. With
a ``window``, the generated waveforms (``v``, or ``D`` along time) are multiplied
by it before the normalisation, as in alphacsc. A dictionary given as an array is
only projected onto the constraint (:func:`cdl.dictionary.prox_uv`,
:func:`cdl.dictionary.prox_D`), never windowed or normalised.
"""
import numpy as np
from scipy.signal import fftconvolve

from cdl.model.objective import correlate
from cdl.model.shapes import to_full_rank
from cdl.utils.validation import (
    check_finite,
    check_int,
    check_option,
    check_random_state,
    check_X,
)

from .projections import UV_CONSTRAINTS, check_window, prox_D, prox_uv

__all__ = ["init_dictionary"]

D_INITS = ("random", "chunk", "greedy", "ssa")
N_REDRAW = 10  # 'chunk' draws again (up to this many times) on an all-zero window
SSA_MIN_COMPONENTS = 10  # 'ssa' keeps max(n_atoms, this) principal components


def init_dictionary(X, n_atoms, n_times_atom, D_init="chunk", rank1=True,
                    uv_constraint="separate", window=None, random_state=None):
    """Return an initial dictionary for the signals ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
    n_atoms : int
    n_times_atom : int
    D_init : {'chunk', 'random', 'greedy', 'ssa'} | ndarray | None
        How to build the atoms (None means ``'chunk'``):

        - ``'random'``: Gaussian ``u`` and ``v`` (or ``D``), normalised.
        - ``'chunk'``: windows of ``X`` at random trials and times (an all-zero
          window is drawn again, up to 10 times). Rank-1 atoms are the best
          rank-1 approximation of the window: ``v`` its leading right singular
          vector and ``u`` the matching left one (``X_window @ v``), normalised.
        - ``'greedy'`` (deterministic): atoms one by one. The first is the window
          of largest energy; each next one is taken where the energy left after
          the least-squares fit of the atoms already chosen (at zero shift) is
          largest, among windows that do not overlap a chosen one, and is that
          residual window (its rank-1 approximation for rank-1 atoms).
        - ``'ssa'`` (deterministic): singular spectrum analysis on the
          spatially reduced signal: its projections on the leading principal
          components of the (uncentred) channel covariance, ``max(n_atoms, 10)``
          of them. The waveforms ``v_k`` are the leading eigenvectors of the
          lagged covariance ``sum_{n, p, t} y[t:t+L] y[t:t+L]^T`` summed over
          trials and components (the stacked trajectory matrices). ``u_k`` is the
          spatial pattern that maximises the energy of ``u^T X`` correlated with
          ``v_k``: the leading eigenvector of ``sum_t r_t r_t^T``,
          ``r_t = X[:, t:t+L] @ v_k``, sought within the same components.
          Atoms beyond ``n_times_atom`` get random waveforms.
        - an ndarray of shape (n_atoms, n_channels + n_times_atom) (``uv``) or
          (n_atoms, n_channels, n_times_atom) (``D``): projected onto the
          constraint. ``D`` is made rank-1 by an SVD per atom when ``rank1``;
          ``uv`` is expanded to ``u_k v_k^T`` when not.
    rank1 : bool
        Return ``uv`` (rank-1 atoms) rather than ``D``.
    uv_constraint : {'separate', 'joint'}
    window : ndarray of shape (n_times_atom,) | None
        Temporal taper multiplied into the generated waveforms.
    random_state : int | RandomState | None
        Used by ``'chunk'`` and ``'random'`` (and the extra ``'ssa'`` atoms).

    Returns
    -------
    D_init : ndarray
        ``uv`` of shape (n_atoms, n_channels + n_times_atom) when ``rank1``, else
        ``D`` of shape (n_atoms, n_channels, n_times_atom); dtype of ``X``.
    """
    X = check_X(X)
    n_trials, n_channels, n_times = X.shape
    n_atoms = check_int("n_atoms", n_atoms, min_value=1)
    n_times_atom = check_int("n_times_atom", n_times_atom, min_value=1)
    if n_times_atom > n_times:
        raise ValueError(f"n_times_atom={n_times_atom} is longer than the "
                         f"signals (n_times={n_times}).")
    check_option("uv_constraint", uv_constraint, UV_CONSTRAINTS)
    if isinstance(D_init, (np.ndarray, list, tuple)):
        D_hat = _from_array(D_init, n_atoms, n_channels, n_times_atom, rank1,
                            uv_constraint)
        return D_hat.astype(X.dtype, copy=False)
    make = _INITS[_check_D_init(D_init)]
    window = check_window(window, n_times_atom)
    rng = check_random_state(random_state)
    X64 = X.astype(np.float64, copy=False)
    flat = ~np.any(X64 != 0, axis=(0, 2))
    atoms = make(X64, n_atoms, n_times_atom, rank1, rng)
    if rank1:
        u, v = atoms
        u[:, flat] = 0.
        D_hat = _normalise_uv(u, v * window, uv_constraint)
    else:
        atoms[:, flat] = 0.
        D_hat = _normalise(atoms * window, axis=(1, 2))
    return D_hat.astype(X.dtype, copy=False)


def _check_D_init(D_init):
    """Return the name of the scheme (None means 'chunk')."""
    D_init = "chunk" if D_init is None else D_init
    if not isinstance(D_init, str) or D_init not in D_INITS:
        options = ", ".join(repr(a) for a in D_INITS)
        raise ValueError(f"Invalid value for the 'D_init' parameter. Allowed "
                         f"values are {options} or an ndarray, but got "
                         f"{D_init!r} instead.")
    return D_init


def _normalise(x, axis):
    """Scale each atom to unit norm over ``axis`` (zero atoms stay zero)."""
    norms = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _normalise_uv(u, v, uv_constraint):
    """Unit ``u_k`` and ``v_k``, both scaled by 1 / sqrt(2) for 'joint'."""
    uv = np.concatenate([_normalise(u, axis=1), _normalise(v, axis=1)], axis=1)
    return uv / np.sqrt(2.) if uv_constraint == "joint" else uv


def _rank1(D):
    """Best rank-1 approximation of each atom: ``D_k ~ u_k v_k^T``.

    Parameters
    ----------
    D : ndarray of shape (n_atoms, n_channels, n_times_atom)

    Returns
    -------
    u : ndarray of shape (n_atoms, n_channels)
        Leading left singular vectors (zero for a zero atom; exactly zero on the
        all-zero rows of ``D_k``).
    v : ndarray of shape (n_atoms, n_times_atom)
        Leading right singular vectors times the singular values; the largest
        entry in absolute value is positive.
    """
    u = np.zeros(D.shape[:2])
    v = np.zeros((D.shape[0], D.shape[2]))
    for k, D_k in enumerate(D):
        right = np.linalg.svd(D_k, full_matrices=False)[2][0]
        right *= np.sign(right[np.argmax(np.abs(right))])
        left = D_k @ right
        sigma = np.linalg.norm(left)
        if sigma > 0:
            u[k], v[k] = left / sigma, sigma * right
    return u, v


def _from_array(D_init, n_atoms, n_channels, n_times_atom, rank1, uv_constraint):
    """Validate a user dictionary, convert it to the asked layout and project."""
    D = np.asarray(D_init, dtype=np.float64)
    uv_shape = (n_atoms, n_channels + n_times_atom)
    D_shape = (n_atoms, n_channels, n_times_atom)
    if D.shape not in (uv_shape, D_shape):
        expected, other = (uv_shape, D_shape) if rank1 else (D_shape, uv_shape)
        raise ValueError(f"D_init given as an array must have shape {expected}"
                         f" (or {other}, converted), got {D.shape}.")
    check_finite("D_init", D)
    if rank1:
        uv = D if D.ndim == 2 else np.concatenate(_rank1(D), axis=1)
        return prox_uv(uv, n_channels, uv_constraint)
    return prox_D(to_full_rank(D, n_channels))


def _random(X, n_atoms, n_times_atom, rank1, rng):
    n_channels = X.shape[1]
    if rank1:
        return (rng.randn(n_atoms, n_channels), rng.randn(n_atoms, n_times_atom))
    return rng.randn(n_atoms, n_channels, n_times_atom)


def _chunk(X, n_atoms, n_times_atom, rank1, rng):
    n_trials, n_channels, n_times = X.shape
    D = np.zeros((n_atoms, n_channels, n_times_atom))
    for k in range(n_atoms):
        for _ in range(N_REDRAW):
            n, t = rng.randint(n_trials), rng.randint(n_times - n_times_atom + 1)
            D[k] = X[n, :, t:t + n_times_atom]
            if np.any(D[k]):
                break
    return _rank1(D) if rank1 else D


def _window_energy(X, n_times_atom):
    """``sum_{c, j} X[n, c, t + j] ** 2`` of shape (n_trials, n_times_valid)."""
    power = np.cumsum(np.einsum("nct,nct->nt", X, X), axis=1)
    power = np.concatenate([np.zeros((len(X), 1)), power], axis=1)
    return power[:, n_times_atom:] - power[:, :-n_times_atom]


def _greedy(X, n_atoms, n_times_atom, rank1, rng):
    """Residual windows of largest energy (see :func:`init_dictionary`).

    ``residual[n, t]`` is the energy of the window ``X[n, :, t:t + L]`` minus its
    projection onto the chosen atoms, kept up to date through an orthonormal
    basis ``q_i`` of the atoms and the maps ``p_i[n, t] = <window, q_i>``.
    """
    n_channels = X.shape[1]
    residual = _window_energy(X, n_times_atom)
    free = np.ones(residual.shape, dtype=bool)
    basis, maps = [], []
    u = np.zeros((n_atoms, n_channels))
    v = np.zeros((n_atoms, n_times_atom))
    D = np.zeros((n_atoms, n_channels, n_times_atom))
    for k in range(n_atoms):
        score = np.where(free, np.maximum(residual, 0.), -1.)
        n, t = np.unravel_index(np.argmax(score if free.any() else residual),
                                residual.shape)
        free[n, max(0, t - n_times_atom + 1):t + n_times_atom] = False
        window = X[n, :, t:t + n_times_atom]
        D[k] = window - sum(np.sum(window * q) * q for q in basis)
        if rank1:
            u[k], v[k] = (a[0] for a in _rank1(D[k:k + 1]))
            D[k] = np.outer(u[k], v[k])
        coefs = [np.sum(D[k] * q) for q in basis]
        q = D[k] - sum(c * q for c, q in zip(coefs, basis))
        norm = np.linalg.norm(q)
        if norm <= 1e-10 * np.linalg.norm(window):
            continue  # nothing new (or an all-zero window)
        atom = np.c_[u[k:k + 1], v[k:k + 1]] if rank1 else D[k:k + 1]
        new_map = np.stack([correlate(X_n, atom)[0] for X_n in X])
        new_map -= sum(c * p for c, p in zip(coefs, maps))
        new_map /= norm
        basis.append(q / norm)
        maps.append(new_map)
        residual -= new_map ** 2
    return (u, v) if rank1 else D


def _lagged_covariance(X, n_times_atom):
    """``S[i, j] = sum_{n, c, t} X[n, c, t + i] X[n, c, t + j]``, t < n_times_valid."""
    n_times = X.shape[2]
    n_times_valid = n_times - n_times_atom + 1
    S = np.zeros((n_times_atom, n_times_atom))
    for lag in range(n_times_atom):
        products = np.einsum("nct,nct->t", X[:, :, :n_times - lag], X[:, :, lag:])
        cumulative = np.concatenate([[0.], np.cumsum(products)])
        i = np.arange(n_times_atom - lag)
        S[i, i + lag] = cumulative[i + n_times_valid] - cumulative[i]
    return np.triu(S) + np.triu(S, 1).T


def _leading_eigenvector(S):
    return np.linalg.eigh(S)[1][:, -1]


def _ssa(X, n_atoms, n_times_atom, rank1, rng):
    """Singular spectrum analysis (see :func:`init_dictionary`)."""
    n_channels = X.shape[1]
    n_components = min(n_channels, max(n_atoms, SSA_MIN_COMPONENTS))
    components = np.linalg.eigh(np.tensordot(X, X, axes=([0, 2], [0, 2])))[1]
    components = components[:, ::-1][:, :n_components]
    X_reduced = np.ascontiguousarray(
        np.tensordot(components, X, axes=([0], [1])).transpose(1, 0, 2))
    lag_cov = _lagged_covariance(X_reduced, n_times_atom)
    eigvec = np.linalg.eigh(lag_cov)[1][:, ::-1]
    n_ssa = min(n_atoms, n_times_atom)
    v = np.concatenate([eigvec[:, :n_ssa].T,
                        rng.randn(n_atoms - n_ssa, n_times_atom)])
    v *= np.sign(v[np.arange(n_atoms), np.argmax(np.abs(v), axis=1)])[:, None]
    u = np.zeros((n_atoms, n_channels))
    for k, v_k in enumerate(v):
        Y = fftconvolve(X_reduced, v_k[None, None, ::-1], mode="valid", axes=2)
        pattern = components @ _leading_eigenvector(
            np.tensordot(Y, Y, axes=([0, 2], [0, 2])))
        u[k] = pattern * np.sign(pattern[np.argmax(np.abs(pattern))])
    return (u, v) if rank1 else u[:, :, None] * v[:, None, :]


_INITS = dict(random=_random, chunk=_chunk, greedy=_greedy, ssa=_ssa)
