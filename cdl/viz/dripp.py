"""Figure of a fitted DriPP intensity."""
import numpy as np

from ._mpl import maybe_show, pyplot


def plot_dripp_intensity(dripp, tmin=0., tmax=30., atoms=None,
                         driver_names=None, show=True):
    """Fitted DriPP intensity of each atom over a stretch of the recording.

    Parameters
    ----------
    dripp : cdl.dripp.DriPP
        Fitted estimator.
    tmin, tmax : float
        Stretch shown, in seconds.
    atoms : list of int | None
        Atoms to show (all by default).
    driver_names : list of str | None
        Legend labels of the drivers.
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
        One row per atom: the intensity (events per second), the atom's
        events (black ticks) and the driver events (coloured lines).
    """
    plt = pyplot()
    n_atoms, n_drivers = np.shape(dripp.alpha_)
    atoms = list(range(n_atoms) if atoms is None else atoms)
    names = driver_names or [f"driver {p}" for p in range(n_drivers)]
    tmax = min(tmax, dripp.t_max_)
    if not tmax > tmin:
        raise ValueError(f"tmax must be larger than tmin, got {tmin}, {tmax}.")
    t = np.linspace(tmin, tmax, int(np.clip((tmax - tmin) / 0.005, 2000, 20000)))
    lam = dripp.intensity(t)
    fig, axes = plt.subplots(len(atoms), 1, sharex=True, squeeze=False,
                             figsize=(10, 1.6 * len(atoms) + 0.8))
    for ax, k in zip(axes[:, 0], atoms):
        ax.plot(t, lam[k], color="k", lw=1)
        top = lam[k].max()
        for p, times in enumerate(dripp.driver_times_):
            shown = times[(times >= tmin) & (times <= tmax)]
            ax.vlines(shown, 0, top, color=f"C{p}", lw=0.8, alpha=0.7,
                      label=names[p])
        events = dripp.atom_times_[k]
        events = events[(events >= tmin) & (events <= tmax)]
        ax.plot(events, np.full(len(events), -0.05 * top), "|", color="k",
                markersize=6)
        ax.set_ylabel(f"atom {k}\n(1/s)")
    axes[0, 0].legend(fontsize="small", ncol=n_drivers, loc="upper right")
    axes[-1, 0].set_xlabel("Time (s)")
    fig.suptitle("DriPP intensity (black), atom events (ticks), drivers (lines)")
    fig.tight_layout()
    return maybe_show(fig, show)
