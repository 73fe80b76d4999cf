"""cdl-meeg: convolutional dictionary learning for MEG/EEG.

Find recurring waveforms (atoms with a spatial pattern and a time course) in
multichannel recordings and the times at which they occur.

The public names below are imported on first use (see :mod:`cdl.utils.lazy`).
"""
from ._version import __version__
from .utils.lazy import lazy_exports

_EXPORTS = {
    "BatchCDL": "cdl.estimators",
    "DiCoDiLe": "cdl.estimators",
    "GreedyCDL": "cdl.estimators",
    "OnlineCDL": "cdl.estimators",
    "compute_objective": "cdl.model.objective",
    "fit_group": "cdl.pipeline.group",
    "lambda_max": "cdl.model.objective",
    "read_model": "cdl.estimators",
    "reconstruct": "cdl.model.objective",
    "set_log_level": "cdl.utils.log",
    "simulate_data": "cdl.simulate",
    "sparse_encode": "cdl.coding",
    "sparse_encode_chunked": "cdl.coding",
    "use_log_level": "cdl.utils.log",
}
__all__ = ["__version__", *sorted(_EXPORTS)]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
