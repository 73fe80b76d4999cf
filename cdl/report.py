"""HTML reports through mne.Report, built from the figures of :mod:`cdl.viz`.

:func:`make_report` shows a fitted model (data summary, parameters, one figure
per atom, activations, atom-locked averages, convergence);
:func:`add_dripp_section` adds the DriPP analysis of its activations.
"""
from html import escape

import numpy as np

from . import viz


def make_report(model, title="Convolutional dictionary learning", info=None,
                sfreq=None, data_summary=None, recovery=None, X=None, z=None,
                preprocessing=None):
    """Build an mne.Report with the atoms, activations and convergence of a model.

    Parameters
    ----------
    model : fitted CDL estimator
    title : str
        Report title.
    info : mne.Info | None
        Channel positions for topomaps (default ``model.info_``).
    sfreq : float | None
        Sampling frequency (default from ``info``).
    data_summary : dict | None
        Shown as a table in a 'Data' section (e.g. file, channels, duration).
    recovery : list of dict | None
        Rows of a recovery table (used by the demo, which knows the truth).
    X : ndarray of shape (n_trials, n_channels, n_times) | None
        The signal of the activations; adds the atom-locked averages
        (:func:`cdl.viz.plot_atom_evoked`).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations to show; default ``model.z_hat_`` (give those of ``X``
        when ``X`` is not the signal the model was fitted on).
    preprocessing : dict | None
        What was applied to the recording, shown as a table.

    Returns
    -------
    report : mne.Report
        One figure per atom in the 'Atoms' section (titled ``Atom <k>``);
        save it with ``report.save(fname)``.
    """
    import matplotlib.pyplot as plt
    import mne

    info = info if info is not None else getattr(model, "info_", None)
    sfreq = sfreq or (info["sfreq"] if info is not None else 1.)
    z = model.z_hat_ if z is None else np.asarray(z)
    report = mne.Report(title=title, verbose=False)
    if data_summary:
        report.add_html(key_value_table(data_summary), title="Data",
                        section="Summary")
    if preprocessing:
        report.add_html(key_value_table(preprocessing), title="Preprocessing",
                        section="Summary")
    report.add_html(key_value_table(model_parameters(model)), title="Parameters",
                    section="Summary")
    if recovery:
        report.add_html(table(recovery), title="Recovery of the true atoms",
                        section="Summary")
    report.add_html(table(atom_features(model, info=info, sfreq=sfreq)),
                    title="Atom summary", section="Atoms")
    for k in range(model.u_hat_.shape[0]):
        fig = viz.plot_atoms(model, info=info, sfreq=sfreq, atoms=[k], show=False)
        report.add_figure(fig, title=f"Atom {k}", section="Atoms")
        plt.close(fig)
    report.add_html(table(activation_counts(z, sfreq)),
                    title="Occurrences per atom", section="Activations")
    fig = viz.plot_activations(z, sfreq=sfreq, show=False)
    report.add_figure(fig, title="Activations (trial 0)", section="Activations")
    plt.close(fig)
    if X is not None:
        fig = viz.plot_atom_evoked(model, X, z=z, info=info, show=False)
        report.add_figure(
            fig, title="Signal averaged on atom occurrences",
            caption="Grey: every channel; colour: the atom's component at "
                    "its strongest channel (average projected on its spatial "
                    "pattern); dashed: the atom's waveform, scaled.",
            section="Atom-locked averages")
        plt.close(fig)
    fig = viz.plot_convergence(model.pobj_, model.times_, show=False)
    report.add_figure(fig, title="Convergence", section="Convergence")
    plt.close(fig)
    return report


def add_dripp_section(report, dripp, driver_names, lrt=None, ci=None,
                      window=(0., 30.)):
    """Add the DriPP fit of the atom activations to a report.

    Parameters
    ----------
    report : mne.Report
        Modified in place.
    dripp : cdl.dripp.DriPP
        Fitted on the atoms' events against the drivers.
    driver_names : list of str
        Name of each driver (annotation description).
    lrt : dict | None
        Result of ``dripp.likelihood_ratio_test()`` (p-values).
    ci : dict | None
        Result of ``dripp.bootstrap_ci()`` (confidence intervals).
    window : tuple of float
        Stretch of the recording (seconds) for the intensity curves.

    Returns
    -------
    report : mne.Report
        The same report, with a 'DriPP' section: parameter table, kernels
        and intensity curves.
    """
    import matplotlib.pyplot as plt

    rows = dripp_table(dripp, driver_names, lrt, ci)
    notes = [("alpha: expected extra occurrences per driver event; m, sigma: "
              "latency and jitter (s) of the kernel, a Gaussian truncated to "
              f"[{dripp.lower:g}, {dripp.upper:g}] s; baseline: occurrences "
              "per second.")]
    if ci is not None:
        notes.append(f"[low, high]: {ci.get('level', 0.95):.0%} bootstrap "
                     f"intervals (driver epochs resampled).")
    if lrt is not None:
        notes.append(f"p_value: likelihood-ratio test of alpha = 0, null "
                     f"'{lrt['null']}' (chi2 is slightly liberal, bootstrap "
                     f"calibrated); {len(rows)} tests, not corrected for "
                     f"multiple comparisons.")
    report.add_html(table(rows) + "".join(f"<p><small>{escape(n)}</small></p>"
                                          for n in notes),
                    title="DriPP parameters", section="DriPP")
    fig = dripp.plot_kernels(driver_names=driver_names, show=False)
    report.add_figure(fig, title="DriPP kernels",
                      caption="baseline + alpha x kernel against the delay after "
                              "each driver (dashed: baseline).", section="DriPP")
    plt.close(fig)
    fig = viz.plot_dripp_intensity(dripp, *window, driver_names=driver_names,
                                   show=False)
    report.add_figure(fig, title="DriPP intensity", section="DriPP")
    plt.close(fig)
    return report


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
        freqs, power = viz.waveform_spectrum(v - v.mean(), sfreq)
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
        peaks = viz._local_maxima(z[:, k])
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
