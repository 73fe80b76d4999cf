"""Atoms you can trust: flags and descriptive labels for a learned dictionary.

Pure functions of arrays (no MNE object needed: channel names and the
sampling rate are enough), for the estimators (``diagnostics_``), the report
and the command line:

- :func:`flag_atoms`: atoms with few occurrences and near-duplicate pairs
  (two of the rules that atom revival applies during learning,
  :mod:`cdl.learn.revival`, applied after fitting; revival's *underused*
  rule, relative to the other atoms, is not a flag);
- :func:`channel_region`: scalp region of a 10-20 / 10-10 channel name
  (:func:`lateral_frontal_side`: the side of a lateral frontal one);
- :func:`band_shares`: the share of a waveform's power in each band;
- :func:`label_atom`: a label for one atom from the documented rules below,
  with the numbers it was taken from;
- :func:`model_shares`: each atom's part of the model (the signal it
  models alone) as a share of the sum over atoms: a rare atom with a large
  share models a few large events, a rare atom with a small one is nearly
  unused;
- :func:`describe_atoms`: one row per atom, label, numbers and flags.

Labelling rules (:func:`label_atom`), checked in this order:

================  =======================================================
label             rule
================  =======================================================
line noise        peak within 1 Hz of 50 or 60 Hz
<region> <b>/<m>  mixed spectrum: the band of the peak ``b`` is not the
                  band holding the largest share of the power ``m``
                  (e.g. ``occipital delta/beta``: a beta burst on a slow
                  wave whose largest peak is slow); the rules below are
                  not applied
eye-movement-like lateral frontal channels of one side (``AF``, ``F``,
                  ``FT`` numbered 7 or more: F7, AF8, FT9...) share >= 0.5
                  and peak < 4 Hz: where horizontal eye movements are
                  strongest
blink-like        frontal (``Fp``, ``AF``, ``F``) share >= 0.5 and peak
                  < 4 Hz
alpha             occipital (``O``, ``PO``, ``I``) or parietal (``P``)
                  share >= 0.5 and peak in [8, 13) Hz
mu                central (``C``, ``FC``, ``CP``) share >= 0.5 and peak in
                  [8, 13) Hz (``mu, arch-shaped`` when the waveform has a
                  second harmonic: largest power in [2 f - 2, 2 f + 2] Hz
                  at least 10% of the peak's)
central beta      central share >= 0.5 and peak in [13, 30) Hz
muscle-like       temporal (``T``, ``FT``, ``TP``) share >= 0.5 and peak
                  >= 20 Hz
<region> <band>   otherwise, e.g. ``parietal theta`` (region ``mixed`` when
                  no region reaches 0.5, or without channel names)
================  =======================================================

The *share* of a region is the fraction of ``sum u_c ** 2`` over the
:data:`N_TOP` (5) channels of the dominant pole that falls in that region;
the dominant pole is the side (sign) of the pattern that holds the largest
``|u_c|``, and its channels are those of largest ``u_c`` on that side. A
pattern has two poles of opposite signs when the data are average-referenced
(a frontal blink comes with a weaker occipital pole) or with magnetometers;
ranking all channels by ``|u_c|`` mixed both poles, e.g. an occipital 7 Hz
atom of an EEGBCI run was labelled ``frontal theta`` from O2, AF7, Fp1;
the *peak* is the frequency of the largest power of the zero-mean waveform,
zero-padded to 4 times its length (at least 256 samples), and the *share*
of a band the fraction of that power from 0.5 Hz up that lies in the band
(:func:`band_shares`; a peak below 0.5 Hz, 'slow', agrees with delta).
On EEGBCI runs the two disagree for about one atom in four (e.g. an
occipital atom with its peak at 3.4 Hz and 37% of its power in beta): a
label from the peak alone then named a band the console table's share
contradicted. Bands
(:data:`BANDS`): delta [0.5, 4), theta [4, 8), alpha [8, 13), beta [13, 30),
gamma >= 30 Hz ('slow' below 0.5 Hz). These are descriptions to look at, not
classifications: an "alpha" atom is one whose numbers match the rule.
"""
import re

