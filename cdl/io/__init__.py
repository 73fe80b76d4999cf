"""MNE objects and files in and out.

- :func:`mne_to_X` (and :func:`raw_to_X`, :func:`epochs_to_X`) turn MNE objects
  into ``X`` of shape (n_trials, n_channels, n_times), with the MEG and EEG
  data channels of :func:`default_picks` (never reference, stim, EOG or misc
  channels) unless picked otherwise (:func:`pick_channels`).
- :func:`compute_type_scalings` gives one factor per channel type (mag, grad,
  EEG...), :func:`apply_type_scalings` and :func:`undo_type_scalings` divide
  and multiply by them, :func:`pattern_to_physical` turns spatial patterns
  back into physical units (see :mod:`cdl.io.scaling`).
- :func:`activations_to_events` and :func:`activations_to_annotations` turn
  activations ``z`` of shape (n_trials, n_atoms, n_times_valid) into MNE events
  or :class:`mne.Annotations`, one per occurrence (a local maximum, timed at
  the peak of the atom's waveform), so that one can epoch on them;
  :func:`model_to_events` and :func:`model_to_annotations` do it for a fitted
  estimator and :func:`write_activations` writes them to files.
- :func:`write_model_file` and :func:`read_model_file` store arrays, parameters,
  metadata and the essentials of an :class:`mne.Info` in a versioned ``.npz``
  file with a JSON header, without pickle; :func:`cdl.read_model` reads such a
  file back into a fitted estimator.

Nothing here depends on the estimators; MNE is imported only when needed.
"""
from .channels import (
    channel_types,
    default_picks,
    inactive_projectors,
    pick_channels,
)
from .events import (
    activations_to_annotations,
    activations_to_events,
    model_to_annotations,
    model_to_events,
    write_activations,
)
from .from_mne import epochs_to_X, mne_to_X, raw_to_X
from .model_file import (
    FORMAT_VERSION,
    read_model_file,
    read_model_metadata,
    set_model_metadata,
    write_model_file,
)
from .scaling import (
    apply_type_scalings,
    compute_type_scalings,
    pattern_to_physical,
    undo_type_scalings,
)

__all__ = ["FORMAT_VERSION", "activations_to_annotations", "activations_to_events",
           "apply_type_scalings", "channel_types", "compute_type_scalings",
           "default_picks", "epochs_to_X", "inactive_projectors", "mne_to_X",
           "model_to_annotations",
           "model_to_events", "pattern_to_physical", "pick_channels",
           "raw_to_X", "read_model_file", "read_model_metadata",
           "set_model_metadata", "undo_type_scalings", "write_activations",
           "write_model_file"]
