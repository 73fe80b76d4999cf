"""One model per subject, in parallel, saved as each subject finishes.

:func:`fit_group` hands each recording to a joblib worker that loads it, fits
a copy of the estimator and writes the model file itself, so finished
subjects are on disk even if the run is killed later, and a second run skips
them. A subject that fails is reported (and its error written next to the
models) without stopping the others.
"""
import json
import os
import time
import traceback
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from cdl.estimators.reading import ESTIMATORS, read_model
from cdl.learn.checkpoint import CheckpointError
from cdl.utils.log import logger, verbose, warn
from cdl.utils.validation import check_bool, check_n_jobs

STATUSES = ("fitted", "skipped", "failed", "interrupted")


@verbose
def fit_group(recordings, estimator, output_dir, n_jobs=1, backend=None,
              overwrite=False, verbose=None):
    """Fit one model per recording (subject) in parallel with joblib.

    Each subject runs in a worker: its recording is loaded there (pass paths
    or loaders rather than arrays when the workers are remote), the estimator
    is copied (``type(estimator)(**estimator.get_params())``) and fitted, and
    the model is written to ``output_dir / f'{name}.npz'`` at once. During the
    fit the worker checkpoints to ``output_dir / f'.{name}.checkpoint.npz'``
    (unless the estimator sets its own ``checkpoint``), so a subject cut short
    by a crash resumes where it stopped on the next run.

    Parameters
    ----------
    recordings : dict of str to recording | list of path-like
        Subjects by name. A recording is an ndarray of shape (n_trials,
        n_channels, n_times), an ``mne.io.Raw`` or ``mne.Epochs``, a path to
        an ``.npy`` array or to any file ``mne.io.read_raw`` reads (EDF, BDF,
        FIF, BrainVision, EEGLAB, ...), or a callable with no argument that
        returns one of these. A list of paths uses the file names without
        extension as subject names.
    estimator : BatchCDL | OnlineCDL | GreedyCDL
        Template estimator (not modified); its ``n_jobs`` should stay 1.
    output_dir : path-like
        Folder of the model files (created if needed); on a cluster it must
        be shared by the workers.
    n_jobs : int
        Number of subjects fitted at once (-1: all cores or all workers of a
        cluster backend).
    backend : str | None
        joblib backend ('loky', 'threading', 'multiprocessing', or 'dask',
        'ray' once registered); None uses the current joblib configuration
        (e.g. set by ``joblib.parallel_config``), loky by default.
    overwrite : bool
        Refit subjects whose model file already exists (otherwise they are
        skipped, provided the file reads back as a model).
    %(verbose)s

    Returns
    -------
    report : list of dict
        One entry per subject, in the order given: ``name``, ``status``
        ('fitted', 'skipped', 'failed' or 'interrupted'), ``path`` of the
        model, ``error`` (message or None) and ``seconds``.

    Notes
    -----
    Running on a cluster: the workers only need the package and access to
    the recordings and to ``output_dir``. With dask.distributed::

        from dask.distributed import Client
        from joblib import parallel_config
        client = Client("tcp://scheduler:8786")  # or a dask_jobqueue cluster
        with parallel_config(backend="dask"):
            report = fit_group(paths, BatchCDL(n_atoms=8, n_times_atom=64),
                               "/shared/models", n_jobs=-1)

    With ray::

        import ray
        from ray.util.joblib import register_ray
        ray.init(address="auto")
        register_ray()
        report = fit_group(paths, estimator, "/shared/models", n_jobs=-1,
                           backend="ray")

    A subject whose model file exists is skipped, so the same call can be
    repeated after a crash or to add subjects.
    """

    names, items = _check_recordings(recordings)
    if type(estimator).__name__ not in ESTIMATORS \
            or not isinstance(estimator, ESTIMATORS[type(estimator).__name__]):
        raise TypeError(f"estimator must be a BatchCDL, OnlineCDL or GreedyCDL "
                        f"instance, got {type(estimator).__name__}.")
    n_jobs = check_n_jobs(n_jobs)
    overwrite = check_bool("overwrite", overwrite)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    report = {name: dict(name=name, status="interrupted", error=None,
                         path=str(output_dir / f"{name}.npz"), seconds=0.)
              for name in names}
    todo = []
    for name, recording in zip(names, items):
        path = output_dir / f"{name}.npz"
        if path.exists() and not overwrite:
            try:
                read_model(path)
            except (ValueError, OSError) as err:
                warn(f"Subject {name!r}: {path} cannot be read ({err}); it is "
                     f"fitted again.")
            else:
                report[name]["status"] = "skipped"
                continue
        todo.append((name, recording))
    logger.info("fit_group: %d subjects to fit, %d skipped", len(todo),
                len(names) - len(todo))
    params = estimator.get_params()
    jobs = (delayed(_fit_subject)(name, recording, type(estimator), params,
                                  output_dir) for name, recording in todo)
    try:
        for result in _parallel(Parallel, n_jobs, backend)(jobs):
            report[result["name"]].update(result)
            if result["status"] == "failed":
                logger.warning("Subject %r failed: %s", result["name"],
                               result["error"])
            else:
                logger.info("Subject %r fitted in %.1f s", result["name"],
                            result["seconds"])
    except KeyboardInterrupt:
        left = [n for n in names if report[n]["status"] == "interrupted"]
        warn(f"fit_group interrupted; {len(left)} subject(s) not finished: "
             f"{left}. Run it again to fit them.")
    failed = [n for n in names if report[n]["status"] == "failed"]
    if failed:
        warn(f"{len(failed)} of {len(names)} subject(s) failed: {failed} (see "
             f"the *.error.json files in {output_dir}).")
    return [report[name] for name in names]


