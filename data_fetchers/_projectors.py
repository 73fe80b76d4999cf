"""The SSP projectors of a recording, applied to its data or left aside.

Neuromag files carry signal-space projectors (e.g. the empty-room ``PCA-v``
vectors of the magnetometers) that MNE keeps *inactive* in a Raw: its data
are as recorded until :meth:`mne.io.Raw.apply_proj`. ``mne.Epochs`` and
``mne.read_epochs`` apply them by default (``proj=True``); so does
:func:`apply_projectors` here, so that a raw file and its epochs give the
same data. Epochs files are read with their projectors unapplied, so that
``proj`` decides for them too.
"""
from cdl.io import inactive_projectors
from cdl.utils.log import logger


def apply_projectors(inst, proj):
    """Apply the inactive SSP projectors of a loaded Raw or Epochs in place.

    Run it after channels are picked and bad channels dropped (MNE builds
    the projector on the channels present, and drops projectors whose
    channels were all picked out) and after the EEG reference is set (a
    reference replaces an average-reference projector).

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs
        Loaded data.
    proj : bool
        True applies the projectors not applied yet; False leaves the data as
        they are (the projectors stay in ``info``, inactive). Checked by the
        callers (:func:`data_fetchers.preprocess`, ``preprocess_epochs``).

    Returns
    -------
    applied : list of str
        Descriptions of the projectors applied now (empty with ``proj=False``
        or when there were none, or all were already active).
    """
    inactive = inactive_projectors(inst.info)
    if not proj or not inactive:
        return []
    inst.apply_proj(verbose=False)
    logger.info(f"SSP projectors applied: {', '.join(inactive)}.")
    return inactive
