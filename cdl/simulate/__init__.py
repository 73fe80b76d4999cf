"""Simulated recordings with known atoms, for tests, examples and benchmarks."""
from .eeg import EEGTruth, simulate_eeg
from .signals import simulate_data

__all__ = ["EEGTruth", "simulate_data", "simulate_eeg"]
