"""Cam-CAN MEG data (Shafto et al. 2014), from a local BIDS copy."""
from cdl.utils.log import verbose

from ._config import get_data_path, not_found_error
from ._preprocess import check_options, run_preprocess

#: Default preprocessing (alphacsc's Cam-CAN example).
CAMCAN_DEFAULTS = dict(picks="grad", notch=[50., 100.], l_freq=2., h_freq=45.,
                       n_splits=10, scaling="global")


@verbose
def load_camcan(subject, path=None, *, task="smt", calibration=None,
                cross_talk=None, verbose=None, **options):
    """Load one Cam-CAN subject's MEG recording as a :class:`Recording`.

    Cam-CAN is shared after registration and is never downloaded: point
    ``path`` (or the environment variable ``CDL_DATA_CAMCAN``) to the BIDS
    root of a local copy.

    Parameters
    ----------
    subject : str
        Subject id, with or without the ``sub-`` prefix (e.g. ``'CC110033'``).
    path : path-like | None
        BIDS root holding ``sub-<id>/ses-<task>/meg/*_task-<task>_meg.fif``.
    task : str
        BIDS task (and session): ``'smt'`` (sensorimotor task), ``'rest'``,
        ``'passive'``.
    calibration, cross_talk : path-like | None
        Fine-calibration and cross-talk files; when both are given, a Maxwell
        filter (tSSS, 10 s) is applied before the other steps.
    %(verbose)s
    **options
        Preprocessing options of :func:`data_fetchers.preprocess`; defaults
        ``picks='grad', notch=[50, 100], l_freq=2., h_freq=45., n_splits=10,
        scaling='global'``.

    Returns
    -------
    recording : Recording

    Raises
    ------
    DataNotFoundError
        If no recording of this subject and task is found.
    """
    import mne

    check_options(options)
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError(f"subject must be a Cam-CAN id such as 'CC110033', "
                         f"got {subject!r}.")
    sub = subject if subject.startswith("sub-") else f"sub-{subject}"
    root, source = get_data_path("camcan", path)
    if root is None:
        raise not_found_error("camcan", [], source, "No folder to look in.")
    fname = f"{sub}_ses-{task}_task-{task}_meg.fif"
    expected = root / sub / f"ses-{task}" / "meg" / fname
    found = [expected] if expected.is_file() else sorted(
        (root / sub).glob(f"**/{sub}*task-{task}*meg.fif"))
    if not found:
        raise not_found_error("camcan", [str(expected), f"{root / sub}/**"], source,
                              f"No '{task}' recording of {sub} there.")
    raw = mne.io.read_raw_fif(found[0], preload=True, verbose=False)
    maxwell = calibration is not None and cross_talk is not None
    if maxwell:
        raw = mne.preprocessing.maxwell_filter(
            raw, calibration=calibration, cross_talk=cross_talk, st_duration=10.,
            verbose=False)
    return run_preprocess(raw, CAMCAN_DEFAULTS, options, dataset="camcan",
                          subject=sub, task=task, maxwell_filter=maxwell)
