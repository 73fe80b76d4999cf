"""Simulated Neuromag Vectorview recording with known rank-1 atoms.

:func:`simulate_neuromag_raw` builds an :class:`mne.io.RawArray` on the real
measurement info of MNE's sample data (204 planar gradiometers, 102
magnetometers, 60 EEG, EOG, 9 stim channels), so that channel selection,
per-type scaling, topomaps and occurrence timing can be tested on realistic
mixed-type data, each type in its own physical unit.
"""
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from cdl.io.channels import channel_types, default_picks
from cdl.utils.validation import check_int, check_scalar

from .eeg import _gauss, _pink_noise
from .signals import _check_rng, _max_events, _sample_onsets

#: Default background noise (std per channel) of each type, in SI units.
#: Chosen so that the single-occurrence peak of the evoked atom is 1 to 3
#: times the noise at its best channel of each type (see MEGTruth.snr).
NOISE_STD = dict(mag=100e-15, grad=5e-12, eeg=3e-6)

#: The atoms, in this order in the ground truth.
ATOM_NAMES = ("auditory", "alpha", "blink")


@dataclass(repr=False)
class MEGTruth:
    """Ground truth of :func:`simulate_neuromag_raw`.

    Attributes
    ----------
    names : list of str
        ``['auditory', 'alpha', 'blink']``.
    picks : ndarray of int
        Indices in ``raw.ch_names`` of the data channels (mag, grad, EEG; the
        channels of ``u``), as :func:`cdl.io.channels.default_picks` gives.
    ch_types : list of str
        Type of each picked channel.
    u : ndarray of shape (n_atoms, n_data_channels)
        Field pattern of each atom in physical units (T, T/m, V) at the peak
        of its waveform for an occurrence of amplitude 1.
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms, ``max |v_k| = 1``.
    z : ndarray of shape (1, n_atoms, n_times - n_times_atom + 1)
        Activations: ``z[0, k, t] > 0`` is an occurrence of atom k whose
        window starts at sample t; the data channels hold
        ``sum_k outer(u[k], np.convolve(z[0, k], v[k]))`` + noise.
    onsets : list of ndarray of int
        Window-start samples of each atom's occurrences (nonzeros of z).
    timing_index : ndarray of int of shape (n_atoms,)
        The timing point of each waveform: ``argmax |v_k|`` (sample within
        the window).
    n_times_atom : int
    sfreq : float
    stim_samples : ndarray of int
        Stimulus samples (stim channel 'STI 014' and annotations 'stim').
    latency : float
        Time (s) from a stimulus to the timing point (peak of ``|v|``) of the
        auditory atom: its occurrences are timed at
        ``stim_samples + round(latency * sfreq)`` + jitter.
    jitter_samples : ndarray of int
        Jitter of each auditory occurrence, in samples.
    noise_std : dict of str to float
        Background noise std per type.
    snr : dict of str to float
        Per type, peak of ``|u_auditory|`` over the noise std: single-occurrence
        signal-to-noise ratio of the evoked atom at its best channel.
    """

    names: list
    picks: np.ndarray
    ch_types: list
    u: np.ndarray
    v: np.ndarray
    z: np.ndarray
    onsets: list
    timing_index: np.ndarray
    n_times_atom: int
    sfreq: float
    stim_samples: np.ndarray
    latency: float
    jitter_samples: np.ndarray
    noise_std: dict
    snr: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"<MEGTruth | {len(self.names)} atoms {self.names}, "
                f"{len(self.picks)} data channels, {len(self.stim_samples)} "
                f"stimuli, latency {self.latency:g} s>")


def _evoked_topography(evokeds, comments, tmin, tmax, picks):
    """Mean over [tmin, tmax] of the baseline-corrected average of evokeds."""
    import mne

    chosen = [e for e in evokeds if e.comment in comments]
    if len(chosen) != len(comments):
        raise ValueError(f"The evoked file must hold the conditions {comments}, "
                         f"it has {[e.comment for e in evokeds]}.")
    evoked = mne.combine_evoked(chosen, weights="equal").apply_baseline(
        (None, 0), verbose=False)
    mask = (evoked.times >= tmin) & (evoked.times <= tmax)
    return evoked.data[picks][:, mask].mean(axis=1)


def _dipole_topography(info, picks, position, orientation):
    """Field of one current dipole (1 A.m, head coordinates) on the picked channels.

    Forward model: a 3-shell sphere fitted to the head digitisation of
    ``info`` (no MRI needed).
    """
    import mne

    sphere = mne.make_sphere_model("auto", "auto", info, verbose=False)
    orientation = np.asarray(orientation, dtype=float)
    dipole = mne.Dipole(np.zeros(1), np.array([position], dtype=float),
                        np.array([1.]), orientation[None] / np.linalg.norm(
                            orientation), np.ones(1))
    sub_info = mne.pick_info(info, picks)
    fwd, _ = mne.make_forward_dipole(dipole, sphere, sub_info, trans=None,
                                     verbose=False)
    order = [fwd["sol"]["row_names"].index(name) for name in sub_info["ch_names"]]
    return fwd["sol"]["data"][order, 0]