import numpy as np

from .occurrences import MIN_OCCURRENCES, occurrence_counts
from .shapes import is_rank1, split_uv
from .similarity import MAX_CORR, duplicate_pairs

__all__ = ["BANDS", "N_TOP", "band_of", "band_shares", "channel_region",
           "describe_atoms", "dominant_pole", "flag_atoms", "label_atom",
           "lateral_frontal_side", "model_shares"]

#: Channels of the dominant pole whose regions decide the label.
N_TOP = 5
#: Share of the top channels' energy a region needs to name the atom.
MIN_SHARE = 0.5
#: Frequency bands of the labels, (name, low, high) in Hz.
BANDS = (("delta", 0.5, 4.), ("theta", 4., 8.), ("alpha", 8., 13.),
         ("beta", 13., 30.), ("gamma", 30., np.inf))
#: Prefixes of the lateral frontal channels (with a number of 7 or more).
_LATERAL_FRONTAL = ("af", "f", "ft")
# Longest prefix first: 'FC3' is central, 'F3' frontal.
_REGIONS = (("Fp", "frontal"), ("AF", "frontal"), ("FT", "temporal"),
            ("FC", "central"), ("TP", "temporal"), ("CP", "central"),
            ("PO", "occipital"), ("F", "frontal"), ("C", "central"),
            ("T", "temporal"), ("P", "parietal"), ("O", "occipital"),
            ("I", "occipital"))


def flag_atoms(u, v, z, min_occurrences=MIN_OCCURRENCES, max_corr=MAX_CORR,
               positive=True):
    """Atoms that are rarely used and pairs that are nearly the same atom.

    Parameters
    ----------
    u : ndarray of shape (n_atoms, n_channels)
        Spatial patterns.
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms.
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations.
    min_occurrences : int
        Atoms with fewer occurrences (positive local maxima of ``z_k``, see
        :func:`cdl.model.occurrences.local_maxima`) are flagged rare.
    max_corr : float
        Pairs whose spatial and temporal correlations (best lag) both reach
        it are flagged (see :func:`cdl.model.similarity.atom_similarity`).
    positive : bool
        Activations are non-negative (an atom and its negative differ).

    Returns
    -------
    flags : dict
        ``occurrences`` (ndarray of int, per atom), ``rare`` (list of the
        atoms below ``min_occurrences``), ``duplicates`` (list of ``(j, k,
        corr_u, corr_v)``, ``j < k``).
    """
    u, v = np.asarray(u), np.asarray(v)
    counts = occurrence_counts(z)
    uv = np.concatenate([u, v], axis=1)
    return dict(occurrences=counts,
                rare=[int(k) for k in np.flatnonzero(counts < min_occurrences)],
                duplicates=duplicate_pairs(uv, u.shape[1], max_corr, positive))


def channel_region(name):
    """Scalp region of a 10-20 / 10-10 channel name, or None.

    ``'Fp1'`` -> 'frontal', ``'FC3'`` -> 'central', ``'PO7'`` -> 'occipital',
    ``'T8'`` -> 'temporal'. Names are read after stripping dots and an
    ``EEG`` prefix (``'Fc3.'`` and ``'EEG C3'`` work); case is ignored.

    Parameters
    ----------
    name : str
        Channel name.

    Returns
    -------
    region : 'frontal' | 'central' | 'parietal' | 'occipital' | 'temporal' | None
        None for a name that is not a 10-20 / 10-10 electrode.
    """
    letters, _ = _parse_name(name)
    for prefix, region in _REGIONS:
        if letters == prefix.lower():
            return region
    return None


