"""Simulated recordings with known atoms, for tests, examples and benchmarks."""
from .eeg import EEGTruth, simulate_eeg
from .meg import MEGTruth, simulate_neuromag_raw
from .signals import simulate_data

__all__ = ["EEGTruth", "MEGTruth", "simulate_data", "simulate_eeg",
           "simulate_neuromag_raw"]
