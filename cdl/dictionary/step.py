"""The d-step as one function of the learning loop."""
from .full_rank import update_D
from .rank1 import update_uv


def make_update_d(n_channels, rank1, uv_constraint="separate",
                  solver_d_kwargs=None, window=None):
    """The d-step ``update_d(D, ztz, ztX) -> D`` of :mod:`cdl.dictionary`."""
    kwargs = dict(solver_d_kwargs or {})
    if rank1:
        return lambda D, ztz, ztX: update_uv(D, ztz, ztX, n_channels,
                                             uv_constraint=uv_constraint,
                                             window=window, **kwargs)
    return lambda D, ztz, ztX: update_D(D, ztz, ztX, window=window, **kwargs)
