"""DriPP of a recording's atoms against its annotations (see :mod:`cdl.pipeline`)."""
import numpy as np

from cdl.dripp import fit_dripp_from_annotations
from cdl.utils.log import logger


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


def run_dripp(recording, z, drivers=None, lower=0.03, upper=0.8, percentile=0.,
              n_boot=100, null="chi2", n_null=99, random_state=0):
    """DriPP of every atom against every annotation type of a recording.

    Parameters
    ----------
    recording : data_fetchers.Recording
        Gives the annotations, trial layout and sampling rate.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of the recording.
    drivers : list of str | None
        Annotation descriptions used as drivers; None: all but BAD/EDGE.
    lower, upper : float
        Kernel support (s after each driver event).
    percentile : float
        Keep the activation peaks above this percentile of each atom's peaks.
    n_boot : int
        Bootstrap replicates for the confidence intervals (0: none).
    null : 'chi2' | 'chibar' | 'bootstrap'
        Null distribution of the likelihood-ratio tests (see
        :mod:`cdl.dripp.stats`: 'chi2' is fast and slightly liberal,
        'bootstrap' calibrated and slower).
    n_null : int
        Simulations of the 'bootstrap' null.
    random_state : int | None
        Seed of the bootstraps.

    Returns
    -------
    result : dict
        ``dripp`` (fitted :class:`cdl.dripp.DriPP`), ``driver_names``,
        ``lrt`` (likelihood-ratio tests) and ``ci`` (None if ``n_boot=0``).
    """

    names = driver_names_of(recording.annotations, drivers)
    z = np.asarray(z)
    _, n_atoms, n_valid = z.shape
    starts = np.asarray(recording.trial_starts)
    n_total = int(starts.max()) + recording.X.shape[2]
    z_cont = np.zeros((n_atoms, n_total))  # trials back in their place in time
    for n, start in enumerate(starts):
        z_cont[:, start:start + n_valid] = np.maximum(z[n], 0)
    annotations = recording.annotations
    first_samp = recording.first_samp if annotations.orig_time is not None else 0
    dripp, names = fit_dripp_from_annotations(
        z_cont, recording.sfreq, annotations, event_id=names, lower=lower,
        upper=upper, threshold="percentile", value=percentile,
        first_samp=first_samp, t_max=n_total / recording.sfreq)
    lrt = dripp.likelihood_ratio_test(null=null, n_boot=n_null,
                                      random_state=random_state)
    ci = None
    if n_boot:
        logger.info("Bootstrap confidence intervals (%d replicates)", n_boot)
        ci = dripp.bootstrap_ci(n_boot=n_boot, random_state=random_state)
    return dict(dripp=dripp, driver_names=names, lrt=lrt, ci=ci)
