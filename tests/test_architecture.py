"""The import contracts of pyproject.toml hold (layers, MPI, no circles)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter", reason="import-linter is in the test extra")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import "
         "lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_a_broken_layer_is_reported(tmp_path):
    """The check can fail: a lower layer importing an upper one is caught."""
    pytest.importorskip("importlinter", reason="import-linter is in the test extra")
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["cdl"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "inverted"\ntype = "layers"\n'
        'layers = ["cdl.utils", "cdl.estimators"]\n')
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import "
         f"lint_imports; sys.exit(lint_imports(config_filename={str(config)!r}, "
         "no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout
