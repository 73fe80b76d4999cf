"""The report of a result folder, rebuilt from what the folder holds.

``cdl fit``, ``encode``, ``dripp`` and ``report`` all write ``report.html``
through :func:`folder_report`: the model (with its metadata: recording,
preprocessing, whether the fit was interrupted), the activations of the
recording when it is given (atom-locked averages) and the DriPP result
(``dripp.npz``) when the folder holds one. No section is dropped: a section
whose input is missing says what is missing.
"""
from pathlib import Path

from cdl.report.build import add_dripp_section, make_report
from cdl.utils.log import logger

from .dripp import load_dripp
from .recording import data_summary

#: Name of the DriPP result file in a result folder.
DRIPP_FILE = "dripp.npz"


def fit_status(model, metadata):
    """A line about an interrupted fit, or None.

    Parameters
    ----------
    model : fitted CDL estimator
    metadata : dict
        The model file's metadata (``interrupted``).

    Returns
    -------
    status : str | None
    """
    if not (metadata.get("interrupted") or getattr(model, "interrupted_", False)):
        return None
    return (f"The fit was interrupted (Ctrl-C) after {model.n_iter_} of "
            f"{model.n_iter} iterations: the model is what was learned so far.")


def folder_report(model, metadata, out_dir, title, recording=None, z=None,
                  path=None, dripp=None, source_dir=None):
    """Build and write ``out_dir / 'report.html'`` with every section.

    Parameters
    ----------
    model : fitted CDL estimator
    metadata : dict
        The model file's metadata.
    out_dir : path-like
        Result folder; its ``dripp.npz`` is read when ``dripp`` is None.
    title : str
        Report title.
    recording : data_fetchers.Recording | None
        The recording of ``z`` (atom-locked averages, data summary).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations of ``recording`` (default ``model.z_hat_``).
    path : path-like | None
        The recording's file.
    dripp : dict | None
        A DriPP result (:func:`cdl.pipeline.run_dripp`); None reads the
        ``dripp.npz`` of ``source_dir`` if there is one.
    source_dir : path-like | None
        The result folder read (default ``out_dir``).

    Returns
    -------
    fname : Path
        The report written.
    """
    import matplotlib

    matplotlib.use("Agg")
    out_dir = Path(out_dir)
    source = Path(source_dir) if source_dir is not None else out_dir
    if dripp is None and (source / DRIPP_FILE).is_file():
        dripp = load_dripp(source / DRIPP_FILE)
    logger.info("Writing the report (%d atoms)", model.u_hat_.shape[0])
    report = make_report(
        model, title=title, info=model.info_, z=z,
        X=None if recording is None else recording.X,
        data_summary=_summary(recording, path, metadata),
        preprocessing=recording.preprocessing if recording is not None
        else metadata.get("load_options"),
        status=fit_status(model, metadata),
        averages_note=None if recording is not None else
        "No recording was given: run cdl report MODEL RECORDING (the fitted "
        "recording, or another one of the same system) to add the averages.")
    if dripp is not None:
        add_dripp_section(report, dripp["dripp"], dripp["driver_names"],
                          lrt=dripp["lrt"], ci=dripp["ci"],
                          support=dripp.get("support"))
    fname = out_dir / "report.html"
    report.save(fname, overwrite=True, open_browser=False, verbose=False)
    return fname


def _summary(recording, path, metadata):
    if recording is not None:
        return data_summary(recording, path)
    summary = {k: metadata[k] for k in ("recording", "sfreq", "n_trials",
                                        "n_times") if k in metadata}
    return summary or None
