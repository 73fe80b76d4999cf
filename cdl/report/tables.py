"""The tables of the report and of the command line: atoms, occurrences, DriPP."""
from html import escape

import numpy as np

from cdl.io.channels import channel_types
from cdl.model.diagnostics import BANDS as LABEL_BANDS
from cdl.model.diagnostics import band_shares, dominant_pole
from cdl.model.occurrences import find_occurrences
from cdl.viz import waveform_spectrum

#: Parameters of a DriPP fit in :func:`dripp_table`, in this order.
DRIPP_PARAMS = ("baseline", "alpha", "m", "sigma")


def dripp_table(dripp, driver_names, lrt=None, ci=None):
    """One row per (atom, driver): estimates, intervals, p-value, flags.

    Parameters
    ----------
    dripp : cdl.dripp.DriPP
        Fitted estimator.
    driver_names : list of str
        Name of each driver.
    lrt, ci : dict | None
        Results of ``likelihood_ratio_test`` and ``bootstrap_ci``.

    Returns
    -------
    rows : list of dict
        Numbers only (``dripp.csv``): ``atom, driver, n_events``, then for
        each of ``baseline, alpha, m, sigma`` the estimate and, with ``ci``,
        ``<name>_ci_low`` and ``<name>_ci_high``; ``p_value`` (with ``lrt``)
        and ``flags`` (names joined by ``';'``, empty when none, see
        :data:`cdl.dripp.checks.FLAGS`).
    """
    rows = []
    n_atoms, n_drivers = np.shape(dripp.alpha_)
    flags = getattr(dripp, "flags_", None)
    for k in range(n_atoms):
        for p in range(n_drivers):
            row = dict(atom=k, driver=driver_names[p],
                       n_events=len(dripp.atom_times_[k]))
            for name in DRIPP_PARAMS:
                value = getattr(dripp, name + "_")
                index = (k,) if name == "baseline" else (k, p)
                row[name] = float(value[index])
                if ci is not None:
                    row[f"{name}_ci_low"], row[f"{name}_ci_high"] = (
                        float(b) for b in np.asarray(ci[name])[index])
            if lrt is not None:
                row["p_value"] = float(lrt["pvalue"][k, p])
            row["flags"] = ";".join(flags[k][p]) if flags else ""
            rows.append(row)
    return rows


def dripp_display(rows):
    """Rows of :func:`dripp_table` for reading: ``value [low, high]`` cells.

    Parameters
    ----------
    rows : list of dict

    Returns
    -------
    rows : list of dict
        ``atom, driver, n_events, baseline, alpha, m, sigma, p_value,
        flags``; the four parameters as strings with their interval.
    """
    shown = []
    for row in rows:
        out = dict(atom=row["atom"], driver=row["driver"],
                   n_events=row["n_events"])
        for name in DRIPP_PARAMS:
            out[name] = f"{row[name]:.3g}"
            if f"{name}_ci_low" in row:
                out[name] += (f" [{row[name + '_ci_low']:.3g}, "
                              f"{row[name + '_ci_high']:.3g}]")
        if "p_value" in row:
            out["p_value"] = f"{row['p_value']:.2g}"
        out["flags"] = row["flags"] or "-"
        shown.append(out)
    return shown


#: Frequency bands (Hz) of :func:`atom_features`, ``name: (low, high)``: the
#: bands of the labels (:data:`cdl.model.BANDS`), gamma without an upper
#: edge, so that the shares of the bands sum to 1.
BANDS = {name: (low, high) for name, low, high in LABEL_BANDS}


def atom_features(model, info=None, sfreq=None, n_top=3):
    """What each atom looks like: where it is strongest and its spectrum.

    Parameters
    ----------
    model : fitted CDL estimator
        Gives ``u_hat_`` and ``v_hat_``.
    info : mne.Info | None
        Channel names and types, and sampling rate (default ``model.info_``).
    sfreq : float | None
        Sampling rate (default from ``info``).
    n_top : int
        Number of channels listed (per channel type when there are several):
        EEG channels of the dominant pole (the sign of the largest ``|u|``)
        by decreasing ``|u|``, other types by decreasing ``|u|``.

    Returns
    -------
    rows : list of dict
        Per atom: ``atom``, ``top_channels`` (comma-separated; with several
        channel types ``'grad: ...; mag: ...; eeg: ...'``), with several
        types ``types`` (share of ``|u|^2`` of each type, the atom's weight
        in the fit), ``peak_hz`` (peak of the waveform's power spectrum)
        and the fraction of that power in each band of :data:`BANDS` (keys
        ``delta`` ...).
    """
    info = info if info is not None else getattr(model, "info_", None)
    sfreq = sfreq or (float(info["sfreq"]) if info is not None else 1.)
    names = list(info["ch_names"]) if info is not None else None
    types = np.array(channel_types(info)) if info is not None else None
    several = types is not None and len(set(types)) > 1
    rows = []
    for k, (u, v) in enumerate(zip(model.u_hat_, model.v_hat_)):
        freqs, power = waveform_spectrum(v - v.mean(), sfreq)
        row = dict(atom=k, top_channels=_top_channels(u, names, types, n_top))
        if several:
            energy = u ** 2 / max(np.sum(u ** 2), 1e-300)
            row["types"] = ", ".join(f"{t} {energy[types == t].sum():.0%}"
                                     for t in dict.fromkeys(types.tolist()))
        row["peak_hz"] = float(freqs[np.argmax(power)])
        row.update(band_shares(v, sfreq))
        rows.append(row)
    return rows


