"""Shared test fixtures (markers are registered in setup.cfg)."""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the matplotlib figures a test leaves open."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def cluster_calls(monkeypatch):
    """The requests a DICOD root sends its workers, in order: each command's
    name, and ``'solve'`` for a solve (commands plus replies: a round trip)."""
    from dicod._root import Cluster
    calls = []
    command, solve = Cluster.command, Cluster.solve

    def counted_command(self, name, **kw):
        calls.append(name)
        return command(self, name, **kw)

    def counted_solve(self, **kw):
        calls.append("solve")
        return solve(self, **kw)

    monkeypatch.setattr(Cluster, "command", counted_command)
    monkeypatch.setattr(Cluster, "solve", counted_solve)
    return calls


@pytest.fixture(scope="session")
def eegbci_path():
    """Folder of the shared EEGBCI recordings (S001R03.edf ... S001R10.edf).

    Taken from the environment variable CDL_DATA_EEGBCI, else
    ``<repo root>/../shared/data/eegbci``; the test is skipped when absent.
    """
    value = os.environ.get("CDL_DATA_EEGBCI")
    path = Path(value) if value else REPO_ROOT.parent / "shared" / "data" / "eegbci"
    if not path.is_dir() or not any(path.rglob("S001R*.edf")):
        pytest.skip(f"EEGBCI data not found in {path} (set CDL_DATA_EEGBCI to a "
                    f"folder holding S001R03.edf ... S001R10.edf).")
    return path


@pytest.fixture(scope="session")
def run3(eegbci_path):
    """Path of S001R03.edf (EEGBCI subject 1, run 3), skipped when absent."""
    fname = next(eegbci_path.rglob("S001R03.edf"), None)
    if fname is None:
        pytest.skip(f"S001R03.edf not found in {eegbci_path}")
    return fname


def meg_dir():
    """Folder of MNE's small MEG test files: CDL_DATA_MEG, else
    ``<repo root>/../shared/data/meg``."""
    value = os.environ.get("CDL_DATA_MEG")
    return Path(value) if value else REPO_ROOT.parent / "shared" / "data" / "meg"


@pytest.fixture(scope="session")
def meg_file():
    """``meg_file(name)``: the path of a MEG test file, the test skipped when
    it is absent."""
    def get(name):
        path = meg_dir() / name
        if not path.is_file():
            pytest.skip(f"MEG test file {name} not found in {meg_dir()} (set "
                        f"CDL_DATA_MEG to the folder of MNE's MEG test files).")
        return path
    return get


@pytest.fixture(scope="session")
def sample_info(meg_file):
    """The Info of MNE's sample evoked file (Neuromag: 204 grad, 102 mag, 60
    EEG, EOG, stim; digitised EEG)."""
    import mne

    evoked = mne.read_evokeds(meg_file("sample_audvis-ave.fif.gz"), condition=0,
                              verbose=False)
    return evoked.info


@pytest.fixture(scope="session")
def neuromag_sim(meg_file):
    """A simulated Neuromag recording (80 s, 80 stimuli) and its truth."""
    from cdl.simulate import simulate_neuromag_raw

    return simulate_neuromag_raw(meg_file("sample_audvis-ave.fif.gz"),
                                 duration=80., blink_rate=0.1, random_state=0)
