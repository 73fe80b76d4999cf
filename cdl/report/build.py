"""HTML reports through mne.Report, built from the figures of :mod:`cdl.viz`.

:func:`make_report` shows a fitted model (data summary, parameters, one figure
per atom, activations, atom-locked averages, convergence);
:func:`add_dripp_section` adds the DriPP analysis of its activations. The
tables come from :mod:`cdl.report.tables`.
"""
from html import escape

import numpy as np

from cdl import viz

from .tables import (
    activation_counts,
    atom_features,
    dripp_table,
    key_value_table,
    model_parameters,
    table,
)


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
