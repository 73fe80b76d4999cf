"""dicod: DICOD and DiCoDiLe, convolutional sparse coding and dictionary
learning distributed over MPI workers.

- :func:`dicod`: the distributed z-step (same solution as
  ``cdl.sparse_encode(solver='lgcd')``), for long 1-D signals and 2-D images;
- :class:`DistributedEncoder`: the encoder of :func:`cdl.learn.learn_dictionary`
  whose workers keep their part of the signal and activations;
- :class:`DiCoDiLe` / :func:`dicodile`: dictionary learning with it;
- :func:`run_mpi`: run a program under ``mpirun -n N`` (rank 0 is the root).

Worker processes do not import this module (see :mod:`dicod._worker_main`).
"""
from ._comm import WorkerError
from ._launch import run_mpi, start_workers, worker_main
from .dicod import dicod
from .segmentation import Segmentation

__all__ = ["Segmentation", "WorkerError", "dicod", "run_mpi", "start_workers",
           "worker_main"]
