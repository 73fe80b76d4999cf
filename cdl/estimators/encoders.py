"""The encoder of a fit, and the one place where the estimators reach ``dicod``.

``solver_z='dicod'`` runs the z-step on the workers of the :mod:`dicod`
package (a layer below the estimators, above :mod:`cdl.learn`): every use of
it by an estimator goes through the functions of this module.
"""
import os

import dicod
from cdl.learn import ChunkedEncoder, LocalEncoder

#: How DICOD workers may start (see :func:`dicod.dicod`).
BACKENDS = dicod.BACKENDS


def n_workers_of(est, n_times):
    """Workers of ``solver_z='dicod'``: ``n_workers``, or by default the ranks
    of an ``mpirun`` job but the root, else one per core (at most one per two
    atom lengths of signal)."""
    if est.n_workers is not None:
        return est.n_workers
    size = dicod.world_size()
    if size > 1 and est.backend in ("auto", "mpirun"):
        return size - 1
    n_valid = n_times - est.n_times_atom + 1
    return max(1, min(os.cpu_count() or 1, n_valid // (2 * est.n_times_atom)))


def make_encoder(est, X, n_atoms):
    """The encoder that runs the z-step of ``est`` on ``X`` during ``fit``."""
    if est.solver_z == "dicod":
        return dicod.DistributedEncoder(
            X, n_atoms, est.n_times_atom, n_workers=n_workers_of(est, X.shape[2]),
            solver_kwargs=est._solver_z_kwargs(), positive=est.positive,
            random_state=est.random_state, **est._distributed_kwargs())
    if est.chunk_len is None:
        return LocalEncoder(X, n_atoms, est.n_times_atom, solver=est.solver_z,
                            solver_kwargs=est._solver_z_kwargs(),
                            positive=est.positive, n_jobs=est.n_jobs)
    return ChunkedEncoder(X, n_atoms, est.n_times_atom,
                          solver_kwargs=est._solver_z_kwargs(),
                          positive=est.positive, chunk_len=est.chunk_len)


def encode_distributed(est, X, D, reg):
    """Activations of ``X`` on ``D`` by DICOD workers (``transform``)."""
    return dicod.dicod(X, D, reg, n_workers=n_workers_of(est, X.shape[2]),
                       positive=est.positive, random_state=est.random_state,
                       **est._solver_z_kwargs(), **est._distributed_kwargs())
