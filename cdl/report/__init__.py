"""HTML reports through mne.Report, built from the figures of :mod:`cdl.viz`,
and the tables they (and the command line) show."""
from .build import add_dripp_section, make_report
from .tables import (
    BANDS,
    activation_counts,
    atom_diagnostics,
    atom_features,
    atom_summary,
    dripp_display,
    dripp_table,
    key_value_table,
    model_parameters,
    table,
)

__all__ = ["BANDS", "activation_counts", "add_dripp_section", "atom_diagnostics",
           "atom_features", "atom_summary",
           "dripp_display", "dripp_table", "key_value_table", "make_report",
           "model_parameters", "table"]
