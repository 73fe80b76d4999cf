"""Public names of a package imported on first use (PEP 562).

``import cdl`` then costs almost nothing: a DICOD worker that needs three
kernels, or ``cdl --version``, does not import the estimators, scipy or MNE.
"""
import importlib


def lazy_exports(package, exports):
    """``__getattr__`` and ``__dir__`` for the ``__init__`` of ``package``.

    Parameters
    ----------
    package : str
        Name of the package (``__name__`` of its ``__init__``).
    exports : dict of str to str
        Public name -> module (absolute) that defines it.

    Returns
    -------
    getattr, dir : callable
        To assign to the package's ``__getattr__`` and ``__dir__``.
    """
    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__():
        return sorted(set(exports) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
