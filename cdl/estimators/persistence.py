"""Estimators to and from model files (``.npz`` with a JSON header, no pickle).

The file format is :mod:`cdl.io.model_file`; here is what an estimator
puts in it and how it is rebuilt (the classes are given by
:func:`cdl.estimators.reading.read_model`).
"""
import numpy as np

from cdl.io.model_file import read_model_file, read_model_metadata, write_model_file
from cdl.utils.params import jsonable_params


def save_estimator(model, fname, overwrite=False, metadata=None):
    """Write a fitted estimator with :func:`cdl.io.write_model_file`."""
    z = model.z_hat_
    nonzero = np.nonzero(z)
    arrays = dict(D_hat=model.D_hat_, reg=model.reg_, pobj=model.pobj_,
                  times=model.times_, z_shape=np.array(z.shape),
                  z_index=np.array(nonzero, dtype=np.int64),
                  z_values=z[nonzero])
    if model.rank1:
        arrays["uv_hat"] = model.uv_hat_
    params = {k: v for k, v in model.get_params().items()
              if k not in ("callback", "D_init", "random_state")}
    params = jsonable_params(params)
    params["D_init"] = model.D_init if isinstance(model.D_init, str) else None
    rs = model.random_state
    params["random_state"] = int(rs) if isinstance(rs, (int, np.integer)) \
        and not isinstance(rs, bool) else None
    params["estimator"] = type(model).__name__
    params["n_iter_done"] = int(model.n_iter_)
    scalings = getattr(model, "scalings_", None)
    params["scalings_"] = None if scalings is None else {
        str(t): float(f) for t, f in scalings.items()}
    params["revived_"] = list(getattr(model, "revived_", []))
    params["interrupted_"] = bool(getattr(model, "interrupted_", False))
    write_model_file(fname, arrays, params, info=model.info_,
                     overwrite=overwrite, metadata=metadata)


def read_estimator(fname, estimators):
    """Read a model file into a fitted estimator of one of ``estimators``."""
    arrays, params, info = read_model_file(fname)
    params = dict(params)
    name = params.pop("estimator", None)
    n_iter_done = params.pop("n_iter_done", None)
    scalings = params.pop("scalings_", None)
    revived = params.pop("revived_", [])  # absent from older files
    interrupted = params.pop("interrupted_", False)
    if name not in estimators or "D_hat" not in arrays:
        raise ValueError(f"{fname} is a model file but not of a CDL estimator "
                         f"(estimator={name!r}).")
    cls = estimators[name]
    known = set(cls._get_param_names())
    model = cls(**{k: v for k, v in params.items() if k in known})
    z = np.zeros(tuple(arrays["z_shape"]), dtype=arrays["z_values"].dtype)
    z[tuple(arrays["z_index"])] = arrays["z_values"]
    model.D_hat_ = arrays["D_hat"]
    if model.rank1:
        model.uv_hat_ = arrays["uv_hat"]
    model.n_channels_ = model.D_hat_.shape[1]
    model.z_hat_ = z
    model.reg_ = arrays["reg"]
    model.pobj_ = arrays["pobj"]
    model.times_ = arrays["times"]
    model.n_iter_ = n_iter_done
    model.info_ = info
    model.scalings_ = scalings
    model.revived_ = [dict(entry) for entry in revived]
    model.interrupted_ = bool(interrupted)
    model.metadata_ = read_model_metadata(fname)
    return model
