"""DriPP: driven point processes linking atom activations to stimuli.

Allain, Gramfort and Moreau, "DriPP: Driven Point Processes to Model
Stimuli Induced Patterns in M/EEG Signals", ICLR 2022.
"""
from .estimator import DriPP, fit_dripp_from_annotations
from .events import drivers_from_annotations, events_from_activations
from .model import (
                    compensator,
                    intensity,
                    kernel_cdf,
                    kernel_pdf,
                    log_likelihood,
                    negative_log_likelihood,
)
from .simulate import simulate_dripp, simulate_drivers

__all__ = ["DriPP", "fit_dripp_from_annotations", "events_from_activations",
           "drivers_from_annotations", "kernel_pdf", "kernel_cdf", "intensity",
           "compensator", "log_likelihood", "negative_log_likelihood",
           "simulate_drivers", "simulate_dripp"]