def lateral_frontal_side(name):
    """Side of a lateral frontal or fronto-temporal 10-10 channel, or None.

    ``'F7'``, ``'AF7'``, ``'FT9'`` -> 'left'; ``'F8'``, ``'FT10'`` ->
    'right'; medial channels (``'Fp1'``, ``'AF3'``, ``'Fz'``) and other
    regions -> None. Names are read as by :func:`channel_region`.

    Parameters
    ----------
    name : str
        Channel name.

    Returns
    -------
    side : 'left' | 'right' | None
    """
    letters, number = _parse_name(name)
    if letters not in _LATERAL_FRONTAL or number is None or number < 7:
        return None
    return "left" if number % 2 else "right"


def _parse_name(name):
    """(lower-case letters, electrode number or None) of a 10-20 name;
    ('', None) when it is not one."""
    name = re.sub(r"^EEG[\s_-]*", "", str(name).strip(), flags=re.I).strip(".")
    match = re.match(r"([A-Za-z]+?)(z|\d+)?$", name)
    if not match:
        return "", None
    suffix = match.group(2)
    number = int(suffix) if suffix is not None and suffix.isdigit() else None
    return match.group(1).lower(), number


def band_of(freq):
    """Name of the band of ``freq`` Hz (:data:`BANDS`), 'slow' below 0.5 Hz.

    Parameters
    ----------
    freq : float

    Returns
    -------
    band : str
    """
    for name, low, high in BANDS:
        if low <= freq < high:
            return name
    return "slow"


def _spectrum(v, sfreq):
    v = np.asarray(v, dtype=float)
    n_fft = max(256, int(2 ** np.ceil(np.log2(len(v) * 4))))
    power = np.abs(np.fft.rfft(v - v.mean(), n_fft)) ** 2
    return np.fft.rfftfreq(n_fft, 1. / sfreq), power


def band_shares(v, sfreq):
    """Share of a waveform's power in each band of :data:`BANDS`.

    Parameters
    ----------
    v : ndarray of shape (n_times_atom,)
        Waveform.
    sfreq : float
        Sampling rate in Hz.

    Returns
    -------
    shares : dict
        ``band name: share`` of the power of the zero-mean waveform
        (zero-padded as for the peak, see the module doc) from 0.5 Hz up;
        the shares sum to 1 (all 0 for a constant waveform).
    """
    freqs, power = _spectrum(v, sfreq)
    total = power[freqs >= BANDS[0][1]].sum()
    return {name: float(power[(freqs >= low) & (freqs < high)].sum() / total)
            if total > 0 else 0. for name, low, high in BANDS}


def _main_band(shares):
    """The band of largest share (the first of equal ones)."""
    return max(shares, key=lambda name: shares[name])


def _bands_agree(peak_band, main_band):
    return peak_band == main_band or (peak_band, main_band) == ("slow", "delta")


def dominant_pole(u, n_top=N_TOP):
    """Channels of the dominant pole of a spatial pattern.

    Parameters
    ----------
    u : ndarray of shape (n_channels,)
        Spatial pattern.
    n_top : int
        Number of channels.

    Returns
    -------
    channels : ndarray of int, shape (min(n_top, n_channels),)
        The channels of largest ``s * u``, strongest first, where ``s`` is
        the sign of the largest ``|u|`` (positive when ``u`` is zero).
    """
    u = np.asarray(u, dtype=float)
    sign = -1. if u[np.argmax(np.abs(u))] < 0 else 1.
    return np.argsort(-sign * u, kind="stable")[:n_top]


