"""The EEG reference of a recording: kept as recorded, or set again."""
from cdl.utils.log import logger, warn

#: Fewer EEG channels than this make an average reference meaningless (with
#: one channel it is zero): 'average' is then skipped with a warning.
MIN_AVERAGE_CHANNELS = 3


def check_reference(reference):
    """``reference`` as :func:`apply_reference` takes it, or a ValueError.

    Parameters
    ----------
    reference : None | 'average' | str | list of str
        None (keep the recording's reference), ``'average'``, or the name(s)
        of the reference channel(s).

    Returns
    -------
    reference : None | 'average' | list of str
    """
    if reference is None or reference == "average":
        return reference
    names = [reference] if isinstance(reference, str) else reference
    try:
        names = list(names)
    except TypeError:
        names = None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"reference must be None, 'average' or channel names, "
                         f"got {reference!r}.")
    return names


def apply_reference(inst, reference):
    """Re-reference the EEG channels of a loaded Raw or Epochs in place.

    Only EEG channels change (MEG, EOG and the others are left as they
    are). An average-reference projector already in the file is replaced by
    the applied reference, as :meth:`mne.io.Raw.set_eeg_reference` does.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs
        Loaded data, after channels are picked and bad channels dropped (the
        average must not include them).
    reference : None | 'average' | str | list of str
        None keeps the recording's reference; ``'average'`` subtracts the
        mean of the EEG channels (skipped, with a warning, when there are
        fewer than 3; nothing to do without EEG channels); channel names
        subtract their mean.

    Returns
    -------
    applied : None | 'average' | list of str
        The reference applied (None when the recording was left as it was).
    """
    import mne

    reference = check_reference(reference)
    if reference is None:
        return None
    eeg = [inst.ch_names[i] for i in mne.pick_types(inst.info, meg=False,
                                                    eeg=True, exclude=())]
    if reference == "average":
        if not eeg:
            return None
        if len(eeg) < MIN_AVERAGE_CHANNELS:
            warn(f"reference='average' skipped: the recording has "
                 f"{len(eeg)} EEG channel(s) ({', '.join(eeg)}), and an average "
                 f"reference needs at least {MIN_AVERAGE_CHANNELS}.")
            return None
    else:
        missing = [n for n in reference if n not in inst.ch_names]
        if missing:
            raise ValueError(f"reference channel(s) {missing} are not among the "
                             f"channels kept ({len(inst.ch_names)}; picked, bad "
                             f"channels dropped).")
        if not eeg:
            raise ValueError(f"reference={reference!r} given, but the recording "
                             f"has no EEG channel to re-reference.")
    inst.set_eeg_reference(reference, projection=False, ch_type="eeg",
                           verbose=False)
    logger.info(f"EEG re-referenced to {reference} ({len(eeg)} channels).")
    return reference
