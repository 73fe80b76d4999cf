"""HTML report of a fitted model, built with mne.Report from the viz figures."""
import numpy as np

from . import viz


def make_report(model, title="Convolutional dictionary learning", info=None,
                sfreq=None, data_summary=None, recovery=None):
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

    Returns
    -------
    report : mne.Report
        One figure per atom in the 'Atoms' section; save it with
        ``report.save(fname)``.
    """
    import matplotlib.pyplot as plt
    import mne

    info = info if info is not None else getattr(model, "info_", None)
    sfreq = sfreq or (info["sfreq"] if info is not None else 1.)
    report = mne.Report(title=title, verbose=False)
    if data_summary:
        report.add_html(_table([data_summary]), title="Data", section="Summary")
    params = {k: v for k, v in model.get_params().items()
              if isinstance(v, (int, float, str, bool, type(None)))}
    params.update(n_iter_done=int(model.n_iter_),
                  final_objective=float(model.pobj_[-1]))
    report.add_html(_table([params]), title="Parameters", section="Summary")
    if recovery:
        report.add_html(_table(recovery), title="Recovery of the true atoms",
                        section="Summary")
    for k in range(model.u_hat_.shape[0]):
        fig = viz.plot_atoms(model, info=info, sfreq=sfreq, atoms=[k], show=False)
        report.add_figure(fig, title=f"Atom {k}", section="Atoms")
        plt.close(fig)
    fig = viz.plot_activations(model.z_hat_, sfreq=sfreq, show=False)
    report.add_figure(fig, title="Activations (trial 0)", section="Activations")
    plt.close(fig)
    fig = viz.plot_convergence(model.pobj_, model.times_, show=False)
    report.add_figure(fig, title="Convergence", section="Convergence")
    plt.close(fig)
    return report


def _table(rows):
    """Small HTML table from a list of dicts with the same keys."""
    from html import escape
    keys = list(rows[0])
    head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(r[k]))}</td>" for k in keys)
                   + "</tr>" for r in rows)
    return f"<table class='table table-sm'><tr>{head}</tr>{body}</table>"


def _fmt(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)