def label_atom(u, v, sfreq, ch_names=None):
    """Descriptive label of one rank-1 atom (rules in the module doc).

    Parameters
    ----------
    u : ndarray of shape (n_channels,)
        Spatial pattern.
    v : ndarray of shape (n_times_atom,)
        Waveform.
    sfreq : float | None
        Sampling rate in Hz; None: no spectrum, hence no band nor label.
    ch_names : list of str | None
        Channel names; None: no region (``mixed``).

    Returns
    -------
    description : dict
        ``label``, ``region`` (dominant region or 'mixed'), ``share`` (its
        share), ``peak_hz``, ``band`` (the peak's), ``main_band`` (the band
        of largest share, :func:`band_shares`), ``band_share`` (its share),
        ``harmonic`` (power ratio at twice the peak) and ``top_channels``
        (the :data:`N_TOP` channels of the dominant pole, strongest first,
        names or indices). ``label``, ``peak_hz``, ``band``, ``main_band``,
        ``band_share`` and ``harmonic`` are None without ``sfreq``.
    """
    u = np.asarray(u, dtype=float)
    names = [str(i) for i in range(len(u))] if ch_names is None else list(ch_names)
    top = dominant_pole(u)
    top_names = [] if ch_names is None else [names[i] for i in top]
    weights = u[top] ** 2
    shares = _energy_shares(top_names, weights, channel_region)
    region, share = max(shares.items(), key=lambda kv: kv[1]) if shares \
        else ("mixed", 0.)
    if share < MIN_SHARE:
        region = "mixed"
    lateral_share = max(_energy_shares(top_names, weights,
                                       lateral_frontal_side).values(), default=0.)
    description = dict(label=None, region=region, share=float(share),
                       peak_hz=None, band=None, main_band=None, band_share=None,
                       harmonic=None, top_channels=[names[i] for i in top])
    if sfreq is None:
        return description
    freqs, power = _spectrum(v, sfreq)
    peak = float(freqs[np.argmax(power)])
    near = (freqs >= 2 * peak - 2) & (freqs <= 2 * peak + 2)
    harmonic = float(power[near].max() / power.max()) if near.any() and \
        power.max() > 0 else 0.
    band = band_of(peak)
    shares = band_shares(v, sfreq)
    main = _main_band(shares)
    if any(abs(peak - f) <= 1. for f in (50., 60.)):
        label = "line noise"
    elif not _bands_agree(band, main):
        label = f"{region} {band}/{main}"
    elif lateral_share >= MIN_SHARE and peak < 4.:
        label = "eye-movement-like"
    elif region == "frontal" and peak < 4.:
        label = "blink-like"
    elif region in ("occipital", "parietal") and band == "alpha":
        label = "alpha"
    elif region == "central" and band == "alpha":
        label = "mu, arch-shaped" if harmonic >= 0.1 else "mu"
    elif region == "central" and band == "beta":
        label = "central beta"
    elif region == "temporal" and peak >= 20.:
        label = "muscle-like"
    else:
        label = f"{region} {band}"
    description.update(label=label, peak_hz=peak, band=band, main_band=main,
                       band_share=shares[main], harmonic=harmonic)
    return description


def _energy_shares(names, weights, classify):
    """Share of ``sum(weights)`` per class of channel (``classify(name)``,
    None: no class)."""
    total = weights.sum() or 1.
    shares = {}
    for name, w in zip(names, weights):
        key = classify(name)
        if key is not None:
            shares[key] = shares.get(key, 0.) + w / total
    return shares


def model_shares(D, z, n_channels):
    """Each atom's part of the model, as a share of the sum over atoms.

    The part of atom ``k`` is the signal it models alone, ``z_k * D_k``
    (``u_k (z_k * v_k)`` for a rank-1 atom). Its energy, summed over
    trials, is divided by the sum of the parts' energies: overlaps between
    atoms are not counted, so the shares sum to 1 unless every activation
    is zero. A frequent rhythm of low amplitude may have a small share next
    to large blinks; an atom with few occurrences and a small share is
    nearly unused, one with few occurrences and a large share models a few
    large events.

    Parameters
    ----------
    D : ndarray
        Atoms, ``uv`` of shape (n_atoms, n_channels + n_times_atom) or
        full-rank of shape (n_atoms, n_channels, n_times_atom).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations.
    n_channels : int
        Number of channels.

    Returns
    -------
    shares : ndarray of shape (n_atoms,)
        In [0, 1]; all zero when every activation is zero.
    """
    D, z = np.asarray(D, dtype=float), np.asarray(z)
    n_atoms = D.shape[0]
    if z.ndim != 3 or z.shape[1] != n_atoms:
        raise ValueError(f"z must have shape (n_trials, {n_atoms}, "
                         f"n_times_valid) for {n_atoms} atoms, got {z.shape}.")
    if is_rank1(D):  # the autocorrelation of u v^T is |u|^2 that of v
        u, v = split_uv(D, n_channels)
        autocorr = np.sum(u ** 2, axis=1)[:, None] * _autocorrelation(v)
    else:
        autocorr = _autocorrelation(D).sum(axis=1)
    energy = np.array([sum(_part_energy(z_nk, autocorr[k]) for z_nk in z[:, k])
                       for k in range(n_atoms)])
    total = energy.sum()
    return energy / total if total > 0 else energy


