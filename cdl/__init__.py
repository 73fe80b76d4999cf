"""cdl-meeg: convolutional dictionary learning for MEG/EEG.

Find recurring waveforms (atoms with a spatial pattern and a time course) in
multichannel recordings and the times at which they occur.
"""
__version__ = "0.1.0.dev0"

from ._logging import set_log_level, use_log_level
from .chunked import sparse_encode_chunked
from .coding import sparse_encode
from .estimators import BatchCDL, GreedyCDL, OnlineCDL, read_model
from .group import fit_group
from .objective import compute_objective, lambda_max, reconstruct
from .simulate import simulate_data

__all__ = ["BatchCDL", "GreedyCDL", "OnlineCDL", "compute_objective", "fit_group",
           "lambda_max", "read_model", "reconstruct", "set_log_level",
           "simulate_data",
           "sparse_encode", "sparse_encode_chunked", "use_log_level"]
