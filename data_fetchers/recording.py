"""Load any recording MNE can read."""
import warnings
from pathlib import Path

from cdl.utils.log import logger, verbose

from ._epochs import preprocess_epochs
from ._preprocess import check_options, run_preprocess


@verbose
def load_recording(path, *, montage=None, verbose=None, **options):
    """Read a recording (or an epochs FIF file) and preprocess it.

    Parameters
    ----------
    path : path-like
        A file MNE reads: EDF, BDF, FIF, BrainVision (``.vhdr``), EEGLAB
        (``.set``), and the other formats of :func:`mne.io.read_raw`; or an
        epochs FIF file (``-epo.fif``), whose epochs become the trials (see
        :func:`data_fetchers._epochs.preprocess_epochs`).
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
    raw = read_recording(path)
    if not hasattr(raw, "first_samp"):  # epochs
        if isinstance(montage, str) and montage == "auto":
            montage = None  # epochs files keep their positions
        if montage is not None:
            raw.set_montage(montage, on_missing="ignore", verbose=False)
        recording = preprocess_epochs(raw, **options)
        recording.preprocessing["montage"] = _montage_name(montage)
        return recording
    record = {}
    if isinstance(montage, str) and montage == "auto":
        record["renamed_channels"], montage = auto_montage(raw)
    elif montage is not None:
        raw.set_montage(montage, on_missing="ignore", verbose=False)
    return run_preprocess(raw, {}, options, montage=_montage_name(montage),
                          **record)


def read_recording(path):
    """Read a recording file with MNE: a Raw, or Epochs for an epochs FIF.

    Errors name what the file is: not a recording MNE can read (with its
    extension), an evoked (averaged) FIF, a truncated EDF/BDF, a recording
    holding NaN or infinite values (naming the channels). Warnings MNE gives
    while reading are logged, one line each, once the file has been read.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    inst : mne.io.Raw | mne.Epochs
        Loaded in memory.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Recording file not found: {path}")
    if path.is_dir() and path.suffix.lower() != ".ds":  # CTF data are folders
        raise IsADirectoryError(f"{path} is a folder, not a recording file.")
    suffix = "".join(path.suffixes[-2:]).lower() if path.name.lower().endswith(
        ".fif.gz") else path.suffix.lower()
    if suffix in (".edf", ".bdf"):
        _check_edf_size(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind = fif_kind(path) if suffix in (".fif", ".fif.gz") else "raw"
        if kind == "evoked":
            raise ValueError(f"{path} is an evoked (averaged) FIF file, not "
                             f"supported by cdl fit: give the continuous "
                             f"recording or its epochs (-epo.fif).")
        inst = _read(path, suffix, kind)
    _check_finite(inst, path)
    for warning in caught:
        logger.warning(f"While reading {path.name}: "
                       f"{_first_line(warning.message)}")
    return inst


def read_raw(path):
    """Read a continuous recording (see :func:`read_recording`); refuse epochs."""
    inst = read_recording(path)
    if not hasattr(inst, "first_samp"):
        raise ValueError(f"{path} is an epochs file: a continuous recording is "
                         f"needed here (cdl fit and load_recording read epochs).")
    return inst


def fif_kind(path):
    """What a FIF file holds: 'raw', 'epochs', 'evoked' or None.

    Parameters
    ----------
    path : path-like
        A ``.fif`` or ``.fif.gz`` file.

    Returns
    -------
    kind : str | None
        None when the file is not a FIF MNE can open (or holds none of
        these).
    """
    from mne._fiff.constants import FIFF
    from mne._fiff.open import fiff_open
    from mne._fiff.tree import dir_tree_find

    try:
        with warnings.catch_warnings():  # the reader tells what is wrong
            warnings.simplefilter("ignore")
            fid, tree, _ = fiff_open(Path(path), verbose=False)
            fid.close()
    except Exception:  # noqa: BLE001 (the reader gives the error)
        return None
    for kind, block in (("raw", "FIFFB_RAW_DATA"), ("raw", "FIFFB_CONTINUOUS_DATA"),
                        ("epochs", "FIFFB_MNE_EPOCHS"), ("evoked", "FIFFB_EVOKED")):
        if dir_tree_find(tree, getattr(FIFF, block)):
            return kind
    return None


def _read(path, suffix, kind):
    import mne

    try:
        if kind == "epochs":  # projectors applied (or not) by preprocess
            return mne.read_epochs(path, proj=False, preload=True, verbose=False)
        return mne.io.read_raw(path, preload=True, verbose=False)
    except Exception as err:  # noqa: BLE001 (readers fail in many ways)
        readers = _readers(suffix)
        what = (f"{readers} failed ({type(err).__name__}: {_first_line(err)}): "
                f"the file is corrupted, truncated or not in that format"
                if readers else "no MNE reader for this extension "
                                "(unsupported format)")
        raise ValueError(
            f"{path} is not a recording MNE can read ({suffix or 'no suffix'}): "
            f"{what}. "
            f"Supported formats include EDF/BDF (.edf, .bdf), FIF (raw or "
            f"epochs, .fif), BrainVision (.vhdr) and EEGLAB (.set).") from None


def _readers(suffix):
    try:
        from mne.io._read_raw import _get_supported
        readers = _get_supported().get(suffix, {})
        return " or ".join(getattr(f, "__name__", str(f))
                           for f in readers.values())
    except Exception:  # noqa: BLE001 (private API: the message only)
        return ""


def _check_finite(inst, path):
    """Refuse NaN or infinite values, naming the channels that hold them."""
    import numpy as np

    if len(inst.ch_names) == 0 or inst.get_data(picks=[0]).shape[-1] < 2:
        raise ValueError(f"{path} holds no data ({len(inst.ch_names)} "
                         f"channels).")
    bad = []
    for start in range(0, len(inst.ch_names), 16):  # by blocks: bounded memory
        picks = np.arange(start, min(start + 16, len(inst.ch_names)))
        block = inst.get_data(picks=picks)
        finite = np.isfinite(block).all(axis=tuple(i for i in range(block.ndim)
                                                   if i != block.ndim - 2))
        bad += [inst.ch_names[i] for i in picks[~finite]]
    if bad:
        shown = ", ".join(bad[:8]) + (" ..." if len(bad) > 8 else "")
        raise ValueError(f"{path}: the recording holds NaN or infinite values "
                         f"in {len(bad)} channel(s): {shown}. The file is "
                         f"corrupted or was not written completely; mark those "
                         f"channels bad or repair the file.")


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
