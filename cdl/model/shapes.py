"""Dictionary layouts: rank-1 ``uv`` and full-rank ``D``."""


def is_rank1(D):
    """Whether the dictionary is given as ``uv`` (2-D) rather than ``D`` (3-D)."""
    return D.ndim == 2


def split_uv(uv, n_channels):
    """Return ``u`` of shape (n_atoms, n_channels) and ``v`` (n_atoms, n_times_atom)."""
    return uv[:, :n_channels], uv[:, n_channels:]


def get_n_times_atom(D, n_channels):
    """Atom length of a ``uv`` or ``D`` dictionary."""
    return D.shape[1] - n_channels if is_rank1(D) else D.shape[2]


def to_full_rank(D, n_channels):
    """Full-rank atoms of shape (n_atoms, n_channels, n_times_atom)."""
    if not is_rank1(D):
        return D
    u, v = split_uv(D, n_channels)
    return u[:, :, None] * v[:, None, :]
