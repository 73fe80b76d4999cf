"""From a recording file to a fitted model, activations and DriPP, as functions.

These are the steps behind the ``cdl`` commands, usable from Python too: read
and preprocess a recording (:mod:`.recording`), fit and save a model and its
activations (:mod:`.fitting`), DriPP of its atoms against its annotations
(:mod:`.dripp`), one model per subject (:mod:`.group`) and the demo
(:mod:`.demo`).
"""
from .demo import run_demo
from .dripp import driver_names_of, run_dripp
from .fitting import (
    activations_of,
    backend_kwargs,
    fit_recording,
    load_model,
    model_metadata,
    save_fitted,
    write_outputs,
)
from .group import fit_group
from .recording import (
    LOAD_DEFAULTS,
    data_summary,
    load_for_cdl,
    load_like_model,
    n_times_atom_of,
)

__all__ = ["LOAD_DEFAULTS", "activations_of", "backend_kwargs", "data_summary",
           "driver_names_of", "fit_group", "fit_recording", "load_for_cdl",
           "load_like_model", "load_model", "model_metadata", "n_times_atom_of",
           "run_demo", "run_dripp", "save_fitted", "write_outputs"]
