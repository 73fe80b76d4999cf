"""dicod: DICOD and DiCoDiLe, convolutional sparse coding and dictionary
learning distributed over MPI workers.

- :func:`dicod`: the distributed z-step (same solution as
  ``cdl.sparse_encode(solver='lgcd')``), for long 1-D signals and 2-D images;
- :class:`DistributedEncoder`: the encoder of :func:`cdl.learn.learn_dictionary`
  whose workers keep their part of the signal and activations;
- :func:`dicodile`: dictionary learning with it (the estimator is
  :class:`cdl.DiCoDiLe`);
- :class:`WorkerPool`: workers kept running between calls (spawning one
  takes about half a second);
- :func:`run_mpi`: run a program under ``mpirun -n N`` (rank 0 is the root;
  :func:`world_size` tells whether the program runs under ``mpirun``).

The public names are imported on first use (see :mod:`cdl.utils.lazy`), so
that a worker process imports only what it needs.
"""
from cdl.utils.lazy import lazy_exports

_EXPORTS = {
    "BACKENDS": "dicod._launch",
    "DistributedEncoder": "dicod.encoder",
    "Segmentation": "dicod.segmentation",
    "WorkerError": "dicod._comm",
    "WorkerPool": "dicod.pool",
    "dicod": "dicod.coding",
    "dicodile": "dicod.dicodile",
    "init_image_atoms": "dicod._images",
    "run_mpi": "dicod._launch",
    "start_workers": "dicod._launch",
    "worker_main": "dicod._launch",
    "world_size": "dicod._mpi",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
