"""DiCoDiLe: dictionary learning with the z-step distributed by DICOD.

There is no second learning loop: DiCoDiLe is :func:`cdl.learn.learn_dictionary`
run with a :class:`dicod.DistributedEncoder`. The workers keep their piece of
the signal and activations across iterations and send the root only the
sufficient statistics ``ztz`` and ``ztX``; the root runs the d-step of
:mod:`cdl.dictionary` (rank-1 or full rank) on them.
"""
import numpy as np

from cdl.dictionary.step import make_update_d
from cdl.learn.loop import learn_dictionary
from cdl.model.shapes import get_n_times_atom
from cdl.utils.log import verbose
from cdl.utils.validation import check_random_state, check_X

from ._images import PackedImageEncoder, pack, unpack, update_packed
from .encoder import DistributedEncoder


@verbose
def dicodile(X, D_init, reg=0.1, n_workers=2, n_iter=60, lmbd_max="scaled",
             eps=1e-10, uv_constraint="separate", solver_z_kwargs=None,
             solver_d_kwargs=None, positive=True, backend="auto", hostfile=None,
             worker_timeout=60., callback=None, random_state=None, verbose=None):
    """Learn a convolutional dictionary with a DICOD z-step (DiCoDiLe).

    Parameters
    ----------
    X : ndarray
        Signals (n_trials, n_channels, n_times) or (n_channels, n_times); or,
        with 2-D atoms, images (n_trials, n_channels, height, width) or
        (n_channels, height, width).
    D_init : ndarray
        Initial dictionary: ``uv`` (n_atoms, n_channels + n_times_atom),
        rank-1 atoms, full-rank ``D`` (n_atoms, n_channels, n_times_atom), or
        2-D atoms (n_atoms, n_channels, h, w) (see
        :func:`dicod.init_image_atoms`).
    reg : float
        Regularisation: a fraction of lambda_max unless ``lmbd_max='fixed'``.
    n_workers : int
        Number of DICOD workers.
    n_iter, lmbd_max, eps, callback
        As in :func:`cdl.learn.learn_dictionary`.
    uv_constraint : 'separate' | 'joint'
        Norm constraint of rank-1 atoms.
    solver_z_kwargs : dict | None
        ``tol``, ``max_iter``, ``strategy``, ``soft_lock``, ``timeout`` of the
        z-step (see :func:`dicod.dicod`).
    solver_d_kwargs : dict | None
        Options of the d-step (:func:`cdl.dictionary.update_uv` or
        :func:`cdl.dictionary.update_D`).
    positive : bool
        Non-negative activations.
    backend, hostfile, worker_timeout
        How workers are started (see :func:`dicod.dicod`).
    random_state : int | RandomState | None
    %(verbose)s

    Returns
    -------
    D_hat : ndarray
        Learned dictionary, in the layout of ``D_init``.
    z_hat : ndarray of shape (n_trials, n_atoms, n_times_valid)
        (n_trials, n_atoms, height_valid, width_valid) for images.
    result : dict
        ``pobj``, ``times``, ``reg`` (absolute, per atom), ``n_iter``,
        ``interrupted`` (see :func:`cdl.learn.learn_dictionary`).
    """
    D_init = np.array(D_init, dtype=float)
    if D_init.ndim == 4:
        return _dicodile_images(
            X, D_init, reg, n_workers=n_workers, n_iter=n_iter, lmbd_max=lmbd_max,
            eps=eps, solver_z_kwargs=solver_z_kwargs, solver_d_kwargs=solver_d_kwargs,
            positive=positive, backend=backend, hostfile=hostfile,
            worker_timeout=worker_timeout, callback=callback,
            random_state=random_state)
    X = check_X(X, dtype=np.float64)
    n_channels = X.shape[1]
    rank1 = D_init.ndim == 2
    n_times_atom = get_n_times_atom(D_init, n_channels)
    update_d = make_update_d(n_channels, rank1, uv_constraint, solver_d_kwargs)
    encoder = DistributedEncoder(X, D_init.shape[0], n_times_atom,
                                 n_workers=n_workers, solver_kwargs=solver_z_kwargs,
                                 positive=positive, backend=backend,
                                 hostfile=hostfile, worker_timeout=worker_timeout,
                                 random_state=random_state)
    with encoder:
        result = learn_dictionary(encoder, D_init, reg, update_d, n_iter=n_iter,
                                  lmbd_max=lmbd_max, eps=eps, callback=callback,
                                  random_state=check_random_state(random_state))
        z_hat = encoder.get_z_hat()
    return result["D"], z_hat, result


def _dicodile_images(X, D_init, reg, n_workers, n_iter, lmbd_max, eps,
                     solver_z_kwargs, solver_d_kwargs, positive, backend, hostfile,
                     worker_timeout, callback, random_state):
    """DiCoDiLe on images: the same loop, atoms seen in packed form."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 3:
        X = X[None]
    if X.ndim != 4:
        raise ValueError(f"With 2-D atoms, X must be an image (n_channels, height, "
                         f"width) or images (n_trials, n_channels, height, width), "
                         f"got shape {X.shape}.")
    atom_shape = D_init.shape[2:]
    n_pixels = atom_shape[0] * atom_shape[1]
    encoder = PackedImageEncoder(DistributedEncoder(
        X, D_init.shape[0], atom_shape, n_workers=n_workers,
        solver_kwargs=solver_z_kwargs, positive=positive, backend=backend,
        hostfile=hostfile, worker_timeout=worker_timeout,
        random_state=random_state), atom_shape)
    kwargs = dict(solver_d_kwargs or {})

    def update_d(D, gram, ztX):
        return update_packed(D, gram, ztX, n_pixels, **kwargs)

    with encoder:
        result = learn_dictionary(encoder, pack(D_init), reg, update_d, n_iter=n_iter,
                                  lmbd_max=lmbd_max, eps=eps, callback=callback,
                                  random_state=check_random_state(random_state))
        z_hat = encoder.get_z_hat()
    result["reg"] = result["reg"][::n_pixels]
    return unpack(result["D"], atom_shape), z_hat, result
