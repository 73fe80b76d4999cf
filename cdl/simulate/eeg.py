"""A simulated 64-channel EEG recording with known atoms (the demo's)."""
from dataclasses import dataclass

import numpy as np
from scipy.signal.windows import tukey

from cdl.utils.validation import check_int, check_scalar

from .signals import (
    _check_rng,
    _max_events,
    _sample_onsets,
)

# --------------------------------------------------------------------------- EEG
# name: (channel at the centre of the topography, Gaussian width in m, peak
# amplitude in V at that channel, events per second or None for stimulus-locked)
_EEG_ATOMS = {
    "mu": ("C3", 0.035, 30e-6, 0.5),
    "evoked": ("CPz", 0.045, 20e-6, None),
    "blink": ("Fpz", 0.04, 60e-6, 0.3),
    "alpha": ("Oz", 0.04, 25e-6, 0.4),
}


_EEG_MONTAGES = {16: "biosemi16", 32: "biosemi32", 64: "biosemi64",
                 128: "biosemi128"}


@dataclass
class EEGTruth:
    """Ground truth of :func:`simulate_eeg`.

    Attributes
    ----------
    names : list of str
        Atom names, e.g. ``['mu', 'evoked', 'blink', 'alpha']``.
    u : ndarray of shape (n_atoms, n_channels)
        Topographies, unit norm, in the channel order of the Raw.
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms, unit norm.
    z : ndarray of shape (1, n_atoms, n_times - n_times_atom + 1)
        Non-negative activations, in volts: the atom part of the data is
        ``sum_k outer(u[k], np.convolve(z[0, k], v[k]))``.
    n_times_atom : int
        Atom length in samples (common to all atoms).
    sfreq : float
        Sampling frequency in Hz.
    stim_samples : ndarray of shape (n_stim,)
        Stimulus samples (the 'stim' annotations are at ``stim_samples / sfreq``).
    latency : float
        Evoked atom onset after each stimulus, in s: its events are at
        ``stim_samples + round(latency * sfreq)`` (up to ``latency_jitter``).
    noise : ndarray of shape (n_channels, n_times)
        Background noise, in volts: ``raw.get_data() = atoms + noise``.
    snr_db : float
        ``10 log10(power of atoms / power of noise)`` over all channels.
    """

    names: list
    u: np.ndarray
    v: np.ndarray
    z: np.ndarray
    n_times_atom: int
    sfreq: float
    stim_samples: np.ndarray
    latency: float
    noise: np.ndarray
    snr_db: float

    @property
    def uv(self):
        """ndarray of shape (n_atoms, n_channels + n_times_atom): ``[u, v]``."""
        return np.hstack([self.u, self.v])


def _gauss(t, mu, sigma):
    return np.exp(-0.5 * ((t - mu) / sigma) ** 2)


def _eeg_waveform(name, n_times_atom, sfreq):
    """Unit-norm waveform of one physiological atom, of shape (n_times_atom,)."""
    t = np.arange(n_times_atom) / sfreq
    if name == "mu":  # 10 Hz arches: rounded positive peaks, sharp negative ones
        arches = np.sqrt(np.cos(np.pi * 10. * t) ** 2 + 0.01)
        window = tukey(n_times_atom, 0.5)
        v = window * (arches - (window * arches).sum() / window.sum())
    elif name == "evoked":  # positive peak at 80 ms, negative at 180 ms
        v = _gauss(t, 0.08, 0.02) - 0.8 * _gauss(t, 0.18, 0.035)
    elif name == "blink":  # ~350 ms slow positive wave
        v = _gauss(t, t[-1] / 2, 0.06)
    else:  # alpha: sinusoidal 9.5 Hz burst
        v = np.sin(2 * np.pi * 9.5 * t) * np.hanning(n_times_atom)
    return v / np.linalg.norm(v)


