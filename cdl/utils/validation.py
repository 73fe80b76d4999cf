"""Input checks shared by the public functions: one message style everywhere.

Every error names the parameter and what was expected.
"""
import numbers

import numpy as np

FLOAT_DTYPES = (np.float64, np.float32)


def check_option(name, value, allowed):
    """Raise a ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"Invalid value for the '{name}' parameter. Allowed "
                         f"values are {options}, but got {value!r} instead.")
    return value


def check_keys(name, value, allowed):
    """Raise a ValueError if the dict ``value`` has keys not in ``allowed``."""
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; allowed keys "
                         f"are {list(allowed)}.")
    return value


def check_int(name, value, min_value=None):
    """Return ``value`` as an int, checking its type and lower bound."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} "
                        f"({type(value).__name__}).")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}.")
    return value


def check_scalar(name, value, min_value=None, strict=False):
    """Return ``value`` as a finite float, checking its lower bound."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    if min_value is not None:
        if strict and value <= min_value:
            raise ValueError(f"{name} must be > {min_value}, got {value}.")
        if value < min_value:
            raise ValueError(f"{name} must be >= {min_value}, got {value}.")
    return value


def check_random_state(seed):
    """Turn ``seed`` into a ``np.random.RandomState`` (scikit-learn semantics)."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a RandomState, "
                     f"got {seed!r}.")


def check_dtype(dtype, name="dtype"):
    """Return the computation dtype (float64 or float32); None stays None."""
    if dtype is None:
        return None
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be 'float64', 'float32' or None, got "
                        f"{dtype!r}.") from None
    if dtype.newbyteorder("=") not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be 'float64', 'float32' or None, got "
                         f"{dtype}.")
    return dtype.newbyteorder("=")


def check_n_jobs(n_jobs):
    """Return ``n_jobs`` as an int (None means 1); 0 is refused as in joblib."""
    if n_jobs is None:
        return 1
    n_jobs = check_int("n_jobs", n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs must be a positive number of processes or a "
                         "negative one (-1: all cores), got 0.")
    return n_jobs


