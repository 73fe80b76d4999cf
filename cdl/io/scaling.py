"""Channel types on a common footing: one scaling factor per channel type.

The channels of one MEG/EEG recording are in different units: magnetometers
in T (~1e-13), planar gradiometers in T/m (~1e-11), EEG in V (~1e-5). CDL
minimises one squared error over all channels, so with one global scale the
type with the largest numbers is the whole objective. Each channel type is
divided by its own factor before fitting::

    X_scaled[c] = X[c] / scalings[type of channel c]

and ``scalings`` (``{type: factor}``, JSON) is stored with the model, so that
a new recording of the same system is scaled the same way, and undone for
display.

Which factor (``method``)
-------------------------
- ``'std'`` (default): the standard deviation of all samples of all channels
  of the type, each channel's mean removed, as MNE's ICA pre-whitener does
  with ``noise_cov=None``. Each type then has a total variance of 1 and
  weighs in the squared error in proportion to its number of channels.
- ``'noise'``: a robust noise level of the type, the median over its channels
  of each channel's median absolute deviation (x 1.4826): each channel is
  weighted by its signal-to-noise ratio, as by a diagonal noise whitener.
- ``'global'``: one factor for all types, the standard deviation of the whole
  signal (what ``cdl fit`` did before per-type scaling; for one channel type
  it is ``'std'``).

On a simulated Neuromag recording (204 grad, 102 mag, 60 EEG; an evoked atom
locked to 80 stimuli, alpha bursts, 100 uV blinks; BatchCDL with 5 atoms,
reg 0.05, four seeds) the evoked atom was found in 0/4 seeds with one
global factor (every atom > 99.9 % EEG), 3/4 with ``'std'`` (its energy
shared mag 0.55, grad 0.40, EEG 0.06) and 1/4 with ``'noise'`` (the blinks,
weighted by their SNR, set lambda_max and ``reg`` removed the weaker evoked
atom). Hence ``'std'`` by default.

Undoing the scaling
-------------------
With ``S = diag(scalings[type of c])``, ``X_scaled ~ sum_k u_k (z_k * v_k)``
gives ``X ~ sum_k (S u_k)(z_k * v_k)``: the atom's *field pattern* in
physical units is ``S u_k`` (:func:`pattern_to_physical`); within one type it
is ``u_k`` times a constant, so one type's topomap has the same shape, only
its unit changes. ``u_k`` stays the spatial *filter* of the atom in the
scaled space: the atom's course in an atom-locked average is
``u_k @ (average / S)``.
"""
import numpy as np

from .sources import iter_blocks

#: Methods of :func:`compute_type_scalings`.
SCALING_METHODS = ("std", "noise", "global")

_MAD_TO_STD = 1.4826  # median absolute deviation -> std for Gaussian noise


def _as_3d(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_trials, n_channels, n_times) "
                         f"or (n_channels, n_times), got {X.shape}.")
    return X


def _types_array(ch_types, n_channels):
    ch_types = np.asarray(ch_types, dtype=str)
    if ch_types.shape != (n_channels,):
        raise ValueError(f"ch_types must give one type per channel "
                         f"({n_channels}), got {ch_types.shape}.")
    return ch_types


def compute_type_scalings(X, ch_types, method="std"):
    """One scaling factor per channel type of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times) | (n_channels, n_times)
        Signal in physical units, after the filtering used for CDL.
    ch_types : sequence of str
        Type of each channel (:func:`cdl.io.channels.channel_types`).
    method : 'std' | 'noise' | 'global' | dict
        How each factor is computed (see the module docstring). A dict
        ``{type: factor}`` (e.g. a model's ``scalings_``) is checked and
        returned for the types present.

    Returns
    -------
    scalings : dict of str to float
        ``{type: factor}`` for each type present, in order of first
        appearance; plain floats (JSON-friendly).
    """
    X = _as_3d(X)
    ch_types = _types_array(ch_types, X.shape[1])
    present = list(dict.fromkeys(ch_types.tolist()))
    if isinstance(method, dict):
        check_same_types(method, present, what="X", extra_ok=True)
        scalings = {t: float(method[t]) for t in present}
    elif method not in SCALING_METHODS:
        raise ValueError(f"scaling method must be one of {SCALING_METHODS} or "
                         f"a dict {{type: factor}}, got {method!r}.")
    elif method == "global":
        centred = X - X.mean(axis=2, keepdims=True)
        scalings = dict.fromkeys(present, float(centred.std()))
    else:
        scalings = {}
        for t in present:
            # (channels of the type, n_trials * n_times), channel means removed
            x = np.moveaxis(X[:, ch_types == t], 1, 0).reshape(
                np.sum(ch_types == t), -1)
            x = x - x.mean(axis=1, keepdims=True)
            scalings[t] = float(x.std()) if method == "std" else _noise(x)
    _check_factors(scalings)
    return scalings


def _noise(x):
    """Median over channels of each channel's MAD (x 1.4826); std if it is 0."""
    med = np.median(x, axis=1, keepdims=True)
    level = float(np.median(np.median(np.abs(x - med), axis=1)) * _MAD_TO_STD)
    return level if level > 0 else float(x.std())  # quantised, mostly flat


