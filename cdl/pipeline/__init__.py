"""From a recording file to a fitted model, activations and DriPP, as functions.

These are the steps behind the ``cdl`` commands, usable from Python too: read
and preprocess a recording, MEG or EEG, scaled per channel type
(:mod:`.recording`), fit and save a model and its activations
(:mod:`.fitting`), DriPP of its atoms against its annotations and its result
file (:mod:`.dripp`), the report of a result folder (:mod:`.reporting`), what
each command may overwrite (:mod:`.outputs`), one model per subject
(:mod:`.group`) and the demo (:mod:`.demo`).
"""
from .demo import run_demo
from .dripp import (
    driver_names_of,
    load_dripp,
    occurrence_times,
    run_dripp,
    save_dripp,
)
from .fitting import (
    activations_of,
    backend_kwargs,
    check_fit_settings,
    fit_recording,
    load_model,
    model_metadata,
    save_fitted,
    write_outputs,
)
from .group import fit_group
from .outputs import check_output, earlier_results, prepare_output
from .recording import (
    LOAD_DEFAULTS,
    channel_counts,
    data_summary,
    load_for_cdl,
    load_like_model,
    n_times_atom_of,
)
from .reporting import DRIPP_FILE, fit_status, folder_report

__all__ = ["DRIPP_FILE", "LOAD_DEFAULTS", "activations_of", "backend_kwargs",
           "channel_counts", "check_fit_settings", "check_output",
           "data_summary", "driver_names_of", "earlier_results", "fit_group",
           "fit_recording", "fit_status", "folder_report", "load_dripp",
           "load_for_cdl", "load_like_model", "load_model", "model_metadata",
           "n_times_atom_of", "occurrence_times", "prepare_output", "run_demo",
           "run_dripp", "save_dripp", "save_fitted", "write_outputs"]
