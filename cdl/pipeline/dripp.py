"""DriPP of a recording's atoms against its annotations, and its result file.

The atoms' occurrence times are those of every other output
(:func:`cdl.model.occurrences.find_occurrences`): local maxima of the
activations timed at the peak of each atom's ``|v|``, so a latency ``m`` is
the delay from the stimulus to that peak. The result is kept in
``dripp.npz`` (no pickle) so that ``cdl report`` can rebuild the DriPP
section of a report.
"""
import json
from pathlib import Path

import numpy as np

from cdl.dripp import DriPP, drivers_from_annotations, events_from_activations
from cdl.dripp.checks import support_report
from cdl.utils.files import write_npz_atomic
from cdl.utils.log import logger

_HEADER = "__cdl_dripp__"


def driver_names_of(annotations, drivers=None):
    """Annotation types used as DriPP drivers.

    Parameters
    ----------
    annotations : mne.Annotations
    drivers : list of str | None
        Wanted descriptions (checked); None: all but BAD/EDGE and atoms.

    Returns
    -------
    names : list of str
    """
    available = sorted({str(d) for d in annotations.description})
    usable = [d for d in available if not d.upper().startswith(("BAD", "EDGE"))
              and not d.startswith("atom_")]
    if drivers is None:
        if not usable:
            raise ValueError(f"The recording has no annotation to use as a "
                             f"driver (found {available or 'none'}).")
        return usable
    missing = [d for d in drivers if d not in available]
    if missing:
        raise ValueError(f"No annotation {missing} in the recording; it has "
                         f"{available or 'none'}.")
    return list(drivers)


def occurrence_times(recording, z, v, percentile=0.):
    """Occurrence times (s) of each atom in the recording's time line.

    Parameters
    ----------
    recording : data_fetchers.Recording
        Gives the trial layout and the sampling rate.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of the recording.
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms: occurrences are timed at the peak of ``|v_k|``.
    percentile : float
        Keep the occurrences above this percentile of each atom's amplitudes.

    Returns
    -------
    atom_times : list of ndarray
    t_max : float
        End of the last trial, in s.
    segments : list of tuple of float
        ``(start, stop)`` of each trial, in s.
    """
    sfreq, n_times = recording.sfreq, recording.X.shape[2]
    starts = np.asarray(recording.trial_starts)
    atom_times = events_from_activations(
        np.maximum(np.asarray(z), 0), sfreq, threshold="percentile",
        value=percentile, v=v, trial_starts=starts, verbose=False)
    segments = [(s / sfreq, (s + n_times) / sfreq) for s in starts]
    return atom_times, (int(starts.max()) + n_times) / sfreq, segments


def run_dripp(recording, z, v=None, drivers=None, lower=0.03, upper=0.8,
              percentile=0., n_boot=100, null="shift", n_null=99,
              random_state=0):
    """DriPP of every atom against every annotation type of a recording.

    Parameters
    ----------
    recording : data_fetchers.Recording
        Gives the annotations, trial layout and sampling rate.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of the recording.
    v : ndarray of shape (n_atoms, n_times_atom) | None
        The atoms' waveforms: occurrences timed at the peak of ``|v_k|``
        (None: at the window start).
    drivers : list of str | None
        Annotation descriptions used as drivers; None: all but BAD/EDGE.
    lower, upper : float
        Kernel support (s after each driver event), checked against the
        data (:func:`cdl.dripp.checks.support_report`).
    percentile : float
        Keep the occurrences above this percentile of each atom's amplitudes.
    n_boot : int
        Bootstrap replicates for the confidence intervals (0: none).
    null : 'shift' | 'chi2' | 'chibar' | 'bootstrap'
        Null distribution of the likelihood-ratio tests (see
        :mod:`cdl.dripp.stats`): 'shift' (circular shifts of each atom's
        occurrences) is calibrated for occurrences of CDL atoms; 'chi2' is
        fast and liberal for atoms with few occurrences.
    n_null : int
        Shifts or simulations of the 'shift' and 'bootstrap' nulls.
    random_state : int | None
        Seed of the bootstraps.

    Returns
    -------
    result : dict
        ``dripp`` (fitted :class:`cdl.dripp.DriPP`, with ``flags_``),
        ``driver_names``, ``lrt``, ``ci`` (None if ``n_boot=0``),
        ``support`` (the support report) and ``percentile``.
    """
    names = driver_names_of(recording.annotations, drivers)
    atom_times, t_max, segments = occurrence_times(recording, z, v, percentile)
    annotations = recording.annotations
    first_samp = recording.first_samp if annotations.orig_time is not None else 0
    driver_times, names = drivers_from_annotations(annotations, recording.sfreq,
                                                   names, first_samp)
    driver_times = [d[(d >= 0) & (d <= t_max)] for d in driver_times]
    support = support_report(lower, upper, driver_times, t_max, segments)
    for note in support["notes"]:
        logger.warning("DriPP: %s", note)
    dripp = DriPP(lower=lower, upper=upper, sfreq=recording.sfreq)
    dripp.fit(atom_times, driver_times, t_max)
    lrt = dripp.likelihood_ratio_test(null=null, n_boot=n_null,
                                      random_state=random_state)
    ci = None
    if n_boot:
        logger.info("Bootstrap confidence intervals (%d replicates)", n_boot)
        ci = dripp.bootstrap_ci(n_boot=n_boot, random_state=random_state)
        ci.pop("replicates", None)
        ci["level"] = 0.95
    return dict(dripp=dripp, driver_names=names, lrt=lrt, ci=ci,
                support=support, percentile=float(percentile))


