"""Load any recording MNE can read."""
from pathlib import Path

from cdl.utils.log import logger, verbose

from ._preprocess import check_options, run_preprocess


@verbose
def load_recording(path, *, montage=None, verbose=None, **options):
    """Read a recording with :func:`mne.io.read_raw` and preprocess it.

    Parameters
    ----------
    path : path-like
        A file MNE reads: EDF, BDF, FIF, BrainVision (``.vhdr``), EEGLAB
        (``.set``), and the other formats of :func:`mne.io.read_raw`.
    montage : str | mne.channels.DigMontage | None
        Montage to set (e.g. ``'standard_1005'``) when the file holds no
        electrode positions; channels it does not know are left without one.
        ``'auto'``: when no EEG channel has a position, match the EEG channel
        names to the standard 10-05 montage, ignoring case and trailing dots
        (EDF files often write ``'Fc5.'``), rename the matches to the standard
        spelling and set that montage; nothing is changed when fewer than
        three names match.
    %(verbose)s
    **options
        Preprocessing options of :func:`data_fetchers.preprocess` (``picks``,
        ``notch``, ``l_freq``, ``h_freq``, ``sfreq``, ``n_splits``,
        ``trial_duration``, ``scaling``, ``reject_flat``...). By default all
        data channels are kept unfiltered and the recording is one trial.

    Returns
    -------
    recording : Recording
        ``X`` of shape (n_trials, n_channels, n_times), info, events,
        annotations and the preprocessing applied (``montage`` and, with
        ``'auto'``, ``renamed_channels``).
    """
    check_options(options)
    raw = read_raw(path)
    record = {}
    if isinstance(montage, str) and montage == "auto":
        record["renamed_channels"], montage = auto_montage(raw)
    elif montage is not None:
        raw.set_montage(montage, on_missing="ignore", verbose=False)
    return run_preprocess(raw, {}, options, montage=_montage_name(montage),
                          **record)


def read_raw(path):
    """Read ``path`` with MNE, turning its failures into clear errors.

    Truncated EDF/BDF files (fewer data records than their header announces)
    and recordings holding NaN or infinite values (e.g. a corrupted FIF) are
    refused. Warnings MNE gives while reading are logged, one line each, once
    the file has been read.
    """
    import warnings

    import mne
    import numpy as np

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Recording file not found: {path}")
    if path.is_dir() and path.suffix.lower() != ".ds":  # CTF data are folders
        raise IsADirectoryError(f"{path} is a folder, not a recording file.")
    if path.suffix.lower() in (".edf", ".bdf"):
        _check_edf_size(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw(path, preload=True, verbose=False)
        except Exception as err:  # noqa: BLE001 (readers fail in many ways)
            raise ValueError(
                f"MNE could not read {path} as a raw recording: it is "
                f"corrupted, truncated or in an unsupported format "
                f"({type(err).__name__}: {_first_line(err)}). Supported "
                f"formats include EDF/BDF (.edf, .bdf), FIF (.fif), "
                f"BrainVision (.vhdr) and EEGLAB (.set).") from None
    if raw.n_times < 2 or len(raw.ch_names) == 0:
        raise ValueError(f"{path} holds no data ({len(raw.ch_names)} channels, "
                         f"{raw.n_times} samples).")
    for start in range(0, len(raw.ch_names), 16):  # by blocks: bounded memory
        block = raw.get_data(picks=np.arange(start, min(start + 16,
                                                        len(raw.ch_names))))
        if not np.all(np.isfinite(block)):
            raise ValueError(f"{path} holds NaN or infinite values: the file is "
                             f"corrupted or was not written completely.")
    for warning in caught:
        logger.warning(f"While reading {path.name}: "
                       f"{_first_line(warning.message)}")
    return raw


def _first_line(err):
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _check_edf_size(path):
    """Refuse an EDF/BDF file shorter than its header says."""
    with open(path, "rb") as fid:
        head = fid.read(256)
        try:
            header_bytes = int(head[184:192].decode("ascii").strip())
            n_records = int(head[236:244].decode("ascii").strip())
            n_signals = int(head[252:256].decode("ascii").strip())
            fid.seek(256 + n_signals * 216)
            n_samples = [int(fid.read(8).decode("ascii").strip())
                         for _ in range(n_signals)]
        except (ValueError, UnicodeDecodeError):
            return  # not a readable header: MNE gives the error
    bytes_per_sample = 3 if head[:1] == b"\xff" else 2  # BDF: 24-bit samples
    record_bytes = sum(n_samples) * bytes_per_sample
    if n_records <= 0 or record_bytes <= 0:
        return  # -1: length unknown (recording not closed); MNE infers it
    size = path.stat().st_size
    expected = header_bytes + n_records * record_bytes
    if size < expected:
        raise ValueError(
            f"{path} is truncated: its header announces {n_records} data "
            f"records ({expected} bytes) but the file holds "
            f"{max(size - header_bytes, 0) // record_bytes} ({size} bytes).")


def _normalise(name):
    return name.strip().rstrip(".").strip().lower()


def auto_montage(raw):
    """Give the EEG channels of ``raw`` standard 10-05 positions if it has none.

    Parameters
    ----------
    raw : mne.io.Raw
        Modified in place.

    Returns
    -------
    renamed : dict of str to str
        Channels renamed to the montage's spelling (old name to new name).
    montage : str | None
        Name of the montage set, or None when the recording already had
        positions or its names do not match the montage.
    """
    import mne
    import numpy as np

    picks = mne.pick_types(raw.info, eeg=True, exclude=())
    if len(picks) == 0:
        return {}, None
    locs = np.array([raw.info["chs"][i]["loc"][:3] for i in picks])
    if np.any(np.isfinite(locs).all(axis=1) & (np.abs(locs).sum(axis=1) > 0)):
        return {}, None  # the file has positions: keep them
    name = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() \
        else "standard_1005"
    montage = mne.channels.make_standard_montage(name)
    standard = {_normalise(ch): ch for ch in montage.ch_names}
    renamed, matched = {}, 0
    for i in picks:
        old = raw.ch_names[i]
        new = standard.get(_normalise(old))
        if new is None:
            continue
        matched += 1
        if new != old and new not in raw.ch_names:
            renamed[old] = new
    if matched < 3:
        return {}, None
    if renamed:
        raw.rename_channels(renamed, verbose=False)
    raw.set_montage(montage, on_missing="ignore", verbose=False)
    logger.info(f"Set the {name} montage on {matched} EEG channels "
                f"({len(renamed)} renamed).")
    return renamed, name


def _montage_name(montage):
    if montage is None or isinstance(montage, str):
        return montage
    return type(montage).__name__
