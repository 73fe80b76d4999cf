"""Figures of learned atoms, activations, atom-locked averages, convergence and
DriPP intensities.

Spatial patterns are drawn as one topomap per channel type
(:mod:`cdl.viz.topomaps`), in physical units when the model's per-type
scalings are known. Every function returns a matplotlib Figure, takes
``show=``, imports matplotlib lazily and never writes files.
"""
from .activations import (
    atom_locked_average,
    plot_activations,
    plot_atom_evoked,
    plot_convergence,
)
from .atoms import plot_atoms, plot_pattern, waveform_spectrum
from .dripp import plot_dripp_intensity
from .topomaps import plot_topomaps

__all__ = ["atom_locked_average", "plot_activations", "plot_atom_evoked",
           "plot_atoms", "plot_convergence", "plot_dripp_intensity",
           "plot_pattern", "plot_topomaps", "waveform_spectrum"]
