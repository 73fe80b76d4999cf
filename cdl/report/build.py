"""HTML reports through mne.Report, built from the figures of :mod:`cdl.viz`.

:func:`make_report` shows a fitted model (data summary, parameters, one figure
per atom, activations, atom-locked averages, convergence);
:func:`add_dripp_section` adds the DriPP analysis of its activations. The
tables come from :mod:`cdl.report.tables`.
"""
from html import escape

import numpy as np

from cdl import viz
from cdl.dripp.checks import FLAGS
from cdl.io.channels import channel_types

from .tables import (
    activation_counts,
    atom_summary,
    dripp_display,
    dripp_table,
    key_value_table,
    model_parameters,
    table,
)


def make_report(model, title="Convolutional dictionary learning", info=None,
                sfreq=None, data_summary=None, recovery=None, X=None, z=None,
                preprocessing=None, status=None, averages_note=None):
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
    status : str | None
        A warning shown first (e.g. the fit was interrupted).
    averages_note : str | None
        Without ``X``: why there are no atom-locked averages, shown in their
        section (which is then never missing).

    Returns
    -------
    report : mne.Report
        One figure per atom in the 'Atoms' section (titled ``Atom <k>``,
        one topomap per channel type); save it with ``report.save(fname)``.
    """
    import matplotlib.pyplot as plt
    import mne

    info = info if info is not None else getattr(model, "info_", None)
    sfreq = sfreq or (info["sfreq"] if info is not None else 1.)
    z = model.z_hat_ if z is None else np.asarray(z)
    report = mne.Report(title=title, verbose=False)
    if status:
        report.add_html(f"<p><b>{escape(status)}</b></p>", title="Status",
                        section="Summary")
    if data_summary:
        report.add_html(key_value_table(data_summary), title="Data",
                        section="Summary")
    if preprocessing:
        report.add_html(key_value_table(preprocessing), title="Preprocessing",
                        section="Summary")
    report.add_html(key_value_table(model_parameters(model)), title="Parameters",
                    section="Summary")
    scalings = getattr(model, "scalings_", None)
    if scalings:
        report.add_html(table(scaling_rows(scalings, info)) + _SCALING_NOTE,
                        title="Channel types", section="Summary")
    if recovery:
        report.add_html(table(recovery), title="Recovery of the true atoms",
                        section="Summary")
    report.add_html(table(atom_summary(model, z=z, info=info, sfreq=sfreq))
                    + _LABEL_NOTE, title="Atom summary", section="Atoms")
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
            caption="Time 0: each occurrence, at the peak of the atom's |v|. "
                    "Grey: every channel, divided by its type's factor; "
                    "colour: the atom's course (its pattern u applied to the "
                    "average); dashed: the atom's waveform, scaled; "
                    "topomaps: the average at the course's peak, per channel "
                    "type, in physical units.",
            section="Atom-locked averages")
        plt.close(fig)
    else:
        report.add_html(f"<p>{escape(averages_note or _NO_AVERAGES)}</p>",
                        title="Signal averaged on atom occurrences",
                        section="Atom-locked averages")
    fig = viz.plot_convergence(model.pobj_, model.times_, show=False)
    report.add_figure(fig, title="Convergence", section="Convergence")
    plt.close(fig)
    return report


_NO_AVERAGES = ("No recording was given: the atom-locked averages need the "
                "recording the activations come from.")
_LABEL_NOTE = ("<p><small>label: a description from where the atom is strongest "
               "and the peak of its spectrum (blink-like: frontal, below 4 Hz; "
               "eye-movement-like: lateral frontal channels of one side, below "
               "4 Hz; "
               "alpha: occipital or parietal, 8-13 Hz; mu: central, 8-13 Hz; "
               "two bands, e.g. 'occipital delta/beta', when the band of the "
               "peak is not the band holding most of the power; "
               "rules in cdl.model.diagnostics), not a classification. "
               "model_share: the energy of the signal the atom models alone, "
               "u (z * v), as a share of the sum over atoms (a rare atom with "
               "a large share models a few large events; a rare atom with a "
               "small share is nearly unused). flags: "
               "rare (fewer occurrences than atom revival's threshold, 5 by "
               "default) or duplicate of another atom (|corr| of the patterns "
               "and of the waveforms at their best lag above 0.9).</small></p>")
_SCALING_NOTE = ("<p><small>Each channel type was divided by its factor before "
                 "fitting (see cdl.io.scaling); topomaps undo it: they show the "
                 "field pattern in physical units (fT, fT/cm, uV per unit of "
                 "z * v).</small></p>")


def scaling_rows(scalings, info=None):
    """Rows of the 'Channel types' table: type, channels, factor, unit.

    Parameters
    ----------
    scalings : dict of str to float
    info : mne.Info | None
        Counts the channels of each type.

    Returns
    -------
    rows : list of dict
    """
    types = channel_types(info) if info is not None else []
    return [dict(type=t, channels=types.count(t) if types else "-",
                 factor=f"{f:.3g}", unit=_SI_UNITS.get(t, "-"))
            for t, f in scalings.items()]


_SI_UNITS = dict(mag="T", grad="T/m", eeg="V", seeg="V", ecog="V", dbs="V",
                 csd="V/m2", ref_meg="T")


def add_dripp_section(report, dripp, driver_names, lrt=None, ci=None,
                      support=None, window=(0., 30.)):
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
    support : dict | None
        From :func:`cdl.dripp.checks.support_report`: what the data hold
        after each driver event, shown with its notes.
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
              f"[{dripp.lower:g}, {dripp.upper:g}] s (m stays in it); the "
              "latency is from the driver event to the occurrence, timed at "
              "the peak of the atom's |v|; baseline: occurrences per second.")]
    if support is not None:
        notes.append(_support_text(support))
        notes += support["notes"]
    used = sorted({f for row in rows for f in row["flags"].split(";") if f})
    notes += [f"flag {name}: {FLAGS[name]}." for name in used]
    if ci is not None:
        notes.append(f"[low, high]: {ci.get('level', 0.95):.0%} bootstrap "
                     f"intervals (driver epochs resampled).")
    if lrt is not None:
        notes.append(f"p_value: likelihood-ratio test of alpha = 0, null "
                     f"'{lrt['null']}' ({_NULLS.get(lrt['null'], '')}); "
                     f"{len(rows)} tests, not corrected for multiple "
                     f"comparisons.")
    report.add_html(table(dripp_display(rows))
                    + "".join(f"<p><small>{escape(n)}</small></p>" for n in notes),
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


_NULLS = dict(
    shift="each atom's occurrences shifted at random between driver events; "
          "calibrated for atoms not locked to them",
    chi2="chi2 with 3 degrees of freedom: liberal for atoms with few "
         "occurrences or bursts",
    chibar="chi-bar: anti-conservative, for comparison only",
    bootstrap="Poisson simulations of the baseline")


def _support_text(support):
    median = support["median_interval"]
    shortest = support.get("shortest_delay")
    return (f"Kernel support [{support['lower']:g}, {support['upper']:g}] s: "
            f"{support['n_full_support']} of {support['n_driver_events']} driver "
            f"events have all of it in the data"
            + ("" if shortest is None else f" (the shortest stretch of data "
               f"after an event is {shortest:.3g} s)")
            + f"; median interval between driver events "
            f"{'-' if median is None else format(median, '.3g')} s.")
