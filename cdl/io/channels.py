"""Which channels of an MNE recording CDL takes, their types, and CTF
compensation.

By default CDL takes the MEG and EEG *data* channels (:data:`DATA_CH_TYPES`),
never MEG reference (compensation) channels, stim, EOG, ECG, EMG, misc, bio,
HPI or system channels, nor the channels marked bad. MNE's own ``'data'``
picks and ``pick_types(meg=True)`` keep the reference channels of CTF and 4D
systems (29 on MNE's CTF test file): fitted as data, they hold almost all of
the energy of every atom. Here they are taken only when asked for by type
(``'ref_meg'``) or by name.
"""
import numpy as np

from cdl.utils.log import warn

#: Channel types taken by default (electrophysiological data channels).
DATA_CH_TYPES = ("mag", "grad", "eeg", "seeg", "ecog", "dbs", "csd")

#: MNE's display unit of each channel type and its factor from SI units.
_UNITS = dict(mag=("fT", 1e15), grad=("fT/cm", 1e13), eeg=("uV", 1e6),
              seeg=("mV", 1e3), ecog=("uV", 1e6), dbs=("uV", 1e6),
              csd=("mV/m2", 1e3), eog=("uV", 1e6), ecg=("mV", 1e3),
              emg=("mV", 1e3), ref_meg=("fT", 1e15))


def default_picks(info, exclude="bads"):
    """Indices of the MEG and EEG data channels of ``info``.

    Magnetometers, gradiometers, EEG and the other electrophysiological data
    types (sEEG, ECoG, DBS, CSD); never reference, stim, EOG, ECG, EMG,
    misc, bio, HPI or system channels, nor the channels in ``exclude``.

    Parameters
    ----------
    info : mne.Info
    exclude : 'bads' | list of str
        Channels to leave out (default: ``info['bads']``).

    Returns
    -------
    picks : ndarray of int
        Indices in ``info['ch_names']``, in the order of ``info``.

    Raises
    ------
    ValueError
        If ``info`` has no such channel; the message lists the types it has.
    """
    import mne

    picks = mne.pick_types(info, meg=True, eeg=True, seeg=True, ecog=True,
                           dbs=True, csd=True, ref_meg=False, exclude=exclude)
    if len(picks) == 0:
        types = sorted(set(info.get_channel_types()))
        raise ValueError(f"No MEG or EEG data channel (types "
                         f"{list(DATA_CH_TYPES)}, not bad) in this recording: "
                         f"it has channel types {types}. Pick channels "
                         f"explicitly (picks, --picks), e.g. 'eog'.")
    return np.asarray(picks, dtype=int)


def pick_channels(info, picks=None, exclude="bads"):
    """Indices of the channels ``picks`` selects, as CDL reads them.

    Parameters
    ----------
    info : mne.Info
    picks : str | list of str | list of int | slice | None
        None or ``'data'``: :func:`default_picks`. Otherwise as in MNE
        (channel types such as ``'grad'`` or ``'meg'``, names, indices); picks
        by type leave out the channels marked bad and, unless ``'ref_meg'`` is
        one of the types, the MEG reference channels (``'meg'`` is then mag +
        grad only). Names and indices are taken as given.
    exclude : 'bads' | list of str
        Channels left out of picks by type (default: ``info['bads']``).

    Returns
    -------
    picks : ndarray of int
    """
    from mne._fiff.pick import _picks_to_idx  # the picks MNE methods accept

    if picks is None or (isinstance(picks, str) and picks == "data"):
        return default_picks(info, exclude=exclude)
    idx = np.asarray(_picks_to_idx(info, picks, exclude=exclude), dtype=int)
    by_type = _picks_by_type(picks)
    if by_type and "ref_meg" not in by_type:
        types = np.array(info.get_channel_types(picks=idx))
        idx = idx[types != "ref_meg"]
    if len(idx) == 0:
        raise ValueError(f"picks={picks!r} selects no channel (bad and MEG "
                         f"reference channels are left out of picks by type); "
                         f"the recording has types "
                         f"{sorted(set(info.get_channel_types()))}.")
    return idx