def _parallel(Parallel, n_jobs, backend):
    try:  # results as they come (joblib >= 1.4)
        return Parallel(n_jobs=n_jobs, backend=backend,
                        return_as="generator_unordered")
    except (TypeError, ValueError):  # pragma: no cover
        return Parallel(n_jobs=n_jobs, backend=backend)


def _check_recordings(recordings):
    if isinstance(recordings, dict):
        names, items = list(recordings), list(recordings.values())
    elif isinstance(recordings, (list, tuple)):
        if not all(isinstance(r, (str, os.PathLike)) for r in recordings):
            raise TypeError("recordings given as a list must be paths; give a "
                            "dict of name to recording otherwise.")
        names = [Path(r).name.split(".")[0] for r in recordings]
        items = list(recordings)
    else:
        raise TypeError(f"recordings must be a dict of name to recording or a "
                        f"list of paths, got {type(recordings).__name__}.")
    if not names:
        raise ValueError("recordings is empty.")
    for name in names:
        if not isinstance(name, str) or not name or name.startswith(".") \
                or "/" in name or "\\" in name:
            raise ValueError(f"Subject names must be non-empty file names not "
                             f"starting with '.', got {name!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Subject names must be unique, got {names}.")
    return names, items


def _load(recording):
    """Load a recording in the worker (see :func:`fit_group`)."""
    if callable(recording) and not hasattr(recording, "get_data"):
        recording = recording()
    if isinstance(recording, (str, os.PathLike)):
        path = Path(recording)
        if not path.exists():
            raise FileNotFoundError(f"Recording {path} does not exist.")
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        import mne
        return mne.io.read_raw(path, preload=True, verbose=False)
    return recording


def _fit_subject(name, recording, cls, params, output_dir):
    """Fit and save one subject; never raises (failures are returned)."""
    t_start = time.perf_counter()
    path = output_dir / f"{name}.npz"
    error_path = output_dir / f"{name}.error.json"
    checkpoint = output_dir / f".{name}.checkpoint.npz"
    try:
        params = dict(params)
        own_checkpoint = params.get("checkpoint") is None
        if own_checkpoint:
            params["checkpoint"] = checkpoint
        model = cls(**params)
        X = _load(recording)
        try:
            model.fit(X, resume=True)
        except CheckpointError as err:  # left by a run with other parameters
            warn(f"Subject {name!r}: {err}; fitting from the start.")
            Path(params["checkpoint"]).unlink()
            model.fit(X)
        if model.interrupted_:
            raise KeyboardInterrupt
        model.save(path, overwrite=True)
        if own_checkpoint and checkpoint.exists():
            checkpoint.unlink()
        if error_path.exists():
            error_path.unlink()
        return dict(name=name, status="fitted", error=None, path=str(path),
                    seconds=time.perf_counter() - t_start)
    except Exception as err:
        message = f"{type(err).__name__}: {err}"
        error_path.write_text(json.dumps(dict(
            name=name, error=message, traceback=traceback.format_exc()),
            indent=1))
        return dict(name=name, status="failed", error=message, path=None,
                    seconds=time.perf_counter() - t_start)
