"""Local Sphinx extension of the cdl-meeg documentation.

- writes ``api/index.rst`` from the ``__all__`` of the packages listed in
  ``conf.py`` (``cdl_api_packages``), so that a public name added, moved or
  removed changes the API reference without editing it (a constant needs a
  ``#:`` comment where it is assigned: the build stops without one);
- points the command-line page at the ``cdl`` parser named in ``conf.py``
  (``cdl_cli_parser``, read through :mod:`_cli_parser`);
- writes the landing page figure include (a gallery figure on EEGBCI, or on
  simulated data when the EEGBCI runs are not on this machine);
- adds a visible note to gallery pages whose example skipped for lack of
  data, or was not run because its data are not on this machine;
- points the ``[docs]`` links of the source pages (viewcode) at the anchor
  of the object's page when a source file holds objects documented under
  several packages;
- ``CDL_DOCS_VALIDATE=1``: prints numpydoc's validation of every public
  name (the build does not fail on it).
"""
import ast
import importlib
import importlib.util
import inspect
import os
import pprint
import re
from pathlib import Path

import _cli_parser

# EEGBCI runs that the examples read (subject 1).
EEGBCI_RUNS = ("S001R03.edf", "S001R04.edf", "S001R07.edf", "S001R08.edf")
# Landing-page figure (example, figure number, caption): the first when the
# EEGBCI runs are on this machine, else the second.
LANDING_FIGURES = [
    ("auto_examples/eegbci/plot_eegbci_atoms", 1,
     "Four of twelve atoms learned without labels on two EEG motor runs "
     "(EEGBCI, subject 1), one of each kind that the example's simple rules "
     "name (blink or eye movement, central mu/beta rhythm, occipital alpha, "
     "other): the scalp pattern ``u`` (topomap), the waveform ``v`` and its "
     "power spectrum."),
    ("auto_examples/dripp/plot_dripp_simulated", 1,
     "DriPP kernels fitted on simulated activations: how strongly, with which "
     "latency and which jitter each stimulus drives each atom (the EEGBCI "
     "runs were not on the machine that built this page)."),
]
SKIP_MARK = "Skipped: the "
NOT_RUN_NOTE = """
.. note::

   This example was **not run** when this page was built: it reads the
   EEGBCI runs (subject 1, runs 3, 4, 7 and 8), which were not found. Set
   ``CDL_DATA_EEGBCI`` to a folder holding ``S001R03.edf`` ... to run it.
"""
SKIPPED_NOTE = """
.. note::

   The dataset of this example was **not on the machine** that built this
   page, so the example stopped after its first cell (see its output
   below) and shows no figure. It never downloads; it runs as shown when
   the dataset is on disk (see :ref:`install_data`).
"""


def eegbci_folder():
    """Folder of the EEGBCI runs for this build, or None."""
    folder = os.environ.get("CDL_DATA_EEGBCI")
    if folder and all((Path(folder) / run).is_file() for run in EEGBCI_RUNS):
        return Path(folder)
    return None


def eegbci_available():
    return eegbci_folder() is not None


def not_run_examples(examples_dir):
    """Examples that read EEGBCI when the runs are not on this machine."""
    if eegbci_available():
        return []
    return sorted(p for p in Path(examples_dir).rglob("plot_*.py")
                  if "load_eegbci" in p.read_text())


# -- API reference --------------------------------------------------------------
def _kind(obj):
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


SECTIONS = (("class", "Classes"), ("function", "Functions"),
            ("exception", "Exceptions"))


def _defining_modules(module):
    """Public name -> module it is imported from, in a package's ``__init__``.

    Read from the ``_EXPORTS`` table of a lazy package (``cdl``, ``dicod``),
    else from the ``from .x import NAME`` lines of its ``__init__``.
    """
    table = dict(getattr(module, "_EXPORTS", {}))
    source = inspect.getsource(module)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name(
                "." * node.level + (node.module or ""), module.__name__)
            for alias in node.names:
                table.setdefault(alias.asname or alias.name, base)
    return table


def _constant_doc(module, name):
    """The ``#:`` comment above the assignment of constant ``name``."""
    from sphinx.pycode import ModuleAnalyzer
    where = _defining_modules(module).get(name, module.__name__)
    docs = ModuleAnalyzer.for_module(where).find_attr_docs()
    lines = docs.get(("", name))
    if not lines:
        raise RuntimeError(
            f"{module.__name__}.{name} is public (in __all__) but has no "
            f"description: write a '#:' comment above its assignment in {where}")
    return [line for line in lines if line.strip()]


