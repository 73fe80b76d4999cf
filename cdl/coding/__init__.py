"""The z-step: convolutional sparse coding of signals on a fixed dictionary.

:func:`sparse_encode` solves it trial by trial in memory (LGCD, GCD, FISTA,
L-BFGS); :func:`sparse_encode_chunked` window by window in bounded memory.
"""
from .chunked import SparseActivations, sparse_encode_chunked
from .encode import SOLVERS, sparse_encode
from .gap import primal_and_gap

__all__ = ["SOLVERS", "SparseActivations", "primal_and_gap", "sparse_encode",
           "sparse_encode_chunked"]