def _autocorrelation(x):
    """``sum_t x[..., t] x[..., t + lag]`` for lags 0 .. n-1 (last axis)."""
    n = x.shape[-1]
    power = np.abs(np.fft.rfft(x, n=2 * n, axis=-1)) ** 2
    return np.fft.irfft(power, n=2 * n, axis=-1)[..., :n]


def _part_energy(z_k, autocorr):
    """``||z_k * d||^2`` from the activations of one trial and the
    autocorrelation of the atom ``d``: ``sum_lag r_z(lag) r_d(lag)``, over
    the occurrences only."""
    support = np.flatnonzero(z_k)
    if not support.size:
        return 0.
    values = z_k[support].astype(float)
    energy = autocorr[0] * float(values @ values)
    for lag in range(1, len(autocorr)):
        later = support + lag
        inside = later < len(z_k)
        energy += 2 * autocorr[lag] * float(
            values[inside] @ z_k[later[inside]].astype(float))
    return energy


def describe_atoms(u, v, z, ch_names=None, sfreq=None,
                   min_occurrences=MIN_OCCURRENCES, max_corr=MAX_CORR,
                   positive=True, D=None):
    """One row per atom: label, the numbers behind it, occurrences and flags.

    Parameters
    ----------
    u : ndarray of shape (n_atoms, n_channels)
        Spatial patterns (``model.u_hat_``).
    v : ndarray of shape (n_atoms, n_times_atom)
        Waveforms (``model.v_hat_``).
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations (``model.z_hat_``, or those of another recording).
    ch_names : list of str | None
        Channel names (``info['ch_names']``); None: no region.
    sfreq : float | None
        Sampling rate in Hz (``info['sfreq']``); None: no label.
    min_occurrences, max_corr, positive
        See :func:`flag_atoms`.
    D : ndarray of shape (n_atoms, n_channels, n_times_atom) | None
        Full-rank atoms whose rank-1 approximations are ``u`` and ``v``:
        the model shares are then those of ``D``. None: those of ``u`` and
        ``v``.

    Returns
    -------
    rows : list of dict
        :func:`label_atom`'s keys plus ``atom``, ``occurrences`` (int),
        ``model_share`` (float, :func:`model_shares`), ``rare`` (bool) and
        ``duplicate_of`` (list of the atoms it near-duplicates).
    """
    u, v = np.asarray(u), np.asarray(v)
    flags = flag_atoms(u, v, z, min_occurrences, max_corr, positive)
    shares = model_shares(np.concatenate([u, v], axis=1) if D is None else D,
                          z, u.shape[1])
    rows = []
    for k in range(u.shape[0]):
        row = dict(atom=k, **label_atom(u[k], v[k], sfreq, ch_names))
        row["occurrences"] = int(flags["occurrences"][k])
        row["model_share"] = float(shares[k])
        row["rare"] = k in flags["rare"]
        row["duplicate_of"] = [j if i == k else i for i, j, _, _
                               in flags["duplicates"] if k in (i, j)]
        rows.append(row)
    return rows
