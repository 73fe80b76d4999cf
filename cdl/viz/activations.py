"""Figures of the activations, atom-locked averages and convergence."""
import numpy as np

from cdl.io.from_mne import mne_to_X
from cdl.model.occurrences import local_maxima

from ._mpl import maybe_show, pyplot
from .atoms import (
    _uv_of,
    plot_pattern,
)


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


def atom_locked_average(X, z, atom, n_before, n_after, n_max=None):
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
        Samples kept before and after each occurrence (the atom's first
        sample); windows that leave the trial are dropped.
    n_max : int | None
        Keep only the ``n_max`` occurrences of largest amplitude.

    Returns
    -------
    average : ndarray of shape (n_channels, n_before + n_after) | None
        None when no occurrence fits.
    n_occurrences : int
        Number of windows averaged. Occurrences are the positive local
        maxima of ``z[:, atom]``.
    """
    z_k = np.asarray(z)[:, atom]
    trial, t = np.nonzero(local_maxima(z_k))
    keep = (t - n_before >= 0) & (t + n_after <= X.shape[2])
    trial, t = trial[keep], t[keep]
    if n_max is not None and len(t) > n_max:
        order = np.argsort(-z_k[trial, t], kind="stable")[:n_max]
        trial, t = trial[order], t[order]
    if len(t) == 0:
        return None, 0
    offsets = np.arange(-n_before, n_after)
    total = np.zeros((n_before + n_after, X.shape[1]))
    for start in range(0, len(t), 256):  # chunks bound the memory used
        sl = slice(start, start + 256)
        # advanced indices around a slice: shape (n_occ, n_win, n_channels)
        total += X[trial[sl, None], :, t[sl, None] + offsets].sum(axis=0)
    return total.T / len(t), len(t)


def plot_atom_evoked(model, X, z=None, info=None, atoms=None, tmin=-0.1,
                     tmax=None, n_max=None, show=True):
    """Signal averaged on the occurrences of each atom (an "atom-evoked").

    Parameters
    ----------
    model : fitted CDL estimator
        Gives ``u_hat_``, ``v_hat_``, ``n_times_atom`` and (default) ``z_hat_``.
    X : ndarray of shape (n_trials, n_channels, n_times) | mne.io.Raw | mne.Epochs
        The signal the activations come from (MNE objects are converted with
        the channels of ``info``).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations of ``X``; default ``model.z_hat_``.
    info : mne.Info | None
        Channel positions and sampling rate (default ``model.info_``).
    atoms : list of int | None
        Atoms to show (all by default).
    tmin : float
        Start of the window in seconds relative to the atom's onset.
    tmax : float | None
        End of the window; default: atom duration + 0.1 s.
    n_max : int | None
        Average only the ``n_max`` largest occurrences of each atom.
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
        One row per atom: the averaged signal of every channel (grey); the
        atom's component (the average projected on the spatial pattern
        ``u_k``, times ``u_k`` at its strongest channel: what the atom
        contributes there, in the channels' units, colour); the waveform
        ``v_k`` scaled to it (dashed); then the topomap of the average at the
        peak of the component.
    """
    plt = pyplot()
    u, v = _uv_of(model)
    info = info if info is not None else getattr(model, "info_", None)
    sfreq = float(info["sfreq"]) if info is not None else 1.
    if hasattr(X, "get_data"):
        X = mne_to_X(X, picks=None if info is None else list(info["ch_names"]))[0]
    X = np.asarray(X)
    z = np.asarray(model.z_hat_ if z is None else z)
    if X.ndim != 3 or X.shape[1] != u.shape[1] or z.shape[0] != X.shape[0]:
        raise ValueError(f"X must have shape (n_trials, {u.shape[1]}, n_times) "
                         f"with the {z.shape[0]} trial(s) of z, got {X.shape}.")
    n_times_atom = v.shape[1]
    tmax = n_times_atom / sfreq + 0.1 if tmax is None else tmax
    n_before, n_after = round(-tmin * sfreq), round(tmax * sfreq)
    if n_before + n_after < 1:
        raise ValueError(f"tmax must be larger than tmin, got {tmin}, {tmax}.")
    atoms = list(range(len(u)) if atoms is None else atoms)
    fig, axes = plt.subplots(len(atoms), 2, figsize=(9, 2.6 * len(atoms)),
                             squeeze=False, gridspec_kw=dict(width_ratios=[3, 1]))
    times = np.arange(-n_before, n_after) / sfreq
    for row, k in enumerate(atoms):
        ax, ax_topo = axes[row]
        average, n_occ = atom_locked_average(X, z, k, n_before, n_after, n_max)
        if average is None:
            ax.text(0.5, 0.5, "no occurrence", ha="center", va="center",
                    transform=ax.transAxes)
            ax_topo.set_axis_off()
            ax.set_title(f"Atom {k}: no occurrence")
            continue
        # the atom's component (spatial filter u_k), as seen at its
        # strongest channel, in the units of the channels
        top = int(np.argmax(np.abs(u[k])))
        projection = u[k][top] * (u[k] @ average)
        name = info["ch_names"][top] if info is not None else f"channel {top}"
        ax.plot(times, average.T, color="0.7", lw=0.5)
        ax.plot(times, projection, color=f"C{k % 10}", lw=2,
                label=f"atom component at {name}")
        atom_part = projection[n_before:n_before + n_times_atom]
        scale = (atom_part @ v[k][:len(atom_part)]) / max(v[k] @ v[k], 1e-30)
        ax.plot(np.arange(n_times_atom) / sfreq, scale * v[k], "k--", lw=1,
                label="waveform v (scaled)")
        ax.axvline(0, color="k", lw=0.5)
        ax.set(title=f"Atom {k}: average of {n_occ} occurrences",
               xlabel="Time from atom onset (s)" if info is not None
               else "Time (samples)")
        ax.legend(fontsize="small", loc="upper right")
        peak = int(np.argmax(np.abs(projection)))
        plot_pattern(average[:, peak], info, ax_topo)
        ax_topo.set_title(f"{times[peak]:.3f} s")
    fig.tight_layout()
    return maybe_show(fig, show)