def atom_diagnostics(model, z=None, info=None):
    """The label, the model share and the flags of each atom, as text columns.

    Parameters
    ----------
    model : fitted CDL estimator
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations (default ``model.z_hat_``).
    info : mne.Info | None
        Channel names and sampling rate (default ``model.info_``).

    Returns
    -------
    rows : list of dict
        Per atom: ``label`` (:func:`cdl.model.diagnostics.label_atom`'s rules),
        ``model_share`` (the atom's part of the model as a share of the
        sum over atoms, :func:`cdl.model.diagnostics.model_shares`, as a
        string such as ``'5.1%'``) and
        ``flags`` (``'rare'`` when the atom has fewer occurrences than the
        revival threshold, ``'duplicate of <k>'``; empty when none).
    """
    rows = []
    for row in model.describe_atoms(z=z, info=info):
        flags = ["rare"] if row["rare"] else []
        flags += [f"duplicate of {k}" for k in row["duplicate_of"]]
        rows.append(dict(label=row["label"] or "-",
                         model_share=_percent(row["model_share"]),
                         flags="; ".join(flags)))
    return rows


def atom_summary(model, z=None, info=None, sfreq=None):
    """The report's atom summary, shares shown as percentages.

    :func:`atom_diagnostics` and :func:`atom_features` of each atom.

    Parameters
    ----------
    model : fitted CDL estimator
    z : ndarray of shape (n_trials, n_atoms, n_times_valid) | None
        Activations (default ``model.z_hat_``).
    info : mne.Info | None
        Channel names and types, and sampling rate (default ``model.info_``).
    sfreq : float | None
        Sampling rate (default from ``info``).

    Returns
    -------
    rows : list of dict
        Per atom: ``atom``, ``label``, ``model_share``, ``flags``,
        ``top_channels``, ``types`` (several channel types only),
        ``peak_hz`` and the share of each band of :data:`BANDS` (strings
        such as ``'41%'``).
    """
    rows = []
    for feature, diagnostic in zip(atom_features(model, info=info, sfreq=sfreq),
                                   atom_diagnostics(model, z=z, info=info)):
        row = dict(atom=feature["atom"], **diagnostic)
        row.update({k: _percent(v) if k in BANDS else v
                    for k, v in feature.items() if k != "atom"})
        rows.append(row)
    return rows


def _percent(share):
    """A share as a percentage: one decimal below 10 %, '<0.1%' for a
    positive share that would read 0.0%."""
    if 0 < share < 0.0005:
        return "<0.1%"
    return f"{100 * share:.1f}%" if share < 0.0995 else f"{100 * share:.0f}%"


def _top_channels(u, names, types, n_top):
    """The strongest channels, per channel type when there are several: EEG
    channels from the dominant pole (:func:`cdl.model.diagnostics.dominant_pole`,
    as the labels), the others by ``|u|``."""
    if names is None:
        return ", ".join(str(i) for i in _strongest(u, None, n_top))
    groups = {}
    for ch_type in dict.fromkeys(types.tolist()):
        idx = np.flatnonzero(types == ch_type)
        groups[ch_type] = ", ".join(
            names[i] for i in idx[_strongest(u[idx], ch_type, n_top)])
    if len(groups) == 1:
        return next(iter(groups.values()))
    return "; ".join(f"{ch_type}: {top}" for ch_type, top in groups.items())


def _strongest(u, ch_type, n_top):
    if ch_type == "eeg":
        # With an average reference an EEG pattern has two poles of opposite
        # signs; ranking by |u| would mix them.
        return dominant_pole(u, n_top)
    return np.argsort(-np.abs(u), kind="stable")[:n_top]


def activation_counts(z, sfreq):
    """How often each atom occurs.

    Parameters
    ----------
    z : ndarray of shape (n_trials, n_atoms, n_times_valid)
        Activations.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    rows : list of dict
        Per atom: ``atom``, ``occurrences`` (those of
        :func:`cdl.model.occurrences.find_occurrences`, as in the events
        files), ``rate_per_s`` and ``mean_amplitude`` of those maxima.
    """
    z = np.asarray(z)
    duration = z.shape[0] * z.shape[2] / sfreq
    occ = find_occurrences(z)
    rows = []
    for k in range(z.shape[1]):
        amplitudes = occ["amplitude"][occ["atom"] == k]
        rows.append(dict(atom=k, occurrences=int(amplitudes.size),
                         rate_per_s=amplitudes.size / duration,
                         mean_amplitude=float(amplitudes.mean())
                         if amplitudes.size else 0.))
    return rows


def model_parameters(model):
    """Scalar parameters of a model and what its fit gave.

    Parameters
    ----------
    model : fitted CDL estimator

    Returns
    -------
    params : dict
        Parameters that are numbers, strings, booleans or None, plus
        ``n_iter_done`` and ``final_objective``.
    """
    params = {k: v for k, v in sorted(model.get_params().items())
              if isinstance(v, (int, float, str, bool, type(None)))}
    params.update(n_iter_done=int(model.n_iter_),
                  final_objective=float(model.pobj_[-1]))
    return params


def table(rows):
    """Small HTML table from a list of dicts with the same keys.

    Parameters
    ----------
    rows : list of dict
        One dict per row; the keys of the first one are the columns.

    Returns
    -------
    html : str
    """
    keys = list(rows[0])
    head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(r[k]))}</td>" for k in keys)
                   + "</tr>" for r in rows)
    return f"<table class='table table-sm'><tr>{head}</tr>{body}</table>"


def key_value_table(mapping):
    """Two-column HTML table (name, value) of a dict.

    Parameters
    ----------
    mapping : dict

    Returns
    -------
    html : str
    """
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>"
                   for k, v in mapping.items())
    return f"<table class='table table-sm'>{body}</table>"


def _fmt(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return ", ".join(map(str, value[:8])) + f", ... ({len(value)} items)"
    if isinstance(value, dict) and len(value) > 8:
        return f"{len(value)} entries"
    return str(value)
