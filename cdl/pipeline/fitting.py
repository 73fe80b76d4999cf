"""Fit a model on a preprocessed recording, save it with its metadata, and
write the activations of a recording as annotations and events.

A model fitted here keeps, in its file's metadata, the recording it came from
and how that recording was preprocessed (:func:`model_metadata`), so that a
new recording can be encoded the same way.
"""
from pathlib import Path

from cdl.estimators.batch import BatchCDL
from cdl.estimators.reading import read_model
from cdl.io import read_model_metadata
from cdl.io.events import model_to_annotations, model_to_events, write_activations
from cdl.utils.log import logger
from cdl.utils.validation import check_int, check_option
from dicod import world_size

from .recording import LOAD_DEFAULTS, n_times_atom_of


def backend_kwargs(backend=None, n_workers=None):
    """Estimator parameters of a z-step backend.

    Parameters
    ----------
    backend : 'local' | 'mpi' | None
        In-process z-step, or DICOD over MPI workers: spawned, or the ranks
        of the ``mpirun`` job this process belongs to (see
        :func:`dicod.run_mpi`). None: 'mpi' when ``n_workers`` is given or
        under ``mpirun``, else 'local'.
    n_workers : int | None
        Workers of the 'mpi' backend; None: the other ranks under
        ``mpirun``, else one per CPU core.

    Returns
    -------
    kwargs : dict
        Empty for 'local'; ``solver_z='dicod', n_workers=...`` for 'mpi'.
    """

    size = world_size()
    if backend is None:
        backend = "mpi" if n_workers is not None or size > 1 else "local"
    check_option("backend", backend, ("local", "mpi"))
    if n_workers is not None:
        check_int("n_workers", n_workers, min_value=1)
    if backend == "local":
        if n_workers is not None:
            raise ValueError("n_workers (--n-workers) sets the workers of the "
                             "'mpi' backend; it does not combine with 'local'.")
        if size > 1:
            raise ValueError(f"this process is one of {size} of an mpirun job: "
                             f"use the 'mpi' backend (--backend mpi), or run "
                             f"without mpirun.")
        return {}
    if size > 1 and n_workers is not None and n_workers != size - 1:
        raise ValueError(f"under mpirun -n {size} the workers are the {size - 1} "
                         f"ranks other than the root: leave n_workers "
                         f"(--n-workers) out or set it to {size - 1}, got "
                         f"{n_workers}.")
    return dict(solver_z="dicod", n_workers=n_workers)


def check_fit_settings(recording, n_atoms, atom_duration, reg):
    """Refuse, before fitting, settings that cannot give atoms.

    Parameters
    ----------
    recording : data_fetchers.Recording
        Gives the sampling rate and the trial length.
    n_atoms : int
        Number of atoms.
    atom_duration : float
        Atom length in seconds.
    reg : float
        Regularisation as a fraction of lambda_max.

    Returns
    -------
    n_times_atom : int
        The atom length in samples.

    Raises
    ------
    ValueError
        ``reg`` outside (0, 1) (from ``reg >= 1`` every activation is 0),
        atoms longer than a trial, or fewer than 2 atoms' worth of samples
        per trial.
    """
    check_int("n_atoms", n_atoms, min_value=1)
    if not 0 < reg < 1:
        raise ValueError(f"reg (--reg) must be in (0, 1), a fraction of "
                         f"lambda_max, got {reg:g}: from reg = 1 every "
                         f"activation is 0 and no atom is learned.")
    n_times_atom = n_times_atom_of(atom_duration, recording)
    n_times = recording.X.shape[2]
    if 2 * n_times_atom > n_times:
        raise ValueError(
            f"atom duration {atom_duration:g} s ({n_times_atom} samples) is "
            f"more than half a trial ({n_times} samples, "
            f"{n_times / recording.sfreq:g} s): an atom must fit at least twice "
            f"in a trial to be learned; give a shorter --atom-duration.")
    return n_times_atom


