"""Figures of learned atoms, activations, atom-locked averages and convergence.

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

    Parameters
    ----------
    v : ndarray of shape (n_times_atom,)
        Waveform.
    sfreq : float
        Sampling frequency in Hz.
    n_fft : int | None
        FFT length; default: the next power of two above ``4 * len(v)``
        (at least 256).

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
        One row per atom: topomap of ``u`` (bars without positions), waveform
        ``v`` against time, power spectrum of ``v``. Each atom is drawn with
        the sign that makes the largest entry of ``u`` positive (``u v^T`` is
        the same).
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
    # u v^T does not change when both change sign: draw each atom with the
    # largest entry of its pattern positive, so that polarities compare
    signs = np.where(u[np.arange(len(u)), np.argmax(np.abs(u), axis=1)] < 0, -1., 1.)
    u, v = u * signs[:, None], v * signs[:, None]
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
    """Topomap of one spatial pattern, or bars when there are no positions.

    Parameters
    ----------
    u_k : ndarray of shape (n_channels,)
        Spatial pattern (or any value per channel).
    info : mne.Info | None
        Channel positions; without them (or with None) a bar plot is drawn.
    ax : instance of matplotlib.axes.Axes
        Where to draw.
    """
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
        Show the figure.

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
        Show the figure.

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


def _local_maxima(z_k):
    """Mask of strictly positive local maxima along the last axis."""
    left = np.concatenate([np.full(z_k.shape[:-1] + (1,), -np.inf), z_k[..., :-1]],
                          axis=-1)
    right = np.concatenate([z_k[..., 1:], np.full(z_k.shape[:-1] + (1,), -np.inf)],
                           axis=-1)
    return (z_k > 0) & (z_k > left) & (z_k >= right)


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
    trial, t = np.nonzero(_local_maxima(z_k))
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
    plt = _plt()
    u, v = _uv_of(model)
    info = info if info is not None else getattr(model, "info_", None)
    sfreq = float(info["sfreq"]) if info is not None else 1.
    if hasattr(X, "get_data"):
        from .io import mne_to_X
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
    return _show(fig, show)


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
    plt = _plt()
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
    return _show(fig, show)
