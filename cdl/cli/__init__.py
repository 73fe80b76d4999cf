"""The ``cdl`` command line: argument parsing (:mod:`.parser`), what each
command does (:mod:`.commands`) and the entry point (:mod:`.main`)."""
from .main import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
