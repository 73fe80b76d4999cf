"""The ``cdl`` command: nothing lost, nothing silent. Result folders are never
overwritten without --overwrite (which removes the stale files), reports keep
every section, Ctrl-C exits 130 with the model written, bad files are named,
epochs files fit, and MEG files of every vendor fit and report."""
import os
import re
import signal
import subprocess
import sys

import mne
import numpy as np
import pytest
from processes import INTERRUPTIBLE

import cdl
from cdl.cli import main
from cdl.io import read_model_metadata

QUICK = ["--n-iter", "2", "--quiet"]


def _fif(path, names=("Fz", "Cz", "Pz", "Oz", "C3"), sfreq=100., seed=0,
         duration=20., nan_channel=None):
    rng = np.random.RandomState(seed)
    info = mne.create_info(list(names), sfreq, "eeg")
    data = 1e-5 * rng.randn(len(names), int(duration * sfreq))
    if nan_channel is not None:
        data[names.index(nan_channel), 100:110] = np.nan
    raw = mne.io.RawArray(data, info, verbose=False)
    onsets = np.arange(1., duration - 1., 0.9)
    raw.set_annotations(mne.Annotations(onsets, 0., ["A", "B"] * (len(onsets) // 2)
                                        + ["A"] * (len(onsets) % 2)))
    raw.save(path, overwrite=True, verbose=False)
    return path


def _alts(html):
    return re.findall(r'<img[^>]*alt="([^"]*)"', html)


def _error_line(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 1, captured
    assert len(lines) == 1, captured.err
    return lines[0]


def _fit(rec, out, *extra):
    return main(["fit", str(rec), "--out", str(out), "--n-atoms", "2",
                 "--atom-duration", "0.2", *QUICK, *extra])


def test_full_out_refused_and_overwrite_cleans(tmp_path, capsys):
    rec = _fif(tmp_path / "rec_raw.fif")
    other = _fif(tmp_path / "other_raw.fif", seed=1)
    out = tmp_path / "out"
    assert _fit(rec, out) == 0
    assert main(["dripp", str(out / "model.npz"), str(rec), "--n-boot", "0",
                 "--n-null", "9", "--quiet"]) == 0
    assert main(["encode", str(out / "model.npz"), str(other), "--quiet"]) == 0
    capsys.readouterr()
    before = sorted(p.name for p in out.iterdir())
    assert {"dripp.csv", "dripp.npz", "encode-other_raw", "model.npz"} <= set(before)

    # a second fit into the same folder is refused, and nothing is touched
    line = _error_line(capsys, ["fit", str(rec), "--out", str(out), "--n-atoms",
                                "1", "--atom-duration", "0.2", *QUICK])
    assert f"{out} holds an earlier result" in line and "--overwrite" in line
    assert sorted(p.name for p in out.iterdir()) == before
    assert cdl.read_model(out / "model.npz").u_hat_.shape[0] == 2
    # so are a second DriPP, encoding and report
    for argv in (["dripp", str(out / "model.npz"), str(rec)],
                 ["encode", str(out / "model.npz"), str(other)],
                 ["report", str(out / "model.npz")]):
        assert "holds an earlier result" in _error_line(capsys, argv)

    # --overwrite: the new model, and the stale files of the old one are gone
    assert _fit(rec, out, "--overwrite", "--n-atoms", "1") == 0
    assert cdl.read_model(out / "model.npz").u_hat_.shape[0] == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "activations-annot.fif", "activations-annot.txt", "activations-eve.fif",
        "model.npz", "report.html"]
    assert main(["dripp", str(out / "model.npz"), str(rec), "--n-boot", "0",
                 "--n-null", "9", "--quiet"]) == 0
    assert main(["dripp", str(out / "model.npz"), str(rec), "--n-boot", "0",
                 "--n-null", "9", "--quiet", "--overwrite"]) == 0


def test_report_keeps_every_section(tmp_path):
    rec = _fif(tmp_path / "rec_raw.fif")
    out = tmp_path / "out"
    assert _fit(rec, out) == 0
    assert main(["dripp", str(out / "model.npz"), str(rec), "--n-boot", "3",
                 "--n-null", "9", "--quiet"]) == 0
    full = {"Atom 0", "Atom 1", "Signal averaged on atom occurrences",
            "DriPP kernels", "DriPP intensity", "Convergence"}
    assert full <= set(_alts((out / "report.html").read_text()))
    # rebuilt from the folder: the fitted recording (still on disk), the
    # DriPP result
    assert main(["report", str(out / "model.npz"), "--overwrite", "--quiet"]) == 0
    html = (out / "report.html").read_text()
    assert full <= set(_alts(html)) and "DriPP parameters" in html
    # without the recording, the averages' section says how to get it back
    rec.unlink()
    assert main(["report", str(out / "model.npz"), "--overwrite", "--quiet"]) == 0
    html = (out / "report.html").read_text()
    assert full - {"Signal averaged on atom occurrences"} <= set(_alts(html))
    assert "Signal averaged on atom occurrences" in html
    assert "run cdl report MODEL RECORDING" in html


def test_sigint_keeps_the_model_and_exits_130(tmp_path):
    rng = np.random.RandomState(0)
    info = mne.create_info([f"EEG{i:02d}" for i in range(20)], 100., "eeg")
    raw = mne.io.RawArray(1e-5 * rng.randn(20, 20000), info, verbose=False)
    raw.save(tmp_path / "long_raw.fif", verbose=False)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "cdl.cli", "fit", str(tmp_path / "long_raw.fif"),
         "--out", str(out), "--n-atoms", "8", "--n-iter", "5000", "--reg", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, MPLBACKEND="Agg"), **INTERRUPTIBLE)
    seen = ""  # the progress bar shows a learning iteration done: interrupt
    while not re.search(r"\|\s*[1-9]\d*/5000", seen):
        char = process.stderr.read(1)
        assert char, f"cdl fit ended before an iteration: {seen}"
        seen += char
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=600)
    assert process.returncode == 130
    assert "Interrupted (Ctrl-C) after" in stdout
    assert "the model learned so far is written" in stdout
    assert read_model_metadata(out / "model.npz")["interrupted"] is True
    assert cdl.read_model(out / "model.npz").n_iter_ < 5000
    assert "The fit was interrupted (Ctrl-C)" in (out / "report.html").read_text()


