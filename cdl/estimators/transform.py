"""How a fitted estimator encodes a signal: the body of ``transform``."""
import numpy as np

from cdl.coding import sparse_encode_chunked
from cdl.coding.encode import _sparse_encode, check_n_times_atom

from .encoders import encode_distributed
from .fitting import check_compensation, prepare, unbiased_z


def transform_estimator(est, X, picks=None):
    """Activations of ``X`` on the dictionary of the fitted ``est``."""
    check_compensation(est, X)
    info = getattr(est, "info_", None)
    if picks is None and info is not None and hasattr(X, "info"):
        picks = list(info["ch_names"])  # the model's channels, in its order
    X, _, _ = prepare(est, X, picks=picks,
                      scalings=getattr(est, "scalings_", None))
    if X.shape[1] != est.n_channels_:
        raise ValueError(f"X has {X.shape[1]} channels but the model was "
                         f"fitted on {est.n_channels_}.")
    check_n_times_atom(est.n_times_atom, X.shape[2])
    D = est.uv_hat_ if est.rank1 else est.D_hat_
    kwargs = est._solver_z_kwargs()
    if est.chunk_len is not None:
        z = sparse_encode_chunked(X, D, est.reg_, chunk_len=est.chunk_len,
                                  positive=est.positive, **kwargs)
        return np.stack([z_n.toarray() for z_n in z])
    if est.solver_z == "dicod":
        z = encode_distributed(est, X, D, est.reg_)
    else:
        z, _ = _sparse_encode(X, D.astype(X.dtype), est.reg_, solver=est.solver_z,
                              positive=est.positive, n_jobs=est.n_jobs, **kwargs)
    return unbiased_z(est, X, D, z) if est.unbiased_z_hat else z