@lru_cache(maxsize=2)
def _patterns(fname_evoked):
    """Info, data picks and the three spatial patterns (T, T/m, V).

    Cached: reading the evoked file and the two forward solutions takes
    seconds; callers copy what they change.
    """
    import mne

    evokeds = mne.read_evokeds(fname_evoked, verbose=False)
    info = evokeds[0].info.copy()
    picks = default_picks(info)
    types = np.array(channel_types(info, picks))
    eeg = types == "eeg"
    u = np.array([
        _evoked_topography(evokeds, ["Left Auditory", "Right Auditory"], 0.08,
                           0.11, picks),
        # parieto-occipital, tangential: alpha-like
        _dipole_topography(info, picks, (0.01, -0.045, 0.06), (1., 0.2, 0.3)),
        # frontal pole, above the eyes, vertical: blink-like
        _dipole_topography(info, picks, (0., 0.075, 0.01), (0., 0.3, 1.))])
    u[:, eeg] -= u[:, eeg].mean(axis=1, keepdims=True)  # average reference
    # alpha 1.5 x the auditory amplitude; blink: 100 uV at the best EEG channel
    u[1] *= 1.5 * np.abs(u[0]).max() / np.abs(u[1]).max()
    u[2] *= 100e-6 / np.abs(u[2, eeg]).max()
    # the sphere model puts the dipole nearer the helmet than the eyes are
    # (~10 pT): bring the MEG part of the blink to 1.5 pT at the best mag
    u[2, ~eeg] *= 1.5e-12 / np.abs(u[2, types == "mag"]).max()
    return info, picks, u


def _waveforms(n_times_atom, sfreq, latency):
    t = np.arange(n_times_atom) / sfreq
    duration = n_times_atom / sfreq
    # auditory: N100-like peak at `latency`, then an opposite P200-like wave
    auditory = _gauss(t, latency, 0.02) - 0.5 * _gauss(t, latency + 0.09, 0.03)
    # alpha: a 10 Hz burst, cosine under a Hann window
    alpha = np.cos(2 * np.pi * 10. * (t - duration / 2)) * np.hanning(n_times_atom)
    # blink: slow monophasic wave of ~250 ms
    blink = _gauss(t, duration / 2, 0.05)
    v = np.array([auditory, alpha, blink])
    return v / np.abs(v).max(axis=1, keepdims=True)