def test_bad_files_and_settings_are_named(tmp_path, capsys, sample_info):
    out = str(tmp_path / "out")
    text = tmp_path / "notes.txt"
    text.write_text("1 2 3\n")
    line = _error_line(capsys, ["fit", str(text), "--out", out])
    assert f"{text} is not a recording MNE can read (.txt)" in line
    assert "AssertionError" in line  # what the reader said, not a traceback
    evoked = mne.EvokedArray(np.zeros((3, 50)), mne.create_info(3, 100., "eeg"))
    evoked.save(tmp_path / "x-ave.fif", verbose=False)
    line = _error_line(capsys, ["fit", str(tmp_path / "x-ave.fif"), "--out", out])
    assert "is an evoked (averaged) FIF file, not supported by cdl fit" in line
    nan = _fif(tmp_path / "nan_raw.fif", nan_channel="Pz")
    line = _error_line(capsys, ["fit", str(nan), "--out", out])
    assert "the recording holds NaN or infinite values in 1 channel(s): Pz" in line
    rec = _fif(tmp_path / "rec_raw.fif")
    line = _error_line(capsys, ["fit", str(rec), "--reg", "1", "--out", out])
    assert "reg (--reg) must be in (0, 1)" in line
    line = _error_line(capsys, ["fit", str(rec), "--atom-duration", "15",
                                "--out", out])
    assert "is more than half a trial" in line
    assert not (tmp_path / "out").exists()  # nothing written on bad input


def test_fit_epochs_file(tmp_path):
    raw = mne.io.read_raw_fif(_fif(tmp_path / "rec_raw.fif"), verbose=False)
    events, event_id = mne.events_from_annotations(raw, verbose=False)
    epochs = mne.Epochs(raw, events, event_id, tmin=-0.2, tmax=0.6,
                        baseline=None, preload=True, verbose=False)
    epochs.save(tmp_path / "rec-epo.fif", verbose=False)
    out = tmp_path / "out"
    assert main(["fit", str(tmp_path / "rec-epo.fif"), "--out", str(out),
                 "--n-atoms", "2", "--atom-duration", "0.2", *QUICK]) == 0
    model = cdl.read_model(out / "model.npz")
    assert model.z_hat_.shape[:2] == (len(epochs), 2)  # one trial per epoch
    metadata = read_model_metadata(out / "model.npz")
    assert metadata["epochs"]["n_epochs"] == len(epochs)
    assert metadata["load_options"]["l_freq"] == "auto"  # no high-pass here
    # DriPP against the epochs' events, at time 0 of each epoch
    assert main(["dripp", str(out / "model.npz"), str(tmp_path / "rec-epo.fif"),
                 "--n-boot", "0", "--n-null", "9", "--upper", "0.5",
                 "--quiet"]) == 0
    from cdl.pipeline import load_dripp
    result = load_dripp(out / "dripp.npz")
    assert result["driver_names"] == ["A", "B"]
    n_times = model.z_hat_.shape[2] + model.n_times_atom - 1
    expected = (np.arange(len(epochs)) * n_times + 20) / 100.
    np.testing.assert_allclose(np.sort(np.concatenate(
        result["dripp"].driver_times_)), expected)


