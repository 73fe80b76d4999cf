"""Numba-compiled kernels: pure functions of arrays, no Python objects.

Every kernel is compiled through :func:`jit`, which applies the project
defaults (nopython, nogil, ``cache=True``, no fastmath: stopping rules compare
tiny updates with ``tol``). Set ``NUMBA_DISABLE_JIT=1`` to run them as plain
Python, e.g. for a coverage run.
"""
import numba

__all__ = ["jit"]


def jit(func=None, **kwargs):
    """Compile ``func`` with the project defaults (overridable by keyword)."""
    options = dict(nopython=True, nogil=True, cache=True, fastmath=False)
    options.update(kwargs)
    if func is None:
        return lambda f: numba.jit(f, **options)
    return numba.jit(func, **options)
