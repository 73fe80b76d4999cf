"""Load M/EEG recordings as arrays ready for convolutional dictionary learning.

Every loader returns a :class:`Recording` (``X`` of shape (n_trials, n_channels,
n_times), the ``mne.Info``, events, annotations and the preprocessing applied),
built by the one shared :func:`preprocess`.
"""
from ._config import DataNotFoundError, get_data_path
from ._preprocess import Recording, preprocess
from .camcan import load_camcan
from .eegbci import load_eegbci
from .mne_datasets import load_sample, load_somato
from .recording import fif_kind, load_recording

__all__ = ["DataNotFoundError", "Recording", "fif_kind", "get_data_path",
           "load_camcan",
           "load_eegbci", "load_recording", "load_sample", "load_somato",
           "preprocess"]
