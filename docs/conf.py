"""Sphinx configuration of the cdl-meeg documentation.

Build with ``make docs`` (or ``python -m sphinx -W --keep-going -b html docs
docs/_build/html``). The build is offline: no intersphinx, no web fonts, no
download of data. The gallery runs every script of ``examples/``; the
EEGBCI examples read the runs from ``CDL_DATA_EEGBCI`` (by default the
``shared/data/eegbci`` folder next to the checkout, when it exists).

Places that an integrator may have to change are marked ``# EDIT HERE``.
"""
import os
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

# Figures are drawn off-screen and the gallery never opens windows.
os.environ.setdefault("MPLBACKEND", "agg")
# The EEGBCI runs: an explicit CDL_DATA_EEGBCI wins; otherwise the shared
# data folder that sits next to the checkout (never copied into the repo).
_shared_eegbci = ROOT.parent / "shared" / "data" / "eegbci"
if "CDL_DATA_EEGBCI" not in os.environ and _shared_eegbci.is_dir():
    os.environ["CDL_DATA_EEGBCI"] = str(_shared_eegbci)
_shared_meg = ROOT.parent / "shared" / "data" / "meg"
if "CDL_DATA_MEG" not in os.environ and _shared_meg.is_dir():
    os.environ["CDL_DATA_MEG"] = str(_shared_meg)
# Nothing is downloaded during a build: the MEG examples (somato, sample) run
# only when MNE finds those datasets on disk and print a note otherwise; the
# EEGBCI examples are shown without running when the runs are not on disk
# (see docs/_ext/cdl_docs.py).

from cdl_docs import not_run_examples  # noqa: E402

import cdl  # noqa: E402

# -- Project information -------------------------------------------------------
project = "cdl-meeg"
author = "cdl-meeg developers"
_year = time.strftime("%Y")
copyright = f"{'2026' if _year == '2026' else '2026-' + _year}, {author}"
release = cdl.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration -----------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    "myst_parser",
    "cdl_docs",
]
templates_path = ["_templates"]
# architecture.md is shown by user_guide/architecture.rst, not a page itself.
exclude_patterns = ["_build", "architecture.md", "Thumbs.db", ".DS_Store",
                    "**.ipynb_checkpoints",
                    "auto_examples/*.ipynb", "auto_examples/**/*.py",
                    "auto_examples/**/*.zip", "auto_examples/**/*.codeobj.json"]
# Only .rst pages; CHANGELOG.md and architecture.md are included through
# myst-parser (changelog.rst, user_guide/architecture.rst).
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "code"
language = "en"
pygments_style = "sphinx"
suppress_warnings = []

# -- The public API, from each package's __all__ ------------------------------
# EDIT HERE: the packages whose ``__all__`` make up the API reference
# (cdl_docs.py writes api/index.rst from them at each build): the four that
# most scripts import, then the sub-packages of cdl that the examples and the
# README import from. A name exported twice (``cdl.sparse_encode`` is
# ``cdl.coding.sparse_encode``) is documented under the first package.
cdl_api_packages = ["cdl", "cdl.dripp", "dicod", "data_fetchers",
                    "cdl.io", "cdl.viz", "cdl.report", "cdl.pipeline",
                    "cdl.learn", "cdl.coding", "cdl.dictionary", "cdl.model",
                    "cdl.simulate"]
# EDIT HERE: "module:function" returning the argparse parser of ``cdl``
# (read through docs/_ext/_cli_parser.py, which cli.rst points to).
cdl_cli_parser = "cdl.cli:build_parser"

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# numpydoc's validation is run by docs/_ext/cdl_docs.py (``CDL_DOCS_VALIDATE=1``
# prints the report); the build itself does not fail on docstring style.
numpydoc_validation_checks = set()

# -- sphinx-gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "subsection_order": [f"../examples/{d}" for d in
                         ("eegbci", "dripp", "meg", "dicod", "*")],
    "within_subsection_order": "FileNameSortKey",
    "filename_pattern": r"/plot_",
    # Examples whose data are not on this machine are shown, not run
    # (a note on their page says so).
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("cdl", "dicod", "data_fetchers"),
    "backreferences_dir": "api/generated/backreferences",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1,
    "promote_jupyter_magic": False,
    # False: the run-time pages load jQuery and DataTables from the network.
    "write_computation_times": False,
}
_not_run = not_run_examples(ROOT / "examples")
if _not_run:
    sphinx_gallery_conf["filename_pattern"] = (
        r"/plot_(?!" + "|".join(p.stem[len("plot_"):] for p in _not_run) + r")")

# -- HTML output (pydata-sphinx-theme, as MNE) ---------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"cdl-meeg {release}"
html_static_path = ["_static"]
html_css_files = ["cdl.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "icon_links": [],
    "header_links_before_dropdown": 7,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    "use_edit_page_button": False,
    "check_switcher": False,
    "pygments_light_style": "default",
    "pygments_dark_style": "github-dark",
}
html_context = {"default_mode": "light"}
html_sidebars = {"index": [], "install": [], "changelog": [], "cite": [],
                 "cli": []}