@pytest.mark.slow
@pytest.mark.requires_data
@pytest.mark.parametrize("name, duration, expected", [
    ("kit_test_raw.fif", "0.1", "157 mag"),
    ("bti_4d_test_raw.fif", "0.05", "248 mag"),
    ("ctf_comp_test_raw.fif", "0.1", "274 mag"),
])
def test_each_vendor_file_fits_and_reports(meg_file, tmp_path, name, duration,
                                           expected, capsys):
    out = tmp_path / "out"
    assert main(["fit", str(meg_file(name)), "--out", str(out), "--n-atoms", "3",
                 "--atom-duration", duration, "--n-iter", "3", "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert f"({expected}; " in stdout  # data channels only: no ref_meg, stim
    model = cdl.read_model(out / "model.npz")
    assert set(model.info_.get_channel_types()) == {"mag"}
    assert list(model.scalings_) == ["mag"]
    html = (out / "report.html").read_text()
    alts = _alts(html)
    assert {"Atom 0", "Atom 1", "Atom 2",
            "Signal averaged on atom occurrences"} <= set(alts)
    assert "Channel types" in html and expected in html
    metadata = read_model_metadata(out / "model.npz")
    assert metadata["compensation_grade"] == (3 if "ctf" in name else None)
    # encoding the same file applies the model's factors and grade
    assert main(["encode", str(out / "model.npz"), str(meg_file(name)),
                 "--quiet"]) == 0
    assert len(mne.read_events(out / f"encode-{name[:-4]}" /
                               "activations-eve.fif")) > 0


@pytest.mark.slow
@pytest.mark.requires_data
def test_neuromag_simulation_fit_then_dripp_finds_the_locked_atom(
        meg_file, tmp_path, capsys):
    """``cdl fit`` with the default picks then ``cdl dripp`` on a simulated
    Neuromag recording (366 MEG and EEG channels, 80 stimuli, an atom peaking
    100 ms after each with 4 ms jitter): the locked atom has p < 1e-3, a
    latency within 10 ms of 100 ms and sigma below 30 ms; the alpha and blink
    atoms are not driven (p > 0.01)."""
    import csv

    from cdl.io.scaling import pattern_to_physical
    from cdl.simulate import simulate_neuromag_raw

    raw, truth = simulate_neuromag_raw(meg_file("sample_audvis-ave.fif.gz"),
                                       random_state=4)
    raw.save(tmp_path / "sim_raw.fif", verbose=False)
    out = tmp_path / "out"
    assert main(["fit", str(tmp_path / "sim_raw.fif"), "--out", str(out),
                 "--n-atoms", "5", "--reg", "0.05", "--atom-duration", "0.4",
                 "--quiet"]) == 0
    assert "(204 grad, 102 mag, 60 eeg; 120 s)" in capsys.readouterr().out
    assert main(["dripp", str(out / "model.npz"), str(tmp_path / "sim_raw.fif"),
                 "--n-boot", "0", "--quiet"]) == 0
    with open(out / "dripp.csv") as fid:
        rows = list(csv.DictReader(fid))
    model = cdl.read_model(out / "model.npz")
    noise = np.array([truth.noise_std[t] for t in truth.ch_types])
    u = pattern_to_physical(model.u_hat_, truth.ch_types, model.scalings_) / noise
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    match = []
    for k in range(3):
        u_true = truth.u[k] / noise
        match.append(int(np.argmax(np.abs(u @ (u_true / np.linalg.norm(u_true))))))
    locked = rows[match[0]]
    assert float(locked["p_value"]) < 1e-3
    assert abs(float(locked["m"]) - truth.latency) <= 0.010
    assert float(locked["sigma"]) < 0.030 and locked["flags"] == ""
    for k in match[1:]:
        assert float(rows[k]["p_value"]) > 0.01
    html = (out / "report.html").read_text()
    assert {f"Atom {k}" for k in range(5)} <= set(_alts(html))
    assert "DriPP parameters" in html and "204 grad, 102 mag, 60 eeg" in html
