"""The somato and sample datasets of MNE, fetched by :mod:`mne.datasets`."""
from pathlib import Path

from cdl.utils.log import logger, verbose

from ._config import DATASETS, download_reason, get_data_path, not_found_error
from ._preprocess import check_options, run_preprocess

#: Raw file of each dataset, relative to the dataset folder.
RAW_FILES = {
    "somato": "sub-01/meg/sub-01_task-somato_meg.fif",
    "sample": "MEG/sample/sample_audvis_raw.fif",
}
#: Default preprocessing (alphacsc's, Dupré la Tour et al. 2018).
SOMATO_DEFAULTS = dict(picks="grad", notch=[50., 100.], l_freq=2., sfreq=150.,
                       n_splits=10, scaling="global", event_id={"somato": 1})
SAMPLE_DEFAULTS = dict(
    picks="grad", notch=[60., 120., 180.], l_freq=2., sfreq=150., n_splits=10,
    scaling="global",
    event_id={"auditory/left": 1, "auditory/right": 2, "visual/left": 3,
              "visual/right": 4, "smiley": 5, "buttonpress": 32})


def find_mne_dataset_file(name, path=None, download=True):
    """Return the raw file of MNE dataset ``name``, downloading it if allowed.

    Parameters
    ----------
    name : 'somato' | 'sample'
        Dataset.
    path : path-like | None
        Folder holding the dataset folder (e.g. ``MNE-somato-data``) or the
        dataset folder itself.
    download : bool
        Whether the dataset may be downloaded when missing.

    Returns
    -------
    fname : Path
        The raw FIF file.
    """
    import mne

    spec, relative = DATASETS[name], RAW_FILES[name]
    root, source = get_data_path(name, path)
    candidates = [root / spec.folder / relative, root / relative]
    for fname in candidates:
        if fname.is_file():
            return fname
    reason = download_reason(name, download)
    if reason is not None:
        raise not_found_error(name, [str(c) for c in candidates], source, reason)
    logger.info(f"Downloading the {name} dataset to {root}")
    folder = getattr(mne.datasets, name).data_path(
        path=root, download=True, update_path=False, verbose=False)
    return Path(folder) / relative


def _load(name, defaults, path, download, options):
    import mne

    check_options(options)
    fname = find_mne_dataset_file(name, path, download)
    raw = mne.io.read_raw_fif(fname, preload=True, verbose=False)
    return run_preprocess(raw, defaults, options, dataset=name)


@verbose
def load_somato(path=None, *, download=True, verbose=None, **options):
    """Load MNE's somatosensory (somato) MEG dataset as a :class:`Recording`.

    Parameters
    ----------
    path : path-like | None
        Folder holding ``MNE-somato-data`` (or that folder itself). None: the
        environment variable ``CDL_DATA_SOMATO``, then MNE's config
        ``MNE_DATASETS_SOMATO_PATH`` or ``MNE_DATA``, then ``~/mne_data``.
    %(download)s
    %(verbose)s
    **options
        Preprocessing options of :func:`data_fetchers.preprocess`; defaults
        ``picks='grad', notch=[50, 100], l_freq=2., sfreq=150., n_splits=10,
        scaling='global', event_id={'somato': 1}``.

    Returns
    -------
    recording : Recording

    Raises
    ------
    DataNotFoundError
        If the data are missing and cannot be downloaded now.
    """
    return _load("somato", SOMATO_DEFAULTS, path, download, options)


@verbose
def load_sample(path=None, *, download=True, verbose=None, **options):
    """Load MNE's sample (auditory/visual) dataset as a :class:`Recording`.

    Parameters
    ----------
    path : path-like | None
        Folder holding ``MNE-sample-data`` (or that folder itself). None: the
        environment variable ``CDL_DATA_SAMPLE``, then MNE's config
        ``MNE_DATASETS_SAMPLE_PATH`` or ``MNE_DATA``, then ``~/mne_data``.
    %(download)s
    %(verbose)s
    **options
        Preprocessing options of :func:`data_fetchers.preprocess`; defaults
        ``picks='grad', notch=[60, 120, 180], l_freq=2., sfreq=150.,
        n_splits=10, scaling='global'`` and the sample event names.

    Returns
    -------
    recording : Recording

    Raises
    ------
    DataNotFoundError
        If the data are missing and cannot be downloaded now.
    """
    return _load("sample", SAMPLE_DEFAULTS, path, download, options)