def check_bool(name, value):
    """Return ``value`` as a bool, refusing anything but bools."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _as_float_array(name, value, dtype):
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError as err:
            raise ValueError(f"{name} must be a rectangular array of numbers: "
                             f"{err}") from None
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}.")
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}.")
    if dtype is None:
        native = value.dtype.newbyteorder("=")
        dtype = native if native in FLOAT_DTYPES else np.float64
    else:
        dtype = check_dtype(dtype)
    if value.dtype.kind == "f" and value.size:
        # A float64 value beyond float32's range would silently become inf.
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(value, dtype=dtype)
    return np.ascontiguousarray(value, dtype=dtype)


FINITE_BLOCK = 2 ** 22  # elements checked at once (bounded temporary memory)


def check_finite(name, value):
    """Raise a ValueError naming ``name`` if ``value`` holds NaN or inf.

    The check runs over blocks of ``FINITE_BLOCK`` elements, so that its
    temporary memory does not grow with the size of ``value``.
    """
    value = np.asarray(value)
    flat = value.reshape(-1) if value.flags.c_contiguous else value.ravel()
    n_bad = 0
    for start in range(0, flat.size, FINITE_BLOCK):
        block = flat[start:start + FINITE_BLOCK]
        if not np.isfinite(block).all():
            n_bad += int(block.size - np.isfinite(block).sum())
    if n_bad:
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); "
                         f"clean or interpolate them first.")


def check_magnitude(name, value):
    """Refuse values so large that the squared error would overflow.

    The objective ``0.5 ||X - X_hat||^2`` is computed in float64; beyond
    ``MAX_ABS`` its terms overflow and the solvers would return NaN.
    """
    flat = np.asarray(value).reshape(-1)
    largest = 0.
    for start in range(0, flat.size, FINITE_BLOCK):
        block = flat[start:start + FINITE_BLOCK]
        if block.size:
            largest = max(largest, float(np.abs(block).max()))
    limit = MAX_ABS[np.dtype(value.dtype).newbyteorder("=").name]
    if largest > limit:
        raise ValueError(f"{name} holds values up to {largest:.3g} in absolute "
                         f"value; values above {limit:.0e} overflow in "
                         f"{value.dtype} computations. Rescale {name} (e.g. to "
                         f"microvolts or femtotesla, or divide by its std).")


# Largest absolute value accepted in a signal: products of a few values with
# sums over up to ~1e12 terms stay finite in the computation dtype.
MAX_ABS = {"float64": 1e100, "float32": 1e12}


def check_X(X, dtype=None):
    """Validate a signal array.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times) or (n_channels, n_times)
        A 2-D array is taken as one trial.
    dtype : dtype | None
        float64 or float32; None keeps a float input dtype, else float64.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        C-contiguous, native byte order, finite.
    """
    X = _as_float_array("X", X, dtype)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_trials, n_channels, n_times) or "
                         f"(n_channels, n_times), got an array of shape {X.shape}.")
    if min(X.shape) == 0:
        raise ValueError(f"X must not be empty, got shape {X.shape}.")
    check_finite("X", X)
    check_magnitude("X", X)
    return X


def check_dictionary(D, n_channels=None, dtype=None, name="D"):
    """Validate a dictionary given as ``uv`` (rank-1) or ``D`` (full rank).

    Parameters
    ----------
    D : ndarray
        Dictionary: rank-1 ``uv`` of shape (n_atoms, n_channels + n_times_atom)
        or full rank of shape (n_atoms, n_channels, n_times_atom).
    n_channels : int | None
        Number of channels of the signal; required to split a ``uv`` array.

    Returns
    -------
    D : ndarray
        C-contiguous float array, same layout as given.
    n_times_atom : int
        Atom length.
    """
    D = _as_float_array(name, D, dtype)
    if D.ndim == 2:
        if n_channels is None:
            raise ValueError(f"{name} given as uv needs the number of channels.")
        n_times_atom = D.shape[1] - n_channels
        if n_times_atom < 1:
            raise ValueError(
                f"{name} of shape {D.shape} is a uv array with n_channels + "
                f"n_times_atom columns; with n_channels={n_channels} it leaves "
                f"no room for the atom's time course.")
    elif D.ndim == 3:
        if n_channels is not None and D.shape[1] != n_channels:
            raise ValueError(f"{name} has {D.shape[1]} channels but X has "
                             f"{n_channels}: expected shape (n_atoms, "
                             f"{n_channels}, n_times_atom), got {D.shape}.")
        n_times_atom = D.shape[2]
    else:
        raise ValueError(f"{name} must be uv of shape (n_atoms, n_channels + "
                         f"n_times_atom) or D of shape (n_atoms, n_channels, "
                         f"n_times_atom), got shape {D.shape}.")
    if D.shape[0] < 1 or n_times_atom < 1 or D.size == 0:
        raise ValueError(f"{name} must hold at least one atom with at least one "
                         f"channel, got shape {D.shape}.")
    check_finite(name, D)
    check_magnitude(name, D)
    return D, n_times_atom


def check_reg(reg, n_atoms):
    """Return the regularisation as an array of shape (n_atoms,), all >= 0."""
    if isinstance(reg, (bool, np.bool_, str, bytes)) or reg is None:
        raise TypeError(f"reg must be a number or an array of shape "
                        f"({n_atoms},), got {reg!r}.")
    try:
        reg = np.asarray(reg, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"reg must be a number or an array of shape "
                        f"({n_atoms},), got {reg!r}.") from None
    if reg.ndim == 0:
        reg = np.full(n_atoms, float(reg))
    if reg.shape != (n_atoms,):
        raise ValueError(f"reg must be a scalar or have shape ({n_atoms},), "
                         f"got shape {reg.shape}.")
    if not np.all(np.isfinite(reg)):
        raise ValueError(f"reg must be finite, got {reg}.")
    if np.any(reg < 0):
        raise ValueError(f"reg must be non-negative, got {reg.min()}.")
    return reg
