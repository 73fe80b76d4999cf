"""The scikit-learn parameter protocol, without depending on scikit-learn.

Parameters are the arguments of ``__init__``, stored unchanged under their
own names (checked in ``fit``, as scikit-learn asks).
"""
import hashlib
import inspect
import json
import os

import numpy as np


class ParamsMixin:
    """``get_params``, ``set_params`` and a ``repr`` from ``__init__``'s arguments."""

    #: Parameters shown by ``repr`` (None: all of them).
    _repr_params = None

    @classmethod
    def _get_param_names(cls):
        params = inspect.signature(cls.__init__).parameters
        return sorted(p for p in params if p != "self")

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool
            Unused (no sub-estimators); kept for scikit-learn compatibility.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Parameter names and their new values; unknown names raise a
            ValueError.

        Returns
        -------
        self : estimator
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for "
                                 f"{type(self).__name__}; valid parameters "
                                 f"are {valid}.")
            setattr(self, name, value)
        return self

    def __repr__(self):
        shown = self._repr_params
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                         if shown is None or k in shown)
        return f"{type(self).__name__}({args})"


def jsonable_params(params):
    """Parameters as JSON values; arrays are replaced by their hash."""
    out = {}
    for key, value in params.items():
        if callable(value) and not isinstance(value, type):
            continue
        if isinstance(value, np.ndarray):
            value = dict(array_hash=hashlib.blake2b(
                np.ascontiguousarray(value).tobytes(), digest_size=16).hexdigest(),
                shape=list(value.shape))
        elif isinstance(value, os.PathLike):
            value = str(value)
        elif isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, np.random.RandomState):
            value = "RandomState"
        try:
            json.dumps(value)
        except TypeError:
            value = repr(value)
        out[key] = value
    return json.loads(json.dumps(out))
