"""Figures of learned atoms, activations and convergence.

Every function returns a matplotlib Figure, takes ``show=``, imports matplotlib
lazily and never writes files.
"""
import numpy as np


def _plt():
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps") \
            and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _has_display():
    import os
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _show(fig, show):
    if show:
        _plt().show()
    return fig


def _uv_of(model):
    """``u`` (n_atoms, n_channels) and ``v`` (n_atoms, n_times_atom) of a model."""
    if hasattr(model, "u_hat_"):
        return np.asarray(model.u_hat_), np.asarray(model.v_hat_)
    u, v = model
    return np.asarray(u), np.asarray(v)


def waveform_spectrum(v, sfreq, n_fft=None):
    """Power spectrum of a waveform, zero-padded to ``n_fft`` samples.

    Returns
    -------
    freqs : ndarray of shape (n_freqs,)
    power : ndarray of shape (n_freqs,)
    """
    n_fft = n_fft or max(256, int(2 ** np.ceil(np.log2(len(v) * 4))))
    power = np.abs(np.fft.rfft(v, n_fft)) ** 2
    return np.fft.rfftfreq(n_fft, 1. / sfreq), power


def plot_atoms(model, info=None, sfreq=None, atoms=None, show=True):
    """Spatial pattern, waveform and spectrum of each atom.

    Parameters
    ----------
    model : fitted CDL estimator | tuple (u, v)
        ``u`` of shape (n_atoms, n_channels), ``v`` of shape (n_atoms, n_times_atom).
    info : mne.Info | None
        Channel positions for the topomaps (default: the model's ``info_``);
        without positions the spatial pattern is drawn as a bar plot.
    sfreq : float | None
        Sampling frequency (default: from ``info``, else 1: samples).
    atoms : list of int | None
        Atoms to show (all by default).
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
    """
    plt = _plt()
    u, v = _uv_of(model)
    info = info if info is not None else getattr(model, "info_", None)
    sfreq = sfreq or (info["sfreq"] if info is not None else 1.)
    atoms = range(len(u)) if atoms is None else atoms
    atoms = list(atoms)
    fig, axes = plt.subplots(len(atoms), 3, figsize=(9, 2.4 * len(atoms)),
                             squeeze=False)
    times = np.arange(v.shape[1]) / sfreq
    for row, k in enumerate(atoms):
        ax_topo, ax_wave, ax_psd = axes[row]
        plot_pattern(u[k], info, ax_topo)
        ax_topo.set_title(f"Atom {k}: spatial pattern")
        ax_wave.plot(times, v[k])
        ax_wave.set(xlabel="Time (s)" if sfreq != 1 else "Time (samples)",
                    title="Waveform")
        freqs, power = waveform_spectrum(v[k], sfreq)
        ax_psd.semilogy(freqs, power + np.finfo(float).tiny)
        ax_psd.set(xlabel="Frequency (Hz)" if sfreq != 1 else "Frequency",
                   title="Power spectrum", xlim=(0, freqs[-1]))
    fig.tight_layout()
    return _show(fig, show)


def plot_pattern(u_k, info, ax):
    """Topomap of one spatial pattern, or bars when there are no positions."""
    if info is not None and _has_positions(info):
        import mne
        mne.viz.plot_topomap(u_k, info, axes=ax, show=False, contours=0)
    else:
        ax.bar(np.arange(len(u_k)), u_k)
        ax.set_xlabel("Channel")


def _has_positions(info):
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    return bool(np.all(np.isfinite(positions))
                and np.any(np.linalg.norm(positions, axis=1) > 0))


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

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
    """
    plt = _plt()
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
    return _show(fig, show)


def plot_convergence(pobj, times=None, show=True):
    """Objective against iterations (and time if given).

    Parameters
    ----------
    pobj : array-like
        Objective values (e.g. ``model.pobj_``).
    times : array-like | None
        Cumulative times of the same entries.
    show : bool

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
    """
    plt = _plt()
    pobj = np.asarray(pobj, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.asarray(times) if times is not None else np.arange(len(pobj)) / 2.
    excess = pobj - pobj.min() + 1e-12 * max(abs(pobj.min()), 1.)
    ax.semilogy(x, excess, marker=".")
    ax.set(xlabel="Time (s)" if times is not None else "Iteration",
           ylabel="Objective - final objective", title="Convergence")
    fig.tight_layout()
    return _show(fig, show)
