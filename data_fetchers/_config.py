"""Where the datasets are looked for, and the error raised when they are not there.

Each dataset is found, in this order, through:

1. the ``path`` argument of its loader;
2. the environment variable ``CDL_DATA_<NAME>`` (e.g. ``CDL_DATA_EEGBCI``);
3. MNE's configuration (:func:`mne.get_config`, which also reads the
   environment): the dataset's own key (e.g. ``MNE_DATASETS_SOMATO_PATH``), then
   ``MNE_DATA``;
4. MNE's default folder, ``~/mne_data``.

Nothing here reads the environment at import time: every look-up happens when a
loader runs.
"""
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path


class DataNotFoundError(FileNotFoundError):
    """A dataset is not on disk and cannot be downloaded now."""


@dataclass(frozen=True)
class DatasetSpec:
    """What is needed to find one dataset.

    Attributes
    ----------
    name : str
        Short name used in messages and in the environment variable.
    env_var : str
        Environment variable of this project pointing at a local copy.
    mne_key : str | None
        MNE config key of the dataset, or None if MNE has no fetcher for it.
    folder : str | None
        Sub-folder MNE's fetcher creates under its data path.
    host : str | None
        Server the download comes from (checked quickly before downloading).
    how_to_get : str
        One sentence for the error message, saying where a copy comes from.
    """

    name: str
    env_var: str
    mne_key: str | None
    folder: str | None
    host: str | None
    how_to_get: str


DATASETS = {
    "eegbci": DatasetSpec(
        "eegbci", "CDL_DATA_EEGBCI", "MNE_DATASETS_EEGBCI_PATH",
        "MNE-eegbci-data/files/eegmmidb/1.0.0", "physionet.org",
        "mne.datasets.eegbci.load_data(subjects, runs) downloads it from "
        "PhysioNet (EEG Motor Movement/Imagery, ODC-By 1.0)."),
    "somato": DatasetSpec(
        "somato", "CDL_DATA_SOMATO", "MNE_DATASETS_SOMATO_PATH",
        "MNE-somato-data", "osf.io",
        "mne.datasets.somato.data_path() downloads it (about 600 MB)."),
    "sample": DatasetSpec(
        "sample", "CDL_DATA_SAMPLE", "MNE_DATASETS_SAMPLE_PATH",
        "MNE-sample-data", "osf.io",
        "mne.datasets.sample.data_path() downloads it (about 1.6 GB)."),
    "camcan": DatasetSpec(
        "camcan", "CDL_DATA_CAMCAN", None, None, None,
        "Cam-CAN data are shared after registration at "
        "https://camcan-archive.mrc-cbu.cam.ac.uk/dataaccess/ and cannot be "
        "downloaded automatically."),
}


def get_data_path(name, path=None):
    """Return the folder where dataset ``name`` is looked for.

    Parameters
    ----------
    name : str
        A key of ``DATASETS``.
    path : path-like | None
        Folder given by the user; it wins over every other setting.

    Returns
    -------
    root : Path | None
        The folder (it may not exist); None for a dataset without an MNE
        fetcher when neither ``path`` nor the environment variable is set.
    source : str
        Which setting gave it, for messages (e.g. ``"environment variable
        CDL_DATA_EEGBCI"``).
    """
    spec = DATASETS[name]
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a path-like or None, got "
                            f"{type(path).__name__}.")
        return Path(path).expanduser(), "the path argument"
    value = os.environ.get(spec.env_var)
    if value:
        return Path(value).expanduser(), f"environment variable {spec.env_var}"
    if spec.mne_key is None:
        return None, "no setting (no path argument and no environment variable)"
    import mne

    for key in (spec.mne_key, "MNE_DATA"):
        value = mne.get_config(key)
        if value:
            return Path(value).expanduser(), f"MNE config {key}"
    return Path("~/mne_data").expanduser(), "MNE's default folder"


def is_reachable(host, port=443, timeout=5.0):
    """Tell within ``timeout`` seconds whether ``host:port`` accepts connections.

    The check runs in a daemon thread so that a slow name resolution cannot
    block the caller for longer than ``timeout``.
    """
    result = []

    def _probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=_probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def not_found_error(name, looked_in, source, reason):
    """Build the error raised when dataset ``name`` is missing.

    Parameters
    ----------
    name : str
        Dataset key.
    looked_in : list of str
        Files or folders that were checked.
    source : str
        Which setting gave the folder (see :func:`get_data_path`).
    reason : str
        Why no download was attempted or why it could not happen.

    Returns
    -------
    error : DataNotFoundError
    """
    spec = DATASETS[name]
    where = "\n".join(f"  - {p}" for p in looked_in) or "  (no folder given)"
    how = ["pass path=<folder> to the loader", f"set the environment "
           f"variable {spec.env_var}=<folder>"]
    if spec.mne_key:
        how.append(f"run mne.set_config('{spec.mne_key}', <folder>)")
    return DataNotFoundError(
        f"Dataset '{name}' was not found. Looked in (folder from {source}):\n"
        f"{where}\n{reason}\nTo use a local copy, "
        + ", or ".join(how) + f". {spec.how_to_get}")


def download_reason(name, download):
    """Return None if dataset ``name`` can be downloaded now, else why not."""
    spec = DATASETS[name]
    if spec.host is None:
        return "This dataset cannot be downloaded automatically."
    if not download:
        return "Downloading is disabled (download=False)."
    if not is_reachable(spec.host):
        return (f"Downloading is not possible: the server {spec.host} cannot "
                f"be reached (no network?).")
    return None
