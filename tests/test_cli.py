"""End-to-end tests of the ``cdl`` command on a real EEG run, and its errors."""
import csv
import os
import re
import subprocess
import sys

import mne
import numpy as np
import pytest

import cdl
from cdl import pipeline
from cdl.cli import main
from cdl.io import read_model_metadata
from cdl.model.occurrences import find_occurrences

FIT_ARGS = ["--n-atoms", "3", "--atom-duration", "0.3", "--n-iter", "5",
            "--l-freq", "2", "--h-freq", "40", "--quiet"]


def _cdl(*args, cwd=None):
    """Run the ``cdl`` command in a fresh process."""
    env = dict(os.environ, MPLBACKEND="Agg", COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "cdl.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=env, check=False)


@pytest.fixture(scope="module")
def fitted_dir(run3, tmp_path_factory):
    """``cdl fit`` once on S001R03 (3 short atoms, 5 iterations)."""
    out = tmp_path_factory.mktemp("fit")
    result = _cdl("fit", run3, "--out", out, *FIT_ARGS)
    assert result.returncode == 0, result.stderr
    return out, result


def _alts(html):
    return re.findall(r'<img[^>]*alt="([^"]*)"', html)


@pytest.mark.slow
@pytest.mark.requires_data
@pytest.mark.filterwarnings("ignore:Extra fields found:RuntimeWarning")  # no pandas
def test_fit_end_to_end(fitted_dir, run3):
    out, result = fitted_dir
    names = {p.name for p in out.iterdir()}
    assert names == {"model.npz", "report.html", "activations-annot.fif",
                     "activations-annot.txt", "activations-eve.fif"}
    assert result.stdout.startswith("Fitted 3 atoms of 0.3 s on S001R03.edf "
                                    "(64 eeg; 125 s)")
    assert "Traceback" not in result.stderr

    model = cdl.read_model(out / "model.npz")
    assert model.u_hat_.shape == (3, 64) and model.n_times_atom == 48
    assert model.info_["ch_names"][:2] == ["FC5", "FC3"]  # standard 10-05 names
    assert model.info_.get_montage() is not None
    metadata = read_model_metadata(out / "model.npz")
    assert metadata["recording"] == str(run3)
    assert metadata["load_options"]["l_freq"] == 2.
    assert metadata["load_options"]["h_freq"] == 40.
    assert metadata["scalings"] == model.scalings_ == {"eeg": pytest.approx(
        metadata["scalings"]["eeg"])} and metadata["n_times"] == 20000
    assert metadata["scaling"] == "std" and metadata["interrupted"] is False

    # every occurrence (local maximum of z, at the peak of |v|) is one
    # annotation and one event, at its sample; neighbouring nonzeros are one
    occ = find_occurrences(model.z_hat_, model.v_hat_)
    annot = mne.read_annotations(out / "activations-annot.fif")
    events = mne.read_events(out / "activations-eve.fif")
    assert len(annot) == len(events) == len(occ) > 0
    assert len(occ) < np.count_nonzero(model.z_hat_)
    order = np.lexsort((occ["atom"], occ["time"]))
    np.testing.assert_array_equal(events[:, 0], occ["time"][order])
    np.testing.assert_array_equal(events[:, 2], occ["atom"][order] + 1)
    assert set(annot.description) <= {"atom_0", "atom_1", "atom_2"}
    assert annot.extras[0]["amplitude"] > 0
    assert len(mne.read_annotations(out / "activations-annot.txt")) == len(occ)
    # the console counts the same occurrences
    counts = [int(line.split()[1]) for line in result.stdout.splitlines()[2:5]]
    assert counts == [int(np.sum(occ["atom"] == k)) for k in range(3)]
    # and each atom's share of the model, as diagnostics_ gives it
    assert "model_share" in result.stdout.splitlines()[1]
    # the column after main_band, e.g. 'delta (54%)'
    shown = [float(re.search(r"\)\s+<?([\d.]+)%", line).group(1))
             for line in result.stdout.splitlines()[2:5]]
    np.testing.assert_allclose(
        shown, [100 * r["model_share"] for r in model.diagnostics_], atol=0.51)

    html = (out / "report.html").read_text()
    alts = _alts(html)
    assert [a for a in alts if a.startswith("Atom ")] == ["Atom 0", "Atom 1",
                                                          "Atom 2"]
    assert "Signal averaged on atom occurrences" in alts
    assert "S001R03.edf" in html and "T1 (8)" in html  # data summary


@pytest.mark.slow
@pytest.mark.requires_data
def test_encode_report_and_dripp(fitted_dir, run3, tmp_path):
    out, _ = fitted_dir
    model_file = out / "model.npz"
    run4 = run3.with_name("S001R04.edf")
    result = _cdl("encode", model_file, run4, "--out", tmp_path / "enc", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Encoded S001R04.edf with the 3 atoms")
    events = mne.read_events(tmp_path / "enc" / "activations-eve.fif")
    assert len(events) > 0 and events[:, 0].max() < 20000
    assert "Atom 2" in _alts((tmp_path / "enc" / "report.html").read_text())

    # in-process from here on (same code path, no interpreter start-up)
    assert main(["report", str(model_file), "--out", str(tmp_path / "rep"),
                 "--quiet"]) == 0
    alts = _alts((tmp_path / "rep" / "report.html").read_text())
    # the fitted recording is still on disk: its averages are in the report
    assert "Atom 0" in alts and "Signal averaged on atom occurrences" in alts
    # with a recording (another run: it is encoded) the averages are added
    assert main(["report", str(model_file), str(run4), "--out",
                 str(tmp_path / "rep4"), "--quiet"]) == 0
    html = (tmp_path / "rep4" / "report.html").read_text()
    assert "Signal averaged on atom occurrences" in _alts(html)
    assert "S001R04.edf" in html

    assert main(["dripp", str(model_file), str(run3), "--n-boot", "5",
                 "--n-null", "19", "--out", str(tmp_path / "dripp"),
                 "--quiet"]) == 0
    with open(tmp_path / "dripp" / "dripp.csv") as fid:
        rows = list(csv.DictReader(fid))
    assert len(rows) == 3 * 3  # atoms x drivers T0, T1, T2
    assert {r["driver"] for r in rows} == {"T0", "T1", "T2"}
    assert list(rows[0]) == [
        "atom", "driver", "n_events", "baseline", "baseline_ci_low",
        "baseline_ci_high", "alpha", "alpha_ci_low", "alpha_ci_high", "m",
        "m_ci_low", "m_ci_high", "sigma", "sigma_ci_low", "sigma_ci_high",
        "p_value", "flags"]
    for row in rows:  # numbers, estimates inside the support [0.03, 0.8]
        assert 0 <= float(row["p_value"]) <= 1
        for name in ("m", "m_ci_low", "m_ci_high"):
            assert 0.03 <= float(row[name]) <= 0.8
        assert set(filter(None, row["flags"].split(";"))) <= {
            "collapsed", "m_at_edge", "few_events"}
    html = (tmp_path / "dripp" / "report.html").read_text()
    assert {"DriPP kernels", "DriPP intensity"} <= set(_alts(html))
    assert "DriPP parameters" in html

    # the drivers can be chosen (the same step, without the report)
    model, metadata = pipeline.load_model(model_file)
    recording = pipeline.load_like_model(model, metadata, run3)
    z, encoded = pipeline.activations_of(model, metadata, recording)
    assert not encoded and z is model.z_hat_  # the fitted recording: reused
    result = pipeline.run_dripp(recording, z, drivers=["T1", "T2"], n_boot=0)
    assert result["driver_names"] == ["T1", "T2"] and result["ci"] is None
    assert result["dripp"].alpha_.shape == (3, 2)
    assert [len(d) for d in result["dripp"].driver_times_] == [8, 7]


def _error_line(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 1, captured
    assert len(lines) == 1, captured.err  # one line, no traceback
    return lines[0]


@pytest.mark.requires_data
def test_one_line_errors(capsys, tmp_path, run3):
    out = str(tmp_path / "out")
    line = _error_line(capsys, ["fit", str(tmp_path / "missing.edf"), "--out", out])
    assert line == f"cdl fit: error: Recording file not found: {tmp_path}/missing.edf"

    junk = tmp_path / "junk.edf"
    junk.write_text("not an EDF file")
    assert "is not a recording MNE can read (.edf): read_raw_edf failed" in \
        _error_line(capsys, ["fit", str(junk), "--out", out])
    other = tmp_path / "notes.xyz"
    other.write_text("hello")
    assert "not a recording MNE can read (.xyz): no MNE reader for this " \
        "extension (unsupported format)" in _error_line(capsys, ["fit", str(other)])

    truncated = tmp_path / "truncated.edf"
    truncated.write_bytes(run3.read_bytes()[:300_000])
    assert "is truncated: its header announces 125 data records" in \
        _error_line(capsys, ["fit", str(truncated), "--out", out, "--quiet"])

    raw = mne.io.read_raw_edf(run3, preload=True, verbose=False).crop(0, 10)
    fif = tmp_path / "short_raw.fif"
    raw.save(fif, verbose=False)
    half = tmp_path / "half_raw.fif"
    half.write_bytes(fif.read_bytes()[:fif.stat().st_size // 2])
    assert "corrupted, truncated" in _error_line(capsys, ["fit", str(half)])

    line = _error_line(capsys, ["fit", str(fif), "--atom-duration", "20",
                                "--out", out, "--quiet"])
    assert re.search(r"atom duration 20 s \(3200 samples\) is longer than the "
                     r"recording \(10\.\d+ s, 1601 samples per trial\)", line)
    assert "--n-workers) sets the workers of the 'mpi' backend" in _error_line(
        capsys, ["fit", str(fif), "--backend", "local", "--n-workers", "2"])
    assert not (tmp_path / "out").exists()  # nothing written on bad input


def test_corrupted_model_errors(capsys, tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_text("not a model")
    for argv in (["encode", str(bad), "rec.edf"], ["report", str(bad)],
                 ["dripp", str(bad), "rec.edf"]):
        line = _error_line(capsys, argv)
        assert line.startswith(f"cdl {argv[0]}: error: {bad} is corrupted or "
                               f"truncated")
    line = _error_line(capsys, ["report", str(tmp_path / "none.npz")])
    assert line.endswith("Model file not found: " + str(tmp_path / "none.npz"))


@pytest.mark.slow
@pytest.mark.requires_data
def test_subprocess_exit_codes_and_help(fitted_dir, run3, tmp_path):
    out, _ = fitted_dir
    result = _cdl("fit", tmp_path / "missing.edf")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"cdl fit: error: Recording file not found: {tmp_path}/missing.edf"]
    result = _cdl("dripp", out / "model.npz", run3, "--drivers", "T9", "--quiet")
    assert result.returncode == 1 and "No annotation ['T9']" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = _cdl("fit", "--help")
    assert result.returncode == 0
    for text in ("--n-atoms N           number of atoms (default: 16)",
                 "atom length in seconds (default: 0.5)", "--backend {local,mpi}",
                 "--l-freq HZ", "(default: auto)", "'auto': 3 Hz",
                 "(default: 40.0)", "(default: 0.1)", "--no-revival",
                 "--reference REF", "(default: average)",
                 "--picks NAMES", "--out DIR", "--overwrite",
                 "--scaling {std,noise,global}"):
        assert " ".join(text.split()) in " ".join(result.stdout.split()), text


def test_help_and_usage_errors(capsys):
    for command in ("encode", "report", "dripp", "demo"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: cdl {command}")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "rec.edf", "--n-atoms", "0"])
    assert exit_info.value.code == 2
    assert "argument --n-atoms: expected a positive integer, got '0'" in \
        capsys.readouterr().err
    assert main([]) == 2  # no command: the help, and a usage exit code


def _fif(path, names=("Fz", "Cz", "Pz", "Oz", "C3"), sfreq=100., seed=0):
    rng = np.random.RandomState(seed)
    info = mne.create_info(list(names), sfreq, "eeg")
    raw = mne.io.RawArray(1e-5 * rng.randn(len(names), int(20 * sfreq)), info,
                          verbose=False)
    raw.set_annotations(mne.Annotations([2., 6., 11.], [0.] * 3, ["A", "B", "A"]))
    raw.save(path, verbose=False)
    return path


def test_encode_checks_channels_and_rate(capsys, tmp_path):
    fif = _fif(tmp_path / "train_raw.fif")
    out = tmp_path / "fit"
    assert main(["fit", str(fif), "--n-atoms", "2", "--atom-duration", "0.2",
                 "--n-iter", "2", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    model = str(out / "model.npz")
    assert cdl.read_model(model).info_.get_montage() is not None  # auto montage
    line = _error_line(capsys, ["encode", model, str(_fif(
        tmp_path / "fewer_raw.fif", names=("Fz", "Cz", "Pz", "Oz")))])
    assert line.endswith("lacks 1 channel(s) of the model: ['C3'].")
    line = _error_line(capsys, ["encode", model, str(_fif(
        tmp_path / "fast_raw.fif", sfreq=200.))])
    assert "sampled at 200 Hz after preprocessing, the model at 100 Hz" in line
    line = _error_line(capsys, ["dripp", model, str(fif), "--drivers", "A,C"])
    assert line.endswith("No annotation ['C'] in the recording; it has "
                         "['A', 'B'].")
    # the same recording with its channels in another order: same activations
    shuffled = mne.io.read_raw_fif(fif, preload=True, verbose=False)
    shuffled.reorder_channels(["C3", "Oz", "Pz", "Cz", "Fz"])
    shuffled.save(tmp_path / "shuffled_raw.fif", verbose=False)
    for name, path in (("same", fif), ("shuffled", tmp_path / "shuffled_raw.fif")):
        assert main(["encode", model, str(path), "--out", str(tmp_path / name),
                     "--quiet"]) == 0
    same = mne.read_events(tmp_path / "same" / "activations-eve.fif")
    assert len(same) > 0
    np.testing.assert_array_equal(
        same, mne.read_events(tmp_path / "shuffled" / "activations-eve.fif"))
