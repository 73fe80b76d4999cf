"""The version of cdl-meeg: setup.cfg, model files and ``cdl --version`` read it."""
#: The version of cdl-meeg (PEP 440).
__version__ = "0.1.0.dev0"
