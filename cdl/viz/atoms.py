"""Figures of the atoms: spatial pattern, waveform and spectrum."""
import numpy as np

from ._mpl import fixed_layout, maybe_show, pyplot
from .topomaps import has_positions, n_topomaps, plot_topomaps


def _uv_of(model):
    """``u`` (n_atoms, n_channels) and ``v`` (n_atoms, n_times_atom) of a model."""
    if hasattr(model, "u_hat_"):
        return np.asarray(model.u_hat_), np.asarray(model.v_hat_)
    u, v = model
    return np.asarray(u), np.asarray(v)


#: Lowest level drawn in the spectra of the waveforms (dB re their peak):
#: zero-padding puts notches at -inf that would hide the shape of the peak.
DB_FLOOR = -60.


def power_db(power):
    """Power in dB relative to its peak, floored at :data:`DB_FLOOR`.

    Parameters
    ----------
    power : ndarray
        Non-negative power (a zero array gives the floor).

    Returns
    -------
    db : ndarray
        Same shape, in [DB_FLOOR, 0].
    """
    peak = power.max()
    if not peak > 0:
        return np.full(power.shape, DB_FLOOR)
    return np.maximum(10 * np.log10(np.maximum(power / peak, 1e-300)), DB_FLOOR)


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


def plot_atoms(model, info=None, sfreq=None, atoms=None, scalings=None,
               show=True):
    """Spatial pattern (one topomap per channel type), waveform and spectrum
    of each atom.

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
    scalings : dict of str to float | None
        Factor of each channel type (default: the model's ``scalings_``):
        the patterns are drawn in physical units (fT, fT/cm, uV per unit of
        ``z * v``, see :mod:`cdl.io.scaling`); None: in the model's units.
    show : bool
        Show the figure.

    Returns
    -------
    fig : instance of matplotlib.figure.Figure
        One row per atom: one topomap of ``u`` per channel type (bars
        without positions), waveform ``v`` against time (the dotted line
        marks its largest ``|v|``, where occurrences are timed), power
        spectrum of ``v``. Each atom is drawn with the sign that makes the
        largest entry of ``u`` positive (``u v^T`` is the same).
    """
    plt = pyplot()
    u, v = _uv_of(model)
    info = info if info is not None else getattr(model, "info_", None)
    if scalings is None:
        scalings = getattr(model, "scalings_", None)
    sfreq = sfreq or (info["sfreq"] if info is not None else 1.)
    atoms = list(range(len(u)) if atoms is None else atoms)
    n_maps = n_topomaps(info)
    fig, axes = plt.subplots(len(atoms), n_maps + 2,
                             figsize=(3 * (n_maps + 2), 2.6 * len(atoms)),
                             squeeze=False)
    times = np.arange(v.shape[1]) / sfreq
    # u v^T does not change when both change sign: draw each atom with the
    # largest entry of its pattern positive, so that polarities compare
    signs = np.where(u[np.arange(len(u)), np.argmax(np.abs(u), axis=1)] < 0, -1., 1.)
    u, v = u * signs[:, None], v * signs[:, None]
    for row, k in enumerate(atoms):
        ax_wave, ax_psd = axes[row, n_maps:]
        plot_topomaps(u[k], info, axes[row, :n_maps], scalings=scalings,
                      title=f"Atom {k}")
        ax_wave.plot(times, v[k])
        ax_wave.axvline(times[np.argmax(np.abs(v[k]))], color="k", ls=":", lw=0.8)
        ax_wave.set(xlabel="Time (s)" if sfreq != 1 else "Time (samples)",
                    title="Waveform")
        freqs, power = waveform_spectrum(v[k], sfreq)
        ax_psd.plot(freqs, power_db(power))
        ax_psd.set(xlabel="Frequency (Hz)" if sfreq != 1 else "Frequency",
                   ylabel="dB re peak", title="Power spectrum",
                   xlim=(0, freqs[-1]), ylim=(DB_FLOOR, 3))
    fixed_layout(fig, len(atoms), n_maps + 2, wspace=0.85)
    return maybe_show(fig, show)


def plot_pattern(u_k, info, ax, scalings=None):
    """Topomap of one spatial pattern of a single channel type, or bars.

    Parameters
    ----------
    u_k : ndarray of shape (n_channels,)
        Spatial pattern (or any value per channel).
    info : mne.Info | None
        Channel positions; without them (or with None) a bar plot is drawn.
    ax : instance of matplotlib.axes.Axes
        Where to draw.
    scalings : dict of str to float | None
        Factor per channel type, to draw in physical units.

    Notes
    -----
    An Info with several channel types needs one axes per type: use
    :func:`cdl.viz.topomaps.plot_topomaps`.
    """
    if info is not None and n_topomaps(info) > 1:
        raise ValueError(f"info holds {n_topomaps(info)} channel types: draw "
                         f"one topomap per type with cdl.viz.plot_topomaps.")
    plot_topomaps(u_k, info if info is not None and has_positions(info) else None,
                  [ax], scalings=scalings, colorbar=False)