def _check_factors(scalings):
    bad = {t: f for t, f in scalings.items() if not (np.isfinite(f) and f > 0)}
    if bad:
        raise ValueError(f"Cannot scale: the channel type(s) {sorted(bad)} are "
                         f"flat or not finite (factors {bad}); drop those "
                         f"channels or pick other types.")


def streaming_type_std(source, ch_types):
    """``'std'`` scalings of a window-by-window source (one pass, no copy).

    Parameters
    ----------
    source : cdl.io.sources.RawSource | ArraySource
        Read block by block.
    ch_types : sequence of str
        Type of each channel of the source.

    Returns
    -------
    scalings : dict of str to float
        As :func:`compute_type_scalings` with ``method='std'``.
    """
    n_trials, n_channels, n_times = source.shape
    ch_types = _types_array(ch_types, n_channels)
    total = np.zeros(n_channels)
    squares = np.zeros(n_channels)
    for n in range(n_trials):
        for start, stop in iter_blocks(n_times):
            block = np.asarray(source.read(n, start, stop), dtype=np.float64)
            total += block.sum(axis=1)
            squares += (block ** 2).sum(axis=1)
    count = n_trials * n_times
    var = np.maximum(squares / count - (total / count) ** 2, 0)
    scalings = {t: float(np.sqrt(var[ch_types == t].mean()))
                for t in dict.fromkeys(ch_types.tolist())}
    _check_factors(scalings)
    return scalings


def channel_factors(ch_types, scalings):
    """The factor of each channel: ``scalings[type of the channel]``.

    Parameters
    ----------
    ch_types : sequence of str
    scalings : dict of str to float

    Returns
    -------
    factors : ndarray of shape (n_channels,)
    """
    missing = sorted(set(ch_types) - set(scalings))
    if missing:
        raise ValueError(f"No scaling factor for the channel type(s) {missing}; "
                         f"the scalings cover {sorted(scalings)}.")
    return np.array([scalings[t] for t in ch_types], dtype=np.float64)


def apply_type_scalings(X, ch_types, scalings):
    """Divide each channel by the factor of its type.

    Parameters
    ----------
    X : ndarray of shape (..., n_channels, n_times)
    ch_types : sequence of str
        One type per channel of ``X``.
    scalings : dict of str to float
        From :func:`compute_type_scalings`.

    Returns
    -------
    X_scaled : ndarray, same shape as ``X`` (a new float64 array)
    """
    X = np.asarray(X, dtype=np.float64)
    ch_types = _types_array(ch_types, X.shape[-2]).tolist()
    return X / channel_factors(ch_types, scalings)[:, None]


def undo_type_scalings(X_scaled, ch_types, scalings):
    """Inverse of :func:`apply_type_scalings`: back to physical units.

    Parameters
    ----------
    X_scaled : ndarray of shape (..., n_channels, n_times)
    ch_types, scalings
        As in :func:`apply_type_scalings`.

    Returns
    -------
    X : ndarray, same shape (a new float64 array)
    """
    X_scaled = np.asarray(X_scaled, dtype=np.float64)
    ch_types = _types_array(ch_types, X_scaled.shape[-2]).tolist()
    return X_scaled * channel_factors(ch_types, scalings)[:, None]


def pattern_to_physical(u, ch_types, scalings):
    """Field pattern(s) of atoms in physical units: ``u * factor[type]``.

    Parameters
    ----------
    u : ndarray of shape (n_channels,) | (n_atoms, n_channels)
        Spatial patterns learned on scaled data.
    ch_types, scalings
        As in :func:`apply_type_scalings`; ``scalings=None`` returns ``u``.

    Returns
    -------
    u_physical : ndarray, same shape as ``u``
        What each atom adds to each sensor (T, T/m, V) per unit of
        ``z_k * v_k``.
    """
    u = np.asarray(u, dtype=np.float64)
    if scalings is None:
        return u.copy()
    ch_types = _types_array(ch_types, u.shape[-1]).tolist()
    return u * channel_factors(ch_types, scalings)


def check_same_types(scalings, ch_types, what="the recording", extra_ok=False):
    """Check that a recording has the channel types a model was scaled for.

    Parameters
    ----------
    scalings : dict of str to float
        The model's scalings.
    ch_types : sequence of str
        Types of the recording's channels.
    what : str
        Name of the recording in the error message.
    extra_ok : bool
        Accept scalings for types the recording does not have.

    Raises
    ------
    ValueError
        If a type of the recording has no factor, or (unless ``extra_ok``) a
        type of the model is absent from the recording.
    """
    present = set(ch_types)
    extra = sorted(present - set(scalings))
    absent = [] if extra_ok else sorted(set(scalings) - present)
    if extra or absent:
        parts = []
        if extra:
            parts.append(f"has channel type(s) {extra} without a scaling factor")
        if absent:
            parts.append(f"lacks the channel type(s) {absent} of the model")
        raise ValueError(f"{what} " + " and ".join(parts) + f"; the scalings "
                         f"are {scalings}.")
