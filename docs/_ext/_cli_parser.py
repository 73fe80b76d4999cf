"""The one place the documentation gets the ``cdl`` command's parser from.

``cli.rst`` documents ``_cli_parser.build_parser`` (sphinx-argparse), which
calls the function named by ``cdl_cli_parser`` in ``docs/conf.py``
(``"cdl.cli:build_parser"``); if the parser moves, change that one line.
"""
import importlib

# Set from conf.py's ``cdl_cli_parser`` by cdl_docs.py when Sphinx starts.
TARGET = "cdl.cli:build_parser"


def build_parser():
    """The argparse parser of the ``cdl`` command."""
    module, _, func = TARGET.partition(":")
    return getattr(importlib.import_module(module), func)()