def _pink_noise(rng, n_signals, n_times, sfreq):
    """Independent 1/f noises (flat below 1 Hz), of shape (n_signals, n_times)."""
    freqs = np.fft.rfftfreq(n_times, 1. / sfreq)
    spectrum = np.fft.rfft(rng.randn(n_signals, n_times), axis=1)
    spectrum /= np.sqrt(np.maximum(freqs, 1.))
    return np.fft.irfft(spectrum, n=n_times, axis=1)


def simulate_eeg(duration=60., sfreq=200., n_channels=64,
                 atoms=("mu", "evoked", "blink", "alpha"), atom_duration=0.5,
                 latency=0.1, latency_jitter=0., isi=(2., 3.), snr_db=0.,
                 random_state=None):
    """Simulate an EEG recording made of known rank-1 atoms on pink noise.

    Channels are those of the BioSemi montage with ``n_channels`` electrodes
    (``'biosemi64'`` by default). Available atoms, each with a smooth Gaussian
    topography centred on one electrode:

    - ``'mu'``: 10 Hz arch-shaped (comb) bursts, sharp negative and rounded
      positive peaks, over C3 (left central), about 0.5 per second;
    - ``'evoked'``: a biphasic transient starting ``latency`` s after each
      stimulus, centro-parietal (CPz); stimuli every ``isi`` s (uniform);
    - ``'blink'``: a ~350 ms slow positive wave, frontopolar (Fpz), 0.3 per s;
    - ``'alpha'``: 9.5 Hz sinusoidal bursts, occipital (Oz), 0.4 per second.

    Occurrences of one atom never overlap (unless ``latency_jitter`` is large);
    amplitudes are lognormal around the atom's typical peak value. The
    background is pink (1/f) noise mixed across neighbouring channels.

    Parameters
    ----------
    duration : float
        Length of the recording in s.
    sfreq : float
        Sampling frequency in Hz, >= 64.
    n_channels : int
        Number of electrodes: 16, 32, 64 or 128.
    atoms : sequence of str
        Atoms to include, among ``'mu', 'evoked', 'blink', 'alpha'``.
    atom_duration : float
        Atom length in s, >= 0.3; ``n_times_atom = round(atom_duration * sfreq)``.
    latency : float
        Onset of the evoked atom after each stimulus, in s.
    latency_jitter : float
        Standard deviation of that onset across stimuli, in s.
    isi : tuple of float
        Range ``(min, max)`` of the inter-stimulus intervals in s, with
        ``atom_duration <= min <= max``.
    snr_db : float
        Power of the atoms over power of the noise, in dB.
    random_state : int | RandomState | None
        Seed or generator; the global ``np.random`` state is never used.

    Returns
    -------
    raw : mne.io.RawArray
        The recording in volts, channel type 'eeg', montage set, and the stimuli
        as annotations with description 'stim' and duration 0.
    truth : EEGTruth
        Ground truth: ``names``, ``u``, ``v``, ``z``, ``n_times_atom``, ``sfreq``,
        ``stim_samples``, ``latency``, ``noise``, ``snr_db`` (see :class:`EEGTruth`).
    """
    import mne

    sfreq = check_scalar("sfreq", sfreq, 64.)
    duration = check_scalar("duration", duration, 0, strict=True)
    atom_duration = check_scalar("atom_duration", atom_duration, 0.3)
    latency = check_scalar("latency", latency, 0.)
    latency_jitter = check_scalar("latency_jitter", latency_jitter, 0.)
    snr_db = check_scalar("snr_db", snr_db)
    n_channels = check_int("n_channels", n_channels, 1)
    if n_channels not in _EEG_MONTAGES:
        raise ValueError(f"n_channels must be one of {sorted(_EEG_MONTAGES)}, "
                         f"got {n_channels!r}.")
    atoms = list(atoms)
    if not atoms or any(a not in _EEG_ATOMS for a in atoms) or \
            len(set(atoms)) < len(atoms):
        raise ValueError(f"atoms must be distinct names among "
                         f"{list(_EEG_ATOMS)}, got {atoms!r}.")
    isi_min, isi_max = (check_scalar("isi", x, atom_duration) for x in isi)
    if isi_max < isi_min:
        raise ValueError(f"isi must be (min, max) with min <= max, got {isi}.")
    n_times = int(round(duration * sfreq))
    n_times_atom = int(round(atom_duration * sfreq))
    if n_times < n_times_atom:
        raise ValueError(f"duration must be >= atom_duration={atom_duration}, "
                         f"got {duration}.")
    rng = _check_rng(random_state)
    n_times_valid = n_times - n_times_atom + 1

    montage = mne.channels.make_standard_montage(_EEG_MONTAGES[n_channels])
    ch_pos = montage.get_positions()["ch_pos"]
    pos = np.array([ch_pos[ch] for ch in montage.ch_names])
    # All BioSemi montages lie on the same sphere: take targets from biosemi64.
    ref_pos = mne.channels.make_standard_montage("biosemi64").get_positions()
    ref_pos = ref_pos["ch_pos"]

    # Stimuli, then the evoked events locked to them
    n_max = int(duration / isi_min) + 1
    stim_times = np.cumsum(rng.uniform(isi_min, isi_max, size=n_max))
    stim_samples = np.round(stim_times * sfreq).astype(int)
    lag = int(round(latency * sfreq))
    jitter = np.round(latency_jitter * sfreq * rng.randn(n_max)).astype(int)
    keep = (stim_samples + lag + jitter >= 0) & \
        (stim_samples + lag + jitter < n_times_valid) & (stim_samples < n_times)
    stim_samples, jitter = stim_samples[keep], jitter[keep]

    n_atoms = len(atoms)
    u = np.zeros((n_atoms, n_channels))
    v = np.zeros((n_atoms, n_times_atom))
    z = np.zeros((1, n_atoms, n_times_valid))
    for k, name in enumerate(atoms):
        center, width, peak, rate = _EEG_ATOMS[name]
        dist2 = np.sum((pos - ref_pos[center]) ** 2, axis=1)
        u[k] = _gauss(np.sqrt(dist2), 0., width)
        u[k] /= np.linalg.norm(u[k])
        v[k] = _eeg_waveform(name, n_times_atom, sfreq)
        if rate is None:
            onsets = stim_samples + lag + jitter
        else:
            n_events = min(rng.poisson(rate * duration),
                           _max_events(n_times_valid, n_times_atom))
            onsets = _sample_onsets(rng, n_times_valid, n_events, n_times_atom)
        scale = peak / (u[k].max() * np.abs(v[k]).max())
        z[0, k, onsets] = scale * rng.lognormal(0., 0.25, size=len(onsets))

    X = np.zeros((n_channels, n_times))
    for k in range(n_atoms):
        X += np.outer(u[k], np.convolve(z[0, k], v[k]))
    # Background: pink sources mixed over neighbouring electrodes (~4 cm)
    dist2 = np.sum((pos[:, None] - pos[None]) ** 2, axis=-1)
    mixing = np.exp(-dist2 / (2 * 0.04 ** 2))
    noise = mixing @ _pink_noise(rng, n_channels, n_times, sfreq)
    power = np.mean(X ** 2)
    if power > 0:
        noise *= np.sqrt(power / np.mean(noise ** 2) * 10 ** (-snr_db / 10))
    else:  # no event at all: keep a typical 10 uV background
        noise *= 10e-6 / noise.std()
        snr_db = -np.inf
    info = mne.create_info(montage.ch_names, sfreq, ch_types="eeg")
    raw = mne.io.RawArray(X + noise, info, verbose=False)
    raw.set_montage(montage, verbose=False)
    raw.set_annotations(mne.Annotations(stim_samples / sfreq, 0., "stim"))
    truth = EEGTruth(names=atoms, u=u, v=v, z=z, n_times_atom=n_times_atom,
                     sfreq=sfreq, stim_samples=stim_samples, latency=latency,
                     noise=noise, snr_db=snr_db)
    return raw, truth
