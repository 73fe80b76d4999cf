"""dicod: DICOD and DiCoDiLe, convolutional sparse coding and dictionary
learning distributed over MPI workers.

- :func:`dicod`: the distributed z-step (same solution as
  ``cdl.sparse_encode(solver='lgcd')``), for long 1-D signals and 2-D images;
- :class:`DistributedEncoder`: the encoder of :func:`cdl.learn.learn_dictionary`
  whose workers keep their part of the signal and activations;
- :class:`DiCoDiLe` / :func:`dicodile`: dictionary learning with it;
- :class:`WorkerPool`: workers kept running between calls (spawning one
  takes about half a second);
- :func:`run_mpi`: run a program under ``mpirun -n N`` (rank 0 is the root;
  :func:`world_size` tells whether the program runs under ``mpirun``).

Worker processes do not import this module (see :mod:`dicod._worker_main`).
"""
from ._comm import WorkerError
from ._images import init_image_atoms
from ._launch import run_mpi, start_workers, worker_main
from ._mpi import world_size
from .dicod import dicod
from .dicodile import DiCoDiLe, dicodile
from .encoder import DistributedEncoder
from .pool import WorkerPool
from .segmentation import Segmentation

__all__ = ["DiCoDiLe", "DistributedEncoder", "Segmentation", "WorkerError",
           "WorkerPool",
           "dicod", "dicodile", "init_image_atoms", "run_mpi", "start_workers",
           "worker_main", "world_size"]