def _picks_by_type(picks):
    """The channel types named in ``picks`` (empty for names or indices)."""
    from mne._fiff.pick import get_channel_type_constants

    known = set(get_channel_type_constants()) | {"meg", "data", "all",
                                                 "data_or_ica", "fnirs"}
    items = [picks] if isinstance(picks, str) else (
        list(picks) if isinstance(picks, (list, tuple)) else [])
    return [p for p in items if isinstance(p, str) and p in known]


def channel_types(info, picks=None):
    """Channel type of each (picked) channel, as MNE names it.

    Parameters
    ----------
    info : mne.Info
    picks : array of int | None
        Indices; None: all channels of ``info``.

    Returns
    -------
    ch_types : list of str
        E.g. ``['grad', 'grad', 'mag', ...]``; CTF, KIT and 4D axial
        gradiometers are ``'mag'`` (unit T), as in MNE.
    """
    if picks is None:
        picks = range(len(info["ch_names"]))
    return [str(t) for t in info.get_channel_types(picks=list(picks))]


def unit_of(ch_type):
    """MNE's display unit of a channel type and its factor from SI units.

    Parameters
    ----------
    ch_type : str
        E.g. ``'mag'``.

    Returns
    -------
    unit : str
        ``'fT'`` (mag), ``'fT/cm'`` (grad), ``'uV'`` (EEG)...; ``'a.u.'``
        for an unknown type.
    factor : float
        Multiply a value in SI units by it (1 for an unknown type).
    """
    if not isinstance(ch_type, str):
        raise TypeError(f"ch_type must be a str, got {type(ch_type).__name__}.")
    return _UNITS.get(ch_type, ("a.u.", 1.))


def compensation_grade(info):
    """CTF gradient compensation grade of the MEG channels of ``info``.

    Parameters
    ----------
    info : mne.Info

    Returns
    -------
    grade : int | None
        The grade (0, 1, 2 or 3) of a CTF recording; None for other systems
        (no compensation channel, grade 0 everywhere and no compensator).
        The grade is kept in the channels' coil types, so an Info with only
        the data channels (MNE drops the compensators when the reference
        channels are not picked) still tells it.
    """
    from mne._fiff.compensator import get_current_comp

    grade = int(get_current_comp(info) or 0)
    if grade == 0 and not info["comps"]:
        return None
    return grade


def inactive_projectors(info):
    """Descriptions of the SSP projectors of ``info`` not applied yet.

    Parameters
    ----------
    info : mne.Info

    Returns
    -------
    names : list of str
    """
    return [p["desc"] for p in info["projs"] if not p["active"]]


def set_compensation(inst, grade, what="the recording"):
    """Bring a Raw or Epochs (all its channels) to a CTF compensation grade.

    Call it before picking the data channels: MNE removes the compensators
    from the Info when the reference channels are left out, after which the
    grade can no longer change.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs
        Modified in place (it must be loaded).
    grade : int | None
        The grade to apply; None leaves ``inst`` as it is.
    what : str
        Name of ``inst`` in the error message.

    Returns
    -------
    inst : mne.io.Raw | mne.Epochs

    Raises
    ------
    ValueError
        If ``inst`` is at another grade and cannot be brought to ``grade``.
    """
    if grade is None:
        return inst
    current = compensation_grade(inst.info)
    if current == grade:
        return inst
    if current is None or not inst.info["comps"] \
            or not hasattr(inst, "apply_gradient_compensation"):  # Epochs
        raise ValueError(f"{what} has CTF compensation grade {current}, the "
                         f"model was fitted at grade {grade}, and its "
                         f"grade cannot be changed here (compensators missing, "
                         f"or not a Raw): give a Raw with its reference "
                         f"channels.")
    pending = inactive_projectors(inst.info)
    if pending:
        warn(f"{what}: its SSP projectors ({', '.join(pending)}) were made at CTF "
             f"compensation grade {current}; brought to grade {grade}, the data "
             f"no longer match them. Leave them out (proj=False) or make them "
             f"again at grade {grade}.")
    inst.apply_gradient_compensation(int(grade), verbose=False)
    return inst
