"""One topomap per channel type: Neuromag (mag + grad + EEG), CTF, KIT, 4D, EEG.

``mne.viz.plot_topomap`` draws one channel type at a time ("Multiple channel
types in Info object" otherwise), so a value per channel of a mixed Info is
split by type, each drawn on its own axes with its own colour scale and unit.
Planar gradiometers are merged per pair by the RMS of the two values (sign
lost, colour map 'Reds'), as ``Evoked.plot_topomap`` does. A type whose
channels have no position is drawn as bars.
"""
import numpy as np

from cdl.io.channels import channel_types, unit_of
from cdl.io.scaling import pattern_to_physical


def has_positions(info):
    """Whether the channels of ``info`` have usable 3-D positions."""
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    return bool(len(positions) and np.all(np.isfinite(positions))
                and np.any(np.linalg.norm(positions, axis=1) > 0))


def type_groups(values, info):
    """Split a value per channel into one group per channel type.

    Parameters
    ----------
    values : ndarray of shape (n_channels,)
        One value per channel of ``info``.
    info : mne.Info
        Info of exactly those channels.

    Returns
    -------
    groups : list of tuple (ch_type, sub_info, sub_values)
        One per channel type, in order of first appearance.
    """
    import mne

    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(info["ch_names"]),):
        raise ValueError(f"values must hold one value per channel of info "
                         f"({len(info['ch_names'])}), got shape {values.shape}.")
    types = np.array(channel_types(info))
    groups = []
    for ch_type in dict.fromkeys(types.tolist()):
        idx = np.flatnonzero(types == ch_type)
        groups.append((ch_type, mne.pick_info(info, idx, verbose=False),
                       values[idx]))
    return groups


def n_topomaps(info):
    """Number of axes :func:`plot_topomaps` needs: one per channel type (1
    without ``info``)."""
    return 1 if info is None else len(set(channel_types(info)))


def plot_topomaps(values, info, axes, scalings=None, title=None, colorbar=True):
    """Draw one topomap per channel type of ``values`` on the given axes.

    Parameters
    ----------
    values : ndarray of shape (n_channels,)
        A value per channel of ``info`` in the scaled space of the model
        (e.g. ``model.u_hat_[k]``, or an average of the scaled signal).
    info : mne.Info | None
        Info of exactly those channels (any mix of types); None draws bars.
    axes : sequence of matplotlib Axes
        At least :func:`n_topomaps` axes; extra ones are hidden.
    scalings : dict of str to float | None
        The model's factor per type (``model.scalings_``): values are drawn
        in physical units, ``values * factor``, shown in MNE's display
        units (fT, fT/cm, uV). None: as given (arbitrary units).
    title : str | None
        Prefix of each axis title.
    colorbar : bool
        A colour bar with the unit under each topomap.

    Returns
    -------
    drawn : list of str
        Channel types drawn, in the order of the axes.
    """
    import mne

    axes = list(np.ravel(axes))
    values = np.asarray(values, dtype=np.float64)
    if info is None:
        axes[0].bar(np.arange(len(values)), values)
        axes[0].set_xlabel("Channel")
        _hide(axes[1:])
        return ["channels"]
    groups = type_groups(pattern_to_physical(values, channel_types(info),
                                             scalings), info)
    if len(axes) < len(groups):
        raise ValueError(f"{len(groups)} channel types need {len(groups)} axes, "
                         f"got {len(axes)}.")
    for ax, (ch_type, sub_info, sub_values) in zip(axes, groups):
        unit, factor = unit_of(ch_type) if scalings is not None else ("a.u.", 1.)
        shown, label = sub_values * factor, f"{ch_type} ({unit})"
        if has_positions(sub_info):
            kwargs = {}
            if ch_type == "grad" and _n_grad_pairs(sub_info):
                kwargs["cmap"] = "Reds"
                label = f"grad, RMS of pairs ({unit})"
            elif ch_type == "grad":  # no complete pair: one value per sensor
                from mne.channels.layout import _find_topomap_coords
                sub_info = _find_topomap_coords(sub_info, picks=range(len(shown)))
                kwargs["ch_type"] = "grad"
            image, _ = mne.viz.plot_topomap(shown, sub_info, axes=ax, show=False,
                                            contours=0, **kwargs)
            if colorbar:
                bar = ax.figure.colorbar(image, ax=ax, orientation="horizontal",
                                         fraction=0.05, pad=0.02)
                bar.ax.tick_params(labelsize="x-small")
        else:
            ax.bar(np.arange(len(shown)), shown)
            ax.set_xlabel("Channel")
        ax.set_title(f"{title}: {label}" if title else label, fontsize="small")
    _hide(axes[len(groups):])
    return [g[0] for g in groups]


def _hide(axes):
    for ax in axes:
        ax.set_axis_off()


def _n_grad_pairs(info):
    """Complete planar gradiometer pairs in ``info`` (MNE merges those)."""
    from mne.channels.layout import _pair_grad_sensors

    try:
        picks = _pair_grad_sensors(info, topomap_coords=False, exclude=(),
                                   raise_error=True)
    except ValueError:
        return 0
    return len(picks) // 2
