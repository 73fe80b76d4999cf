"""Load any recording MNE can read."""
from pathlib import Path

from cdl._logging import verbose

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
    verbose : bool | str | int | None
        Log level for this call.
    **options
        Preprocessing options of :func:`data_fetchers.preprocess` (``picks``,
        ``notch``, ``l_freq``, ``h_freq``, ``sfreq``, ``n_splits``,
        ``trial_duration``, ``scaling``, ``reject_flat``...). By default all
        data channels are kept unfiltered and the recording is one trial.

    Returns
    -------
    recording : Recording
        ``X`` of shape (n_trials, n_channels, n_times), info, events,
        annotations and the preprocessing applied.
    """
    check_options(options)
    raw = read_raw(path)
    if montage is not None:
        raw.set_montage(montage, on_missing="ignore", verbose=False)
    return run_preprocess(raw, {}, options, montage=_montage_name(montage))


def read_raw(path):
    """Read ``path`` with MNE, turning its failures into clear errors."""
    import mne

    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Recording file not found: {path}")
    try:
        return mne.io.read_raw(path, preload=True, verbose=False)
    except Exception as err:  # readers fail in many ways on a wrong file
        raise ValueError(
            f"MNE could not read {path} as a raw recording "
            f"({type(err).__name__}: {err}). Supported "
            f"formats include EDF/BDF (.edf, .bdf), FIF (.fif), BrainVision "
            f"(.vhdr) and EEGLAB (.set).") from None


def _montage_name(montage):
    if montage is None or isinstance(montage, str):
        return montage
    return type(montage).__name__
