"""Figures of the activations, atom-locked averages and convergence."""
import numpy as np

from cdl.io.channels import channel_types
from cdl.io.from_mne import mne_to_X
from cdl.io.scaling import apply_type_scalings
from cdl.model.occurrences import local_maxima

from ._mpl import fixed_layout, maybe_show, pyplot
from .atoms import _uv_of
from .topomaps import n_topomaps, plot_topomaps


def plot_activations(z, sfreq=1., trial=0, atoms=None, show=True):
    """Activation rasters: one row per atom, a stem at each occurrence.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations (e.g. ``model.z_hat_``).
    sfreq : float
        Sampling frequency for a time axis in seconds.
    trial : int
        Trial to show.
    atoms : list of int | None
        Atoms to show (all by default).
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
    """
    plt = pyplot()
    z = np.asarray(z)
    atoms = list(range(z.shape[1]) if atoms is None else atoms)
    fig, axes = plt.subplots(len(atoms), 1, figsize=(10, 1.2 * len(atoms) + 0.6),
                             sharex=True, squeeze=False)
    times = np.arange(z.shape[2]) / sfreq
    for ax, k in zip(axes[:, 0], atoms):
        idx = np.flatnonzero(z[trial, k])
        ax.vlines(times[idx], 0, z[trial, k, idx], color=f"C{k % 10}")
        ax.set_ylabel(f"Atom {k}")
        ax.set_ylim(min(0, z[trial, k].min()) * 1.05,
                    max(z[trial, k].max(), 1e-12) * 1.05)
    axes[-1, 0].set_xlabel("Time (s)" if sfreq != 1 else "Time (samples)")
    fig.tight_layout()
    return maybe_show(fig, show)