def simulate_neuromag_raw(fname_evoked, duration=120., sfreq=150., n_stimuli=80,
                          latency=0.1, jitter=0.004, atom_duration=0.4,
                          alpha_rate=0.5, blink_rate=0.15, noise_std=None,
                          random_state=None):
    """A Neuromag recording with an evoked, an alpha-like and a blink atom.

    Built on the measurement info of ``fname_evoked`` (MNE's
    ``sample_audvis-ave.fif.gz``), resampled to ``sfreq`` (the simulation is
    made at that rate; SSP projectors are dropped). The data channels hold
    three rank-1 atoms plus independent pink (1/f) background noise per
    channel, each type in its physical unit:

    - ``'auditory'``: locked to ``n_stimuli`` stimuli; spatial pattern the
      auditory evoked topography of the file (left and right auditory
      averaged, baseline-corrected, mean over 80-110 ms: the N100m/N1, with
      its real mag/grad/EEG amplitudes, about 0.3 pT, 30 pT/m (30 fT/cm) and
      5 uV at the best channels);
      waveform a peak at ``latency`` s after the stimulus then a half-size
      opposite wave 90 ms later. The window of an occurrence starts at the
      stimulus (+ jitter), so the peak of ``|v|`` is at ``latency``.
    - ``'alpha'``: 10 Hz bursts at random times (``alpha_rate`` per s),
      spatial pattern of a tangential parieto-occipital current dipole
      (3-shell sphere model fitted to the head digitisation), peak 1.5 times
      the auditory one. (The visual evoked topography of the file was not
      used: averaged over 6 trials only, it correlates at -0.58 with the
      auditory one across the noise-whitened channels.)
    - ``'blink'``: a 250 ms monophasic wave (``blink_rate`` per s), spatial
      pattern of a vertical current dipole at the frontal pole (same
      model), scaled to 100 uV at the best EEG channel and, for its MEG
      part, 1.5 pT at the best magnetometer (as in real recordings); the EOG
      channel shows each blink (250 uV).

    EEG patterns are average-referenced. Stimuli are on 'STI 014' (3-sample
    pulses of value 1) and in annotations 'stim'.

    Parameters
    ----------
    fname_evoked : path-like
        ``sample_audvis-ave.fif.gz`` (conditions 'Left Auditory', 'Right
        Auditory', 'Left visual', 'Right visual').
    duration : float
        Length in s.
    sfreq : float
        Sampling rate in Hz (>= 100).
    n_stimuli : int
        Number of stimuli (>= 1), at random times at least ``atom_duration``
        + 0.2 s apart.
    latency : float
        Stimulus to peak of the auditory waveform, in s, in
        [0.03, atom_duration - 0.15].
    jitter : float
        Std (s) of the Gaussian jitter of each auditory occurrence.
    atom_duration : float
        Window of the atoms, in s.
    alpha_rate, blink_rate : float
        Occurrences per second.
    noise_std : dict | None
        Background std per type ``{'mag': T, 'grad': T/m, 'eeg': V}``;
        default :data:`NOISE_STD`.
    random_state : int | RandomState | None
        Seed; the global NumPy state is not used.

    Returns
    -------
    raw : mne.io.RawArray
        Every channel of the sample info (376), data in SI units.
    truth : MEGTruth
    """
    import mne

    duration = check_scalar("duration", duration, 0, strict=True)
    sfreq = check_scalar("sfreq", sfreq, 100.)
    n_stimuli = check_int("n_stimuli", n_stimuli, 1)
    atom_duration = check_scalar("atom_duration", atom_duration, 0.3)
    latency = check_scalar("latency", latency, 0.03)
    if latency > atom_duration - 0.15:
        raise ValueError(f"latency must be <= atom_duration - 0.15 = "
                         f"{atom_duration - 0.15:g} s, got {latency}.")
    jitter = check_scalar("jitter", jitter, 0.)
    alpha_rate = check_scalar("alpha_rate", alpha_rate, 0.)
    blink_rate = check_scalar("blink_rate", blink_rate, 0.)
    noise_std = dict(NOISE_STD if noise_std is None else noise_std)
    missing = sorted({"mag", "grad", "eeg"} - set(noise_std))
    if missing:
        raise ValueError(f"noise_std lacks the type(s) {missing}.")
    n_times = int(round(duration * sfreq))
    n_times_atom = int(round(atom_duration * sfreq))
    n_times_valid = n_times - n_times_atom + 1
    min_sep = n_times_atom + int(round(0.2 * sfreq))
    margin = int(np.ceil(4 * jitter * sfreq)) + 1
    usable = n_times_valid - 2 * margin
    if usable < 1 or n_stimuli > _max_events(usable, min_sep):
        raise ValueError(f"{n_stimuli} stimuli {min_sep / sfreq:g} s apart do not "
                         f"fit in {duration:g} s; make duration longer.")
    rng = _check_rng(random_state)

    info, picks, u = _patterns(str(Path(fname_evoked).resolve()))
    info, u = info.copy(), u.copy()
    ch_types = channel_types(info, picks)
    types = np.array(ch_types)

    v = _waveforms(n_times_atom, sfreq, latency)
    timing_index = np.argmax(np.abs(v), axis=1)

    # stimuli: window of the auditory atom starts at stimulus + jitter
    stim_samples = margin + _sample_onsets(rng, usable, n_stimuli, min_sep)
    jitter_samples = np.round(jitter * sfreq * rng.randn(n_stimuli)).astype(int)
    onsets = [stim_samples + jitter_samples]
    for rate in (alpha_rate, blink_rate):
        n_events = min(rng.poisson(rate * duration),
                       _max_events(n_times_valid, n_times_atom))
        onsets.append(_sample_onsets(rng, n_times_valid, n_events, n_times_atom))
    z = np.zeros((1, len(ATOM_NAMES), n_times_valid))
    for k, onset in enumerate(onsets):
        z[0, k, onset] = rng.lognormal(0., 0.2, size=len(onset))

    data = np.zeros((len(info["ch_names"]), n_times))
    for k in range(len(ATOM_NAMES)):
        data[picks] += np.outer(u[k], np.convolve(z[0, k], v[k]))
    noise = _pink_noise(rng, len(picks), n_times, sfreq)
    noise /= noise.std(axis=1, keepdims=True)
    data[picks] += noise * np.array([noise_std[t] for t in ch_types])[:, None]

    eog = mne.pick_types(info, meg=False, eog=True)
    blink_course = np.convolve(z[0, 2], v[2])
    data[eog] = 250e-6 * blink_course + 10e-6 * _pink_noise(rng, len(eog), n_times,
                                                            sfreq)
    stim = info["ch_names"].index("STI 014")
    for s in stim_samples:
        data[stim, s:s + 3] = 1.

    with info._unlock():
        info["sfreq"] = float(sfreq)
        info["lowpass"] = float(sfreq) / 2.
        info["highpass"] = 0.
        info["projs"] = []
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.set_annotations(mne.Annotations(stim_samples / sfreq, 0., "stim",
                                        orig_time=raw.info["meas_date"]))
    snr = {t: float(np.abs(u[0, types == t]).max() / noise_std[t])
           for t in dict.fromkeys(ch_types)}
    truth = MEGTruth(names=list(ATOM_NAMES), picks=picks, ch_types=ch_types, u=u,
                     v=v, z=z, onsets=onsets, timing_index=timing_index,
                     n_times_atom=n_times_atom, sfreq=float(sfreq),
                     stim_samples=stim_samples, latency=float(latency),
                     jitter_samples=jitter_samples, noise_std=noise_std, snr=snr)
    return raw, truth
