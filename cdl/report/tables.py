"""The tables of the report and of the command line: atoms, occurrences, DriPP."""
from html import escape

import numpy as np

from cdl.model.occurrences import local_maxima
from cdl.viz import waveform_spectrum


def dripp_table(dripp, driver_names, lrt=None, ci=None):
    """One row per (atom, driver): parameters, confidence intervals, p-value.

    Parameters
    ----------
    dripp : cdl.dripp.DriPP
        Fitted estimator.
    driver_names : list of str
        Name of each driver.
    lrt, ci : dict | None
        Results of ``likelihood_ratio_test`` and ``bootstrap_ci``.

    Returns
    -------
    rows : list of dict
        Keys ``atom, driver, n_events, baseline, alpha, m, sigma`` (with
        ``[low, high]`` intervals when ``ci`` is given) and ``p_value``.
    """
    rows = []
    n_atoms, n_drivers = np.shape(dripp.alpha_)
    for k in range(n_atoms):
        for p in range(n_drivers):
            row = dict(atom=k, driver=driver_names[p],
                       n_events=len(dripp.atom_times_[k]))
            row["baseline"] = _with_ci(dripp.baseline_[k],
                                       None if ci is None else ci["baseline"][k])
            for name in ("alpha", "m", "sigma"):
                value = getattr(dripp, name + "_")[k, p]
                row[name] = _with_ci(value, None if ci is None else ci[name][k, p])
            if lrt is not None:
                row["p_value"] = float(lrt["pvalue"][k, p])
            rows.append(row)
    return rows


def _with_ci(value, interval):
    if interval is None:
        return float(value)
    return f"{value:.3g} [{interval[0]:.3g}, {interval[1]:.3g}]"


#: Frequency bands (Hz) of :func:`atom_features`.
BANDS = dict(delta=(0.5, 4.), theta=(4., 8.), alpha=(8., 13.), beta=(13., 30.),
             gamma=(30., 80.))


def atom_features(model, info=None, sfreq=None, n_top=3):
    """What each atom looks like: where it is strongest and its spectrum.

    Parameters
    ----------
    model : fitted CDL estimator
        Gives ``u_hat_`` and ``v_hat_``.
    info : mne.Info | None
        Channel names and sampling rate (default ``model.info_``).
    sfreq : float | None
        Sampling rate (default from ``info``).
    n_top : int
        Number of channels listed, by decreasing ``|u|``.

    Returns
    -------
    rows : list of dict
        Per atom: ``atom``, ``top_channels`` (comma-separated),
        ``peak_hz`` (peak of the waveform's power spectrum) and the fraction
        of that power in each band of :data:`BANDS` (keys ``delta`` ...).
    """
    info = info if info is not None else getattr(model, "info_", None)
    sfreq = sfreq or (float(info["sfreq"]) if info is not None else 1.)
    names = list(info["ch_names"]) if info is not None else None
    rows = []
    for k, (u, v) in enumerate(zip(model.u_hat_, model.v_hat_)):
        top = np.argsort(-np.abs(u))[:n_top]
        freqs, power = waveform_spectrum(v - v.mean(), sfreq)
        total = power[freqs >= BANDS["delta"][0]].sum() or 1.
        row = dict(atom=k, top_channels=", ".join(
            names[i] if names else str(i) for i in top),
            peak_hz=float(freqs[np.argmax(power)]))
        for band, (low, high) in BANDS.items():
            row[band] = float(power[(freqs >= low) & (freqs < high)].sum() / total)
        rows.append(row)
    return rows


def activation_counts(z, sfreq):
    """How often each atom occurs.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    rows : list of dict
        Per atom: ``atom``, ``occurrences`` (positive local maxima of the
        activations), ``rate_per_s`` and ``mean_amplitude`` of those maxima.
    """
    z = np.asarray(z)
    duration = z.shape[0] * z.shape[2] / sfreq
    rows = []
    for k in range(z.shape[1]):
        peaks = local_maxima(z[:, k])
        amplitudes = z[:, k][peaks]
        rows.append(dict(atom=k, occurrences=int(peaks.sum()),
                         rate_per_s=peaks.sum() / duration,
                         mean_amplitude=float(amplitudes.mean())
                         if amplitudes.size else 0.))
    return rows


def model_parameters(model):
    """Scalar parameters of a model and what its fit gave.

    Parameters
    ----------
    model : fitted CDL estimator

    Returns
    -------
    params : dict
        Parameters that are numbers, strings, booleans or None, plus
        ``n_iter_done`` and ``final_objective``.
    """
    params = {k: v for k, v in sorted(model.get_params().items())
              if isinstance(v, (int, float, str, bool, type(None)))}
    params.update(n_iter_done=int(model.n_iter_),
                  final_objective=float(model.pobj_[-1]))
    return params


def table(rows):
    """Small HTML table from a list of dicts with the same keys.

    Parameters
    ----------
    rows : list of dict
        One dict per row; the keys of the first one are the columns.

    Returns
    -------
    html : str
    """
    keys = list(rows[0])
    head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(r[k]))}</td>" for k in keys)
                   + "</tr>" for r in rows)
    return f"<table class='table table-sm'><tr>{head}</tr>{body}</table>"


def key_value_table(mapping):
    """Two-column HTML table (name, value) of a dict.

    Parameters
    ----------
    mapping : dict

    Returns
    -------
    html : str
    """
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>"
                   for k, v in mapping.items())
    return f"<table class='table table-sm'>{body}</table>"


def _fmt(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return ", ".join(map(str, value[:8])) + f", ... ({len(value)} items)"
    if isinstance(value, dict) and len(value) > 8:
        return f"{len(value)} entries"
    return str(value)
