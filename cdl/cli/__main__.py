"""``python -m cdl.cli``: the ``cdl`` command."""
import sys

from .main import main

sys.exit(main())
