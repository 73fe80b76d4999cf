"""EEG Motor Movement/Imagery dataset (EEGBCI, PhysioNet).

Schalk et al. (2004), BCI2000; Goldberger et al. (2000), PhysioNet. License
ODC-By 1.0. 64 EEG channels at 160 Hz; annotations T0 (rest), T1, T2 (cues).
Runs 3, 7, 11: real left/right fist; 4, 8, 12: imagined left/right fist;
5, 9, 13: real fists/feet; 6, 10, 14: imagined fists/feet; 1, 2: baseline.
"""
import numbers

from cdl.utils.log import logger, verbose

from ._config import DATASETS, download_reason, get_data_path, not_found_error
from ._preprocess import check_options, run_preprocess

#: Preprocessing applied by default (override with keyword arguments).
EEGBCI_DEFAULTS = dict(picks="eeg", notch=60., l_freq=1.)


def _check_ids(name, values, high):
    if isinstance(values, numbers.Integral):
        values = [values]
    values = list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Integral)
                         or not 1 <= v <= high for v in values):
        raise ValueError(f"{name} must be an integer or a list of integers "
                         f"between 1 and {high}, got {values!r}.")
    return [int(v) for v in values]


def eegbci_folders(root, subject):
    """Folders where the runs of ``subject`` may be, in the order tried.

    The layout of MNE's fetcher (``MNE-eegbci-data/files/eegmmidb/1.0.0/S001``
    under MNE's data path), PhysioNet's layout (``S001/`` under the
    ``eegmmidb/1.0.0`` folder) and a flat folder of ``S001R03.edf`` files.
    """
    sub = f"S{subject:03d}"
    return [root / DATASETS["eegbci"].folder / sub, root / sub, root]


@verbose
def load_eegbci(subject, runs, path=None, *, download=True, verbose=None,
                **options):
    """Load runs of one EEGBCI subject as a :class:`Recording`.

    The runs are read, joined with :func:`mne.concatenate_raws`, given standard
    channel names (:func:`mne.datasets.eegbci.standardize`) and the standard
    10-05 montage (``standard_1005``, called ``colin27_1005`` since MNE 1.13),
    then preprocessed; by default each run is one trial.

    Parameters
    ----------
    subject : int
        Subject number, 1 to 109.
    runs : int | list of int
        Run numbers, 1 to 14.
    path : path-like | None
        Folder holding the data, in MNE's layout
        (``MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R03.edf``), PhysioNet's
        (``S001/S001R03.edf``) or flat (``S001R03.edf``). None: the environment
        variable ``CDL_DATA_EEGBCI``, then MNE's config
        ``MNE_DATASETS_EEGBCI_PATH`` or ``MNE_DATA``, then ``~/mne_data``.
    %(download)s
    %(verbose)s
    **options
        Preprocessing options of :func:`data_fetchers.preprocess`; defaults
        ``picks='eeg', notch=60., l_freq=1.``.

    Returns
    -------
    recording : Recording
        ``X`` of shape (n_trials, 64, n_times); annotations keep T0/T1/T2.

    Raises
    ------
    DataNotFoundError
        If runs are missing and cannot be downloaded now; the message says
        where they were looked for and how to point to a copy.
    """
    import mne

    check_options(options)
    subject = _check_ids("subject", subject, 109)
    if len(subject) != 1:
        raise ValueError(f"subject must be one integer, got {subject}.")
    subject = subject[0]
    runs = _check_ids("runs", runs, 14)
    root, source = get_data_path("eegbci", path)
    folders = eegbci_folders(root, subject)
    files, missing = [], []
    for run in runs:
        name = f"S{subject:03d}R{run:02d}.edf"
        found = [f / name for f in folders if (f / name).is_file()]
        files.append(found[0] if found else None)
        if not found:
            missing.append(run)
    if missing:
        reason = download_reason("eegbci", download)
        if reason is not None:
            raise not_found_error(
                "eegbci", [f"{f}/S{subject:03d}R<run>.edf" for f in folders],
                source, f"Missing runs {missing} of subject {subject}. {reason}")
        logger.info(f"Downloading EEGBCI subject {subject} runs {missing}")
        fetched = mne.datasets.eegbci.load_data(subject, missing, path=root,
                                                update_path=False)
        fetched = iter(fetched)
        files = [f if f is not None else next(fetched) for f in files]
    raws = [mne.io.read_raw_edf(f, preload=True, verbose=False) for f in files]
    raw = mne.concatenate_raws(raws, verbose=False) if len(raws) > 1 else raws[0]
    mne.datasets.eegbci.standardize(raw)
    montage = _standard_1005_name()
    raw.set_montage(mne.channels.make_standard_montage(montage), verbose=False)
    return run_preprocess(raw, EEGBCI_DEFAULTS, options, dataset="eegbci",
                          subject=subject, runs=runs, montage=montage)


def _standard_1005_name():
    """MNE >= 1.13 renamed the 10-05 template 'standard_1005' to 'colin27_1005'."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    return "colin27_1005" if "colin27_1005" in builtin else "standard_1005"
