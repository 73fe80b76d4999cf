"""The version of cdl-meeg: setup.cfg, model files and ``cdl --version`` read it."""
__version__ = "0.1.0.dev0"
