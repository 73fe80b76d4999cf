"""cdl-meeg: convolutional dictionary learning for MEG/EEG."""
__version__ = "0.1.0.dev0"