def fit_recording(recording, n_atoms=16, atom_duration=0.5, reg=0.1, n_iter=30,
                  random_state=0, backend=None, n_workers=None, revive_atoms=True,
                  verbose=True):
    """Fit a BatchCDL on a preprocessed recording.

    Parameters
    ----------
    recording : data_fetchers.Recording
        From :func:`load_for_cdl` (scaled per channel type).
    n_atoms : int
        Number of atoms.
    atom_duration : float
        Atom length in seconds.
    reg : float
        Regularisation as a fraction of lambda_max, in (0, 1).
    n_iter : int
        Maximum number of iterations.
    random_state : int | None
        Seed of the initialisation.
    backend : 'local' | 'mpi' | None
        z-step in this process, or distributed with DICOD (see
        :func:`backend_kwargs`).
    n_workers : int | None
        Workers of the 'mpi' backend.
    revive_atoms : bool | dict
        Replace unused and duplicated atoms during learning (see
        :class:`cdl.BatchCDL`).
    verbose : bool
        Progress bar.

    Returns
    -------
    model : BatchCDL
        Fitted (``interrupted_`` True after Ctrl-C: what was learned so
        far), atoms sorted by energy, ``info_`` and ``scalings_`` set to
        those of the recording.
    """
    n_times_atom = check_fit_settings(recording, n_atoms, atom_duration, reg)
    model = BatchCDL(n_atoms=n_atoms, n_times_atom=n_times_atom, reg=reg,
                     n_iter=n_iter, sort_atoms=True, revive_atoms=revive_atoms,
                     random_state=random_state, verbose=verbose,
                     **backend_kwargs(backend, n_workers))
    model.fit(recording.X)
    model.info_ = recording.info
    model.scalings_ = recording.preprocessing.get("scalings")
    return model


def model_metadata(recording, load_options, **extra):
    """What a model file keeps about its recording (JSON-friendly).

    Parameters
    ----------
    recording : data_fetchers.Recording
        From :func:`load_for_cdl`.
    load_options : dict
        The options given to :func:`load_for_cdl`.
    **extra
        More entries (e.g. ``atom_duration``, ``interrupted``).

    Returns
    -------
    metadata : dict
        ``recording`` (file), ``load_options``, ``scaling`` (method),
        ``scalings`` (factor per channel type), ``compensation_grade``,
        ``projectors`` (SSP projectors applied), ``sfreq``, ``n_trials``,
        ``n_times``, ``trial_starts``, ``first_samp``, ``epochs`` (for an
        epochs file) and ``extra``.
    """
    prep = recording.preprocessing
    sources = prep.get("source") or [""]
    return dict(recording=str(sources[0]),
                load_options={**LOAD_DEFAULTS, **load_options},
                scaling=prep.get("scaling"), scalings=prep.get("scalings"),
                compensation_grade=prep.get("compensation_grade"),
                projectors=prep.get("projectors"), sfreq=recording.sfreq,
                n_trials=int(recording.X.shape[0]),
                n_times=int(recording.X.shape[2]),
                trial_starts=[int(s) for s in recording.trial_starts],
                first_samp=int(recording.first_samp),
                epochs=prep.get("epochs"), **extra)


def save_fitted(model, fname, metadata):
    """Save a fitted estimator and its metadata, replacing ``fname``.

    Parameters
    ----------
    model : fitted CDL estimator
    fname : path-like
        ``.npz`` file.
    metadata : dict
        From :func:`model_metadata`.

    Returns
    -------
    fname : Path
    """
    model.save(fname, overwrite=True, metadata=metadata)
    return Path(fname)


def load_model(fname):
    """Read a model file and its metadata.

    Parameters
    ----------
    fname : path-like
        ``.npz`` model file.

    Returns
    -------
    model : BatchCDL | OnlineCDL | GreedyCDL
    metadata : dict
    """

    return read_model(fname), read_model_metadata(fname)


def activations_of(model, metadata, recording):
    """Activations of a recording: ``z_hat_`` if it is the fitted one, else encode.

    Parameters
    ----------
    model : fitted CDL estimator
    metadata : dict
        The model file's metadata (gives the fitted recording's file).
    recording : data_fetchers.Recording
        From :func:`load_like_model`.

    Returns
    -------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
    encoded : bool
        True when the recording was encoded now.
    """
    source = recording.preprocessing.get("source") or [None]
    n_trials, _, n_times = recording.X.shape
    same = (Path(str(source[0])).resolve() == Path(metadata.get("recording", ""))
            .resolve() if source[0] and metadata.get("recording") else False)
    expected = (n_trials, model.z_hat_.shape[1], n_times - model.n_times_atom + 1)
    if same and model.z_hat_.shape == expected:
        return model.z_hat_, False
    logger.info("Encoding %s with the model's atoms", source[0])
    return model.transform(recording.X), True


def write_outputs(out_dir, model, recording, z):
    """Write the activations as annotations and events files.

    Parameters
    ----------
    out_dir : path-like
        Existing folder.
    model : fitted CDL estimator
    recording : data_fetchers.Recording
        Gives the trial layout, ``first_samp`` and the measurement date.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of ``recording``.

    Returns
    -------
    fnames : dict of str to Path
        See :func:`cdl.io.write_activations`.
    """

    kwargs = dict(first_samp=recording.first_samp,
                  trial_starts=recording.trial_starts)
    annotations = model_to_annotations(model, z=z, sfreq=recording.sfreq,
                                       orig_time=recording.info["meas_date"],
                                       **kwargs)
    events, _ = model_to_events(model, z=z, **kwargs)
    return write_activations(Path(out_dir) / "activations", annotations, events,
                             overwrite=True)
