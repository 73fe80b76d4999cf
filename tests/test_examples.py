"""Run the gallery examples as scripts (the quick ones by default).

The long examples (30 s to 1 min each on two cores) run only with
``CDL_RUN_ALL_EXAMPLES=1``; all of them are checked to be sphinx-gallery
scripts with a title.
"""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUICK = {"plot_dripp_simulated.py", "plot_eegbci_blink_atoms.py",
         "plot_somato_mu.py", "plot_sample_atoms.py",
         "plot_neuromag_simulated.py"}
SCRIPTS = sorted(p for p in EXAMPLES.rglob("plot_*.py") if "dicod" not in p.parts)


def _run(script, env_extra):
    env = dict(os.environ, MPLBACKEND="Agg", **env_extra)
    result = subprocess.run([sys.executable, str(script)], capture_output=True,
                            text=True, timeout=300, env=env, cwd=script.parent,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_examples_are_gallery_scripts(script):
    source = script.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, f"{script.name} has no docstring"
    title, underline = docstring.splitlines()[:2]
    assert title and set(underline) == {"="} and len(underline) >= len(title)
    assert (script.parent / "README.txt").is_file()
    assert ".savefig(" not in source  # figures are shown, never written


def _needs_data(script, eegbci_path):
    env = {}
    if "eegbci" in script.read_text():
        env["CDL_DATA_EEGBCI"] = str(eegbci_path())
    return env


@pytest.fixture
def eegbci_folder(request):
    return lambda: request.getfixturevalue("eegbci_path")


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs(script, eegbci_folder, tmp_path):
    if script.name not in QUICK and not os.environ.get("CDL_RUN_ALL_EXAMPLES"):
        pytest.skip("long example: set CDL_RUN_ALL_EXAMPLES=1 to run it")
    env = _needs_data(script, eegbci_folder)
    # the MEG examples must skip cleanly when their dataset is absent
    env.update(CDL_DATA_SOMATO=str(tmp_path), CDL_DATA_SAMPLE=str(tmp_path),
               CDL_DATA_MEG=str(tmp_path))
    out = _run(script, env)
    if script.parent.name == "meg":
        assert out.startswith("Skipped: the ")
        assert "dataset is not on disk" in out
    if script.name == "plot_eegbci_blink_atoms.py":
        removed = {ch: int(pct) for ch, pct in
                   re.findall(r"(\w+): (\d+)% of the variance removed", out)}
        assert removed["Fp1"] > 40 and removed["Oz"] < 15  # frontal, not occipital
        assert re.search(r"\d+ blinks in 125 s", out)
    if script.name == "plot_dripp_simulated.py":
        m = float(re.search(r"atom 0, driver 0: m = ([\d.]+) s", out).group(1))
        assert abs(m - 0.3) < 0.03  # the true latency
    if script.name == "plot_eegbci_atoms.py":
        assert "blink / eye movement" in out


@pytest.mark.slow
@pytest.mark.requires_data
def test_neuromag_example_with_its_data(meg_file):
    """With the MEG test files, the Neuromag example finds the auditory atom
    and its latency (offline, in under 2 minutes on two cores)."""
    folder = meg_file("sample_audvis-ave.fif.gz").parent
    out = _run(EXAMPLES / "meg" / "plot_neuromag_simulated.py",
               {"CDL_DATA_MEG": str(folder)})
    assert "Skipped" not in out
    assert "'grad'" in out and "'mag'" in out and "'eeg'" in out  # scalings_
    latency = re.search(r"The stimuli drive atom \d+: peak (\d+) ms", out)
    assert latency and abs(int(latency.group(1)) - 100) <= 10