def _constant_rst(module, name):
    value = getattr(module, name)
    text = pprint.pformat(value, width=1000, sort_dicts=False)
    return ([f".. data:: {name}", f"   :value: {text}", ""]
            + [f"   {line}" for line in _constant_doc(module, name)] + [""])


def api_rst(packages):
    """The text of api/index.rst for these packages' ``__all__``.

    A name exported by several packages (``cdl.sparse_encode`` is also
    ``cdl.coding.sparse_encode``) has one page, under the first package that
    exports it; the later ones point to it.
    """
    lines = [
        ".. This file is written by docs/_ext/cdl_docs.py at each build; "
        "do not edit.", "",
        ".. _api:", "",
        "API reference", "=============", "",
        "Every public name of the packages, as listed in their ``__all__``. "
        "Import them from the package, never from a module inside it (the "
        "modules may move between versions; these names stay). The names "
        "most scripts need are in :mod:`cdl`, :mod:`cdl.dripp`, :mod:`dicod` "
        "and :mod:`data_fetchers`; the sub-packages of ``cdl`` that follow "
        "hold the building blocks. Shapes and conventions are those of "
        ":doc:`/user_guide/model`.",
        "",
    ]
    lines += _package_index(packages)
    documented = {}  # id of a documented object -> its full name
    for name in packages:
        module = importlib.import_module(name)
        public = list(getattr(module, "__all__", []))
        if not public:
            raise RuntimeError(f"{name} has no __all__: nothing to document")
        title = f":mod:`{name}`"
        lines += [f".. _api_{name.replace('.', '_')}:", "", title,
                  "-" * len(title), "", f".. automodule:: {name}",
                  "   :no-members:", "",
                  f".. currentmodule:: {name}", ""]
        objects = {n: getattr(module, n) for n in public}
        again = [n for n, obj in objects.items()
                 if _kind(obj) != "data" and id(obj) in documented]
        for kind, heading in SECTIONS:
            names = [n for n, obj in objects.items()
                     if _kind(obj) == kind and n not in again]
            if not names:
                continue
            lines += [f"{heading}", "~" * len(heading), "",
                      ".. autosummary::", "   :toctree: generated/",
                      "   :nosignatures:", ""]
            lines += [f"   {n}" for n in names] + [""]
            documented.update({id(objects[n]): f"{name}.{n}" for n in names})
        constants = [n for n, obj in objects.items() if _kind(obj) == "data"]
        if constants:
            lines += ["Constants", "~~~~~~~~~", ""]
            for n in constants:
                lines += _constant_rst(module, n)
        if again:
            lines += ["Also exported here", "~~~~~~~~~~~~~~~~~~", "",
                      "The same objects as the names they point to:", ""]
            for n in again:
                obj = objects[n]
                role = "class" if inspect.isclass(obj) else "func"
                lines += [f"- ``{name}.{n}``: :{role}:`{documented[id(obj)]}`"]
            lines += [""]
    return "\n".join(lines) + "\n"


def _package_index(packages):
    """A table of the packages and the first line of their docstring."""
    lines = [".. list-table::", "   :widths: 25 75", ""]
    for name in packages:
        doc = inspect.getdoc(importlib.import_module(name)) or ""
        summary = " ".join(doc.split("\n\n")[0].split())
        # no cross-reference here: the page has no current module yet
        summary = re.sub(r":[a-z]+:`~?([^`]+)`", r"``\1``", summary)
        lines += [f"   * - :ref:`{name} <api_{name.replace('.', '_')}>`",
                  f"     - {summary}"]
    return lines + [""]


def public_objects(packages):
    for name in packages:
        module = importlib.import_module(name)
        for attr in module.__all__:
            yield f"{name}.{attr}", getattr(module, attr)


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# -- landing figure ---------------------------------------------------------------
def landing_rst():
    """A figure directive showing one gallery figure, linked to its example."""
    example, number, caption = LANDING_FIGURES[0 if eegbci_available() else 1]
    folder, stem = example.rsplit("/", 1)
    image = f"{folder}/images/sphx_glr_{stem}_{number:03d}.png"
    return (f".. figure:: /{image}\n"
            f"   :target: {example}.html\n"
            f"   :alt: Atoms found by cdl: topomap, waveform and spectrum\n"
            f"   :width: 85%\n   :align: center\n\n"
            f"   {caption} From the example :doc:`/{example}`.\n")


# -- Sphinx hooks -------------------------------------------------------------------
def _config_inited(app, config):
    srcdir = Path(app.srcdir)
    _cli_parser.TARGET = config.cdl_cli_parser
    _write_if_changed(srcdir / "api" / "index.rst", api_rst(config.cdl_api_packages))
    _write_if_changed(srcdir / "_generated" / "landing_figure.inc",
                      landing_rst())
    if os.environ.get("CDL_DOCS_VALIDATE"):
        for line in validate(config.cdl_api_packages):
            print(line)


def _source_read(app, docname, source):
    if not docname.startswith("auto_examples/") or docname.endswith("index"):
        return
    text = source[0]
    stem = docname.rsplit("/", 1)[-1]
    not_run = {p.stem for p in not_run_examples(Path(app.confdir).parent / "examples")}
    note = None
    if stem in not_run:
        note = NOT_RUN_NOTE
    elif SKIP_MARK in text and "sphx-glr-script-out" in text:
        note = SKIPPED_NOTE
    if note is None:
        return
    # after the title (the first line underlined with '=')
    match = re.search(r"^(.+)\n=+\n", text, flags=re.M)
    if match:
        source[0] = text[:match.end()] + note + text[match.end():]


_VIEWCODE_BACK = re.compile(
    r'(<a class="viewcode-back" href="[^"#]*?api/generated/)([^"#/]+)\.html#([^"]+)"')


def _fix_viewcode_anchor(match):
    """``[docs]`` link of a source page, to the anchor its object really has.

    viewcode prefixes every object of a source file with the package under
    which the first of them was documented; ``cdl/coding/chunked.py`` holds
    ``cdl.coding.SparseActivations`` and ``cdl.sparse_encode_chunked``, so the
    second link would point to ``#cdl.coding.sparse_encode_chunked``.
    """
    prefix, page, anchor = match.groups()
    short = page.rsplit(".", 1)[-1]
    found = re.search(rf"\.{re.escape(short)}(?=\.|$)", anchor)
    if not anchor.startswith(page) and found:
        anchor = page + anchor[found.end():]
    return f'{prefix}{page}.html#{anchor}"'


def _html_page_context(app, pagename, templatename, context, doctree):
    if pagename.startswith("_modules/") and "body" in context:
        context["body"] = _VIEWCODE_BACK.sub(_fix_viewcode_anchor, context["body"])


def validate(packages):
    """numpydoc validation of every public name and method, as report lines.

    Run with ``CDL_DOCS_VALIDATE=1`` (printed when Sphinx starts), or
    ``python -c "import cdl_docs; print(*cdl_docs.validate([...]), sep='\\n')"``
    from ``docs/_ext``.
    """
    from numpydoc.validate import validate as np_validate
    project = tuple(p.split(".")[0] for p in packages)
    lines = []
    seen = set()
    for fullname, obj in public_objects(packages):
        if _kind(obj) == "data" or id(obj) in seen:
            continue
        seen.add(id(obj))
        names = [fullname]
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member, value in inspect.getmembers(obj):
                if member.startswith("_") or isinstance(
                        inspect.getattr_static(obj, member), property):
                    continue
                module = getattr(value, "__module__", "") or ""
                if callable(value) and module.split(".")[0] in project:
                    names.append(f"{fullname}.{member}")
        for name in names:
            try:
                result = np_validate(name)
            except Exception as err:  # noqa: BLE001
                lines.append(f"{name}: could not validate ({err})")
                continue
            for code, message in result["errors"]:
                lines.append(f"{name}: {code} {message}")
    return lines


def setup(app):
    app.add_config_value("cdl_api_packages", [], "env")
    app.add_config_value("cdl_cli_parser", "cdl.cli:build_parser", "env")
    app.connect("config-inited", _config_inited)
    app.connect("source-read", _source_read)
    app.connect("html-page-context", _html_page_context)
    return {"version": "1", "parallel_read_safe": True,
            "parallel_write_safe": True}