def plot_convergence(pobj, times=None, show=True):
    """Objective against iterations (and time if given).

    Parameters
    ----------
    pobj : array-like
        Objective values (e.g. ``model.pobj_``).
    times : array-like | None
        Cumulative times of the same entries.
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
    """
    plt = pyplot()
    pobj = np.asarray(pobj, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.asarray(times) if times is not None else np.arange(len(pobj)) / 2.
    excess = pobj - pobj.min() + 1e-12 * max(abs(pobj.min()), 1.)
    ax.semilogy(x, excess, marker=".")
    ax.set(xlabel="Time (s)" if times is not None else "Iteration",
           ylabel="Objective - final objective", title="Convergence")
    fig.tight_layout()
    return maybe_show(fig, show)


def atom_locked_average(X, z, atom, n_before, n_after, n_max=None, offset=0):
    """Average of ``X`` over windows locked on the occurrences of one atom.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Signal.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations of ``X``.
    atom : int
        Atom index.
    n_before, n_after : int
        Samples kept before and after each occurrence's time; windows that
        leave the trial are dropped.
    n_max : int | None
        Keep only the ``n_max`` occurrences of largest amplitude.
    offset : int
        Timing offset of the atom (sample of its waveform at which the
        occurrences are timed, e.g. ``argmax |v|``; 0: the window start).

    Returns
    -------
    average : ndarray of shape (n_channels, n_before + n_after) | None
        None when no occurrence fits.
    n_occurrences : int
        Number of windows averaged. Occurrences are those of
        :func:`cdl.model.occurrences.find_occurrences` (local maxima of
        ``z[:, atom]``), at window start + ``offset``.
    """
    z_k = np.asarray(z)[:, atom]
    trial, start = np.nonzero(local_maxima(z_k))
    t = start + int(offset)
    keep = (t - n_before >= 0) & (t + n_after <= X.shape[2])
    trial, t, start = trial[keep], t[keep], start[keep]
    if n_max is not None and len(t) > n_max:
        order = np.argsort(-z_k[trial, start], kind="stable")[:n_max]
        trial, t = trial[order], t[order]
    if len(t) == 0:
        return None, 0
    offsets = np.arange(-n_before, n_after)
    total = np.zeros((n_before + n_after, X.shape[1]))
    for first in range(0, len(t), 256):  # chunks bound the memory used
        sl = slice(first, first + 256)
        # advanced indices around a slice: shape (n_occ, n_win, n_channels)
        total += X[trial[sl, None], :, t[sl, None] + offsets].sum(axis=0)
    return total.T / len(t), len(t)


def plot_atom_evoked(model, X, z=None, info=None, atoms=None, tmin=None,
                     tmax=None, n_max=None, scalings=None, show=True):
    """Signal averaged on the occurrences of each atom (an "atom-evoked").

    Parameters
    ----------
    model : fitted CDL estimator
        Gives ``u_hat_``, ``v_hat_``, ``n_times_atom`` and (default) ``z_hat_``.
    X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
        The signal the activations come from, as the model sees it (an array
        in the model's scaled space; an MNE object is read on the model's
        channels and divided by its ``scalings_``).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations of ``X``; default ``model.z_hat_``.
    info : mne.Info | None
        Channel positions and sampling rate (default ``model.info_``).
    atoms : list of int | None
        Atoms to show (all by default).
    tmin, tmax : float | None
        Window in seconds around each occurrence (timed at the peak of the
        atom's ``|v|``); default: the atom's window, 0.1 s more each side.
    n_max : int | None
        Average only the ``n_max`` largest occurrences of each atom.
    scalings : dict of str to float | None
        Factor per channel type (default ``model.scalings_``), to draw the
        topomaps in physical units.
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
        One row per atom: the averaged signal of every channel in the
        model's space (grey: each channel divided by its type's factor); the
        atom's course ``u_k @ average`` (colour, the atom's spatial filter in
        that space); the waveform ``v_k`` scaled to it (dashed); then one
        topomap per channel type of the average at the peak of the course,
        in physical units.
    """
    plt = pyplot()
    from matplotlib.collections import LineCollection

    u, v = _uv_of(model)
    info = info if info is not None else getattr(model, "info_", None)
    if scalings is None:
        scalings = getattr(model, "scalings_", None)
    sfreq = float(info["sfreq"]) if info is not None else 1.
    X = _model_space(X, info, scalings)
    z = np.asarray(model.z_hat_ if z is None else z)
    if X.ndim != 3 or X.shape[1] != u.shape[1] or z.shape[0] != X.shape[0]:
        raise ValueError(f"X must have shape (n_trials, {u.shape[1]}, n_times) "
                         f"with the {z.shape[0]} trial(s) of z, got {X.shape}.")
    n_times_atom = v.shape[1]
    atoms = list(range(len(u)) if atoms is None else atoms)
    n_maps = n_topomaps(info)
    fig, axes = plt.subplots(len(atoms), 1 + n_maps,
                             figsize=(6 + 2.6 * n_maps, 2.6 * len(atoms)),
                             squeeze=False,
                             gridspec_kw=dict(width_ratios=[3] + [1] * n_maps))
    for row, k in enumerate(atoms):
        ax = axes[row, 0]
        offset = int(np.argmax(np.abs(v[k])))
        start = -(offset / sfreq + 0.1) if tmin is None else tmin
        stop = (n_times_atom - offset) / sfreq + 0.1 if tmax is None else tmax
        n_before, n_after = round(-start * sfreq), round(stop * sfreq)
        if n_before + n_after < 1:
            raise ValueError(f"tmax must be larger than tmin, got {tmin}, {tmax}.")
        times = np.arange(-n_before, n_after) / sfreq
        average, n_occ = atom_locked_average(X, z, k, n_before, n_after, n_max,
                                             offset=offset)
        if average is None:
            ax.text(0.5, 0.5, "no occurrence", ha="center", va="center",
                    transform=ax.transAxes)
            for ax_topo in axes[row, 1:]:
                ax_topo.set_axis_off()
            ax.set_title(f"Atom {k}: no occurrence")
            continue
        course = u[k] @ average  # the atom's spatial filter in the model space
        # one collection for the channels: a line per channel costs a lot
        # more to create and draw (64 channels x 16 atoms in a report)
        ax.add_collection(LineCollection(
            [np.column_stack([times, channel]) for channel in average],
            colors="0.7", linewidths=0.5))
        ax.plot(times, course, color=f"C{k % 10}", lw=2, label="u @ average")
        window = np.arange(n_times_atom) - offset
        inside = (window + n_before >= 0) & (window + n_before < len(course))
        part = course[window[inside] + n_before]
        scale = (part @ v[k][inside]) / max(v[k][inside] @ v[k][inside], 1e-30)
        ax.plot(window[inside] / sfreq, scale * v[k][inside], "k--", lw=1,
                label="waveform v (scaled)")
        ax.axvline(0, color="k", lw=0.5)
        ax.set(title=f"Atom {k}: average of {n_occ} occurrences",
               xlabel="Time from occurrence, peak of |v| (s)" if info is not None
               else "Time (samples)",
               ylabel="scaled units" if scalings is not None else None)
        ax.legend(fontsize="small", loc="upper right")
        peak = int(np.argmax(np.abs(course)))
        plot_topomaps(average[:, peak], info, axes[row, 1:], scalings=scalings,
                      title=f"{times[peak]:.3f} s")
    fixed_layout(fig, len(atoms), 1 + n_maps)
    return maybe_show(fig, show)


def _model_space(X, info, scalings):
    """``X`` as an array in the model's space (MNE objects read and scaled)."""
    if not hasattr(X, "get_data"):
        return np.asarray(X)
    X, picked = mne_to_X(X, picks=None if info is None else list(info["ch_names"]))
    if scalings is not None:
        X = apply_type_scalings(X, channel_types(picked), scalings)
    return X
