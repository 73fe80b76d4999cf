"""MNE Raw, Epochs and Evoked objects as signals ``X``."""
import numpy as np

from cdl.utils.log import warn

from .channels import inactive_projectors, pick_channels


def mne_to_X(inst, picks=None):
    """Return the signal of an MNE Raw, Epochs or Evoked as ``X``.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs | mne.Evoked
        A Raw or an Evoked gives one trial; Epochs give one trial per epoch.
    picks : str | list | slice | None
        Channels, as in MNE (types such as ``'eeg'``, names or indices). None
        or ``'data'`` takes the MEG and EEG data channels: never reference
        (CTF/4D compensation), stim, EOG, ECG or misc channels (see
        :func:`cdl.io.channels.pick_channels`). As in MNE, picks by type
        (and None) leave out the channels marked bad; names and indices keep
        them.

    Returns
    -------
    X : ndarray of shape (n_trials, n_channels, n_times)
        float64 copy of the data.
    info : mne.Info
        Info of the picked channels.

    Warns
    -----
    RuntimeWarning
        When SSP projectors of the picked channels are not applied: ``X``
        then holds the data without them, as ``inst.get_data()`` does.
    """
    import mne

    if not isinstance(inst, (mne.io.BaseRaw, mne.BaseEpochs, mne.Evoked)):
        raise TypeError(f"inst must be an mne.io.Raw, mne.Epochs or mne.Evoked, "
                        f"got {type(inst).__name__}.")
    idx = pick_channels(inst.info, picks)
    X = np.asarray(inst.get_data(picks=idx), dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    info = mne.pick_info(inst.info, idx)
    warn_unapplied_projectors(info, type(inst).__name__)
    return np.ascontiguousarray(X), info


def warn_unapplied_projectors(info, what):
    """Warn that the data of ``what`` are read without its projectors.

    Parameters
    ----------
    info : mne.Info
        Info of the channels read (MNE keeps only the projectors that
        concern them).
    what : str
        The object, for the message (e.g. ``'Raw'``).
    """
    inactive = inactive_projectors(info)
    if inactive:
        warn(f"The {what} has SSP projectors that are not applied "
             f"({', '.join(inactive)}): X holds the data without them, as "
             f"get_data() returns it. Apply them first (apply_proj()), or read "
             f"the file with data_fetchers, which applies them (proj=True).")


def raw_to_X(raw, picks=None):
    """Return a Raw as ``X`` of shape (1, n_channels, n_times): one trial.

    See :func:`mne_to_X` for the parameters.
    """
    import mne

    if not isinstance(raw, mne.io.BaseRaw):
        raise TypeError(f"raw must be an mne.io.Raw, got {type(raw).__name__}.")
    return mne_to_X(raw, picks)


def epochs_to_X(epochs, picks=None):
    """Return Epochs as ``X`` of shape (n_epochs, n_channels, n_times).

    See :func:`mne_to_X` for the parameters.
    """
    import mne

    if not isinstance(epochs, mne.BaseEpochs):
        raise TypeError(f"epochs must be an mne.Epochs, got "
                        f"{type(epochs).__name__}.")
    return mne_to_X(epochs, picks)
