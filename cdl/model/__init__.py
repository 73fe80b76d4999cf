"""The model: dictionary layouts, objective, gradients, sufficient statistics,
occurrences of atoms, the comparison of atoms and the diagnostics of a fit.

The public names below are imported on first use (see :mod:`cdl.utils.lazy`):
a DICOD worker that needs the occurrences does not import scipy for the
matching of atoms.
"""
from cdl.utils.lazy import lazy_exports

_EXPORTS = {
    # diagnostics of learned atoms
    "BANDS": "cdl.model.diagnostics",
    "N_TOP": "cdl.model.diagnostics",
    "band_of": "cdl.model.diagnostics",
    "band_shares": "cdl.model.diagnostics",
    "channel_region": "cdl.model.diagnostics",
    "describe_atoms": "cdl.model.diagnostics",
    "dominant_pole": "cdl.model.diagnostics",
    "flag_atoms": "cdl.model.diagnostics",
    "label_atom": "cdl.model.diagnostics",
    "lateral_frontal_side": "cdl.model.diagnostics",
    "model_shares": "cdl.model.diagnostics",
    # occurrences
    "MIN_OCCURRENCES": "cdl.model.occurrences",
    "find_occurrences": "cdl.model.occurrences",
    "local_maxima": "cdl.model.occurrences",
    "occurrence_counts": "cdl.model.occurrences",
    "timing_offsets": "cdl.model.occurrences",
    # comparison of atoms
    "MAX_CORR": "cdl.model.similarity",
    "atom_similarity": "cdl.model.similarity",
    "duplicate_pairs": "cdl.model.similarity",
    "match_atoms": "cdl.model.similarity",
    "waveform_correlation": "cdl.model.similarity",
    # objective and layouts
    "compute_objective": "cdl.model.objective",
    "lambda_max": "cdl.model.objective",
    "reconstruct": "cdl.model.objective",
    "get_n_times_atom": "cdl.model.shapes",
    "is_rank1": "cdl.model.shapes",
    "split_uv": "cdl.model.shapes",
    "to_full_rank": "cdl.model.shapes",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