def save_dripp(fname, result, recording_file=None):
    """Write a :func:`run_dripp` result to ``fname`` (``.npz``, no pickle).

    Parameters
    ----------
    fname : path-like
    result : dict
        From :func:`run_dripp`.
    recording_file : str | None
        The recording the result comes from.

    Returns
    -------
    fname : Path
    """
    dripp = result["dripp"]
    arrays = dict(baseline=dripp.baseline_, alpha=dripp.alpha_, m=dripp.m_,
                  sigma=dripp.sigma_, pvalue=result["lrt"]["pvalue"],
                  statistic=result["lrt"]["statistic"])
    for prefix, times in (("atom", dripp.atom_times_),
                          ("driver", dripp.driver_times_)):
        arrays[f"{prefix}_times"] = np.concatenate(times)
        arrays[f"{prefix}_counts"] = np.array([t.size for t in times])
    ci = result["ci"]
    if ci is not None:
        arrays.update({f"ci_{k}": np.asarray(ci[k])
                       for k in ("baseline", "alpha", "m", "sigma")})
    header = dict(lower=dripp.lower, upper=dripp.upper, sfreq=dripp.sfreq,
                  t_max=dripp.t_max_, sigma_min=dripp.sigma_min_,
                  flags=dripp.flags_, driver_names=result["driver_names"],
                  null=result["lrt"]["null"], support=result["support"],
                  percentile=result["percentile"], recording=recording_file,
                  ci_level=None if ci is None else ci["level"])
    return write_npz_atomic(Path(fname), arrays, header, _HEADER)


def load_dripp(fname):
    """Read a DriPP result written by :func:`save_dripp`.

    Parameters
    ----------
    fname : path-like

    Returns
    -------
    result : dict
        As :func:`run_dripp` returns it (the DriPP estimator rebuilt with its
        fitted attributes), plus ``recording``.
    """
    with np.load(fname, allow_pickle=False) as npz:
        if _HEADER not in npz.files:
            raise ValueError(f"{fname} is not a DriPP result of cdl dripp.")
        header = json.loads(str(npz[_HEADER][()]))
        arrays = {k: np.array(npz[k]) for k in npz.files if k != _HEADER}
    dripp = DriPP(lower=header["lower"], upper=header["upper"],
                  sfreq=header["sfreq"])
    dripp.baseline_, dripp.alpha_ = arrays["baseline"], arrays["alpha"]
    dripp.m_, dripp.sigma_ = arrays["m"], arrays["sigma"]
    dripp.atom_times_, dripp.driver_times_ = (
        np.split(arrays[f"{p}_times"], np.cumsum(arrays[f"{p}_counts"])[:-1])
        for p in ("atom", "driver"))
    dripp.t_max_, dripp.sigma_min_ = header["t_max"], header["sigma_min"]
    dripp.flags_ = header["flags"]
    ci = None
    if "ci_alpha" in arrays:
        ci = {k: arrays[f"ci_{k}"] for k in ("baseline", "alpha", "m", "sigma")}
        ci["level"] = header["ci_level"]
    lrt = dict(pvalue=arrays["pvalue"], statistic=arrays["statistic"],
               null=header["null"])
    return dict(dripp=dripp, driver_names=header["driver_names"], lrt=lrt,
                ci=ci, support=header["support"],
                percentile=header["percentile"], recording=header["recording"])
