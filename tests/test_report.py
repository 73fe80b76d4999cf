"""Tests of cdl.report: sections, one image per atom, rendering in Chromium."""
import re
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cdl import BatchCDL  # noqa: E402
from cdl.dripp import DriPP, simulate_dripp, simulate_drivers  # noqa: E402
from cdl.report import (  # noqa: E402
    activation_counts,
    add_dripp_section,
    atom_diagnostics,
    atom_summary,
    dripp_display,
    dripp_table,
    make_report,
)
from cdl.simulate import simulate_eeg  # noqa: E402

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
# Appended to a copy of the report: counts the images the browser decoded.
IMAGE_CHECK = """<script>window.addEventListener('load', function () {
  var all = Array.from(document.images);
  var ok = all.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  var d = document.createElement('div'); d.id = 'cdl-image-check';
  d.textContent = 'CDL_IMAGES=' + ok.length + '/' + all.length;
  document.body.appendChild(d);
});</script>"""


@pytest.fixture(scope="module")
def fitted():
    raw, truth = simulate_eeg(duration=12., sfreq=100., random_state=0)
    X = raw.get_data()[None]
    X /= X.std()
    model = BatchCDL(n_atoms=4, n_times_atom=truth.n_times_atom, n_iter=5,
                     random_state=0).fit(X)
    model.info_ = raw.info
    return model, X


@pytest.fixture(scope="module")
def dripp_fit():
    t_max = 300.
    drivers = simulate_drivers(t_max, n_drivers=2, isi=2., random_state=0)
    atoms = simulate_dripp(drivers, t_max, [0.2, 0.2], [[0.8, 0.], [0., 0.]],
                           [[0.3, 0.3], [0.3, 0.3]], [[0.05, 0.05], [0.1, 0.1]],
                           random_state=1)
    dripp = DriPP().fit(atoms, drivers, t_max)
    return dripp, dripp.likelihood_ratio_test(), dripp.bootstrap_ci(
        n_boot=20, random_state=0)


def _alts(html):
    return re.findall(r'<img[^>]*alt="([^"]*)"', html)


@pytest.fixture(scope="module")
def report_file(fitted, dripp_fit, tmp_path_factory):
    """The full report (with atom-locked averages and DriPP), saved once."""
    model, X = fitted
    dripp, lrt, ci = dripp_fit
    report = make_report(model, title="test", X=X,
                         data_summary=dict(file="sim", channels=64),
                         preprocessing=dict(l_freq=1., picks="eeg"))
    add_dripp_section(report, dripp, ["A", "B"], lrt, ci)
    fname = tmp_path_factory.mktemp("report") / "report.html"
    report.save(fname, open_browser=False, verbose=False)
    return fname


def test_report_has_one_image_per_atom(report_file):
    html = report_file.read_text()
    alts = _alts(html)
    assert sorted(a for a in alts if a.startswith("Atom ")) == \
        [f"Atom {k}" for k in range(4)]
    assert {"Signal averaged on atom occurrences", "Convergence",
            "Activations (trial 0)", "DriPP kernels", "DriPP intensity"} \
        <= set(alts)
    for text in ("Preprocessing", "Parameters", "Occurrences per atom",
                 "n_iter_done", "l_freq", "DriPP parameters", "p_value"):
        assert text in html


def test_atom_summary_gives_each_atoms_model_share(fitted, report_file):
    model, _ = fitted
    rows = atom_diagnostics(model)
    shown = np.array([float(r["model_share"].rstrip("%")) for r in rows])
    shares = np.array([r["model_share"] for r in model.diagnostics_])
    np.testing.assert_allclose(shown, 100 * shares, atol=0.51)
    assert abs(shown.sum() - 100.) <= 0.5 * len(rows)
    assert "model_share" in report_file.read_text()
    # the report's summary shows the band shares as percentages too
    summary = atom_summary(model)
    assert [r["label"] for r in summary] == [r["label"] for r in rows]
    for row in summary:
        bands = [float(row[b].lstrip("<").rstrip("%"))
                 for b in ("delta", "theta", "alpha", "beta", "gamma")]
        assert abs(sum(bands) - 100.) <= 2.5, row


def test_activation_counts():
    z = np.zeros((2, 2, 50))
    z[0, 0, [3, 4, 10]] = [1., 2., 3.]  # 3-4 is one peak (at 4), 10 another
    z[1, 0, 20] = 1.
    rows = activation_counts(z, sfreq=10.)
    assert rows[0]["occurrences"] == 3 and rows[1]["occurrences"] == 0
    assert rows[0]["rate_per_s"] == pytest.approx(3 / 10.)
    assert rows[0]["mean_amplitude"] == pytest.approx(2.)


def test_dripp_section(fitted, dripp_fit, tmp_path):
    model, _ = fitted
    dripp, lrt, ci = dripp_fit
    rows = dripp_table(dripp, ["A", "B"], lrt, ci)
    assert len(rows) == 4 and [r["driver"] for r in rows] == ["A", "B", "A", "B"]
    assert rows[0]["p_value"] < 1e-3 < rows[3]["p_value"]  # atom 0 <- A only
    low, high = ci["m"][0, 0]
    # numbers only (dripp.csv): estimate, interval, p-value, flags
    assert (rows[0]["m_ci_low"], rows[0]["m_ci_high"]) == (low, high)
    assert all(isinstance(rows[0][k], float) for k in
               ("baseline", "alpha", "m", "sigma", "p_value", "alpha_ci_low"))
    assert rows[0]["flags"] == ""
    assert dripp.lower <= rows[0]["m"] <= dripp.upper
    # the report shows them as "value [low, high]"
    assert dripp_display(rows)[0]["m"] == f"{rows[0]['m']:.3g} [{low:.3g}, {high:.3g}]"
    assert "m_ci_low" not in dripp_table(dripp, ["A", "B"])[0]  # no CI
    report = add_dripp_section(make_report(model), dripp, ["A", "B"])
    report.save(tmp_path / "r.html", open_browser=False, verbose=False)
    html = (tmp_path / "r.html").read_text()
    assert {"DriPP kernels", "DriPP intensity"} <= set(_alts(html))
    assert "p_value" not in html  # no test given: no p-value column
    # no signal: the averages' section says why instead of disappearing
    assert "Signal averaged on atom occurrences" not in _alts(html)
    assert "No recording was given" in html


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (apt-get install chromium): the "
                "report cannot be rendered")


@pytest.mark.slow
def test_report_renders_in_chromium(report_file, tmp_path):
    browser = _chromium()
    html = report_file.read_text()
    n_images = len(_alts(html))
    # MNE logo, 4 atoms, activations, averages, convergence, 2 DriPP figures
    assert n_images == 1 + 4 + 3 + 2
    checked = tmp_path / "checked.html"
    checked.write_text(html.replace("</body>", IMAGE_CHECK + "</body>"))
    flags = CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--virtual-time-budget=10000",
                          "--dump-dom", checked.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False).stdout
    found = re.findall(r"CDL_IMAGES=(\d+)/(\d+)", dom)
    assert found, "the check script did not run in Chromium"
    assert found[-1] == (str(n_images), str(n_images))  # all decoded

    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, "--window-size=1280,2000",
                    f"--screenshot={shot}", report_file.as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (2000, 1280)
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3),
                        axis=0)
    assert len(colours) > 100  # not a blank page: text and figures rendered


def test_band_shares_cover_the_spectrum():
    """The bands of the console table and the labels are the same, and the
    shares of a waveform's power sum to 1 at any sampling rate (a 100 Hz
    burst sampled at 600 Hz is gamma, as its label says)."""
    from cdl.model import BANDS as LABEL_BANDS
    from cdl.report import BANDS, atom_features

    assert [(n, *BANDS[n]) for n in BANDS] == list(LABEL_BANDS)
    t = np.arange(120) / 600.
    v = np.hanning(120) * np.sin(2 * np.pi * 100. * t)

    class Model:
        u_hat_, v_hat_ = np.ones((1, 3)), v[None]

    row = atom_features(Model(), sfreq=600.)[0]
    assert row["peak_hz"] == pytest.approx(100., abs=3.)
    assert row["gamma"] > 0.99
    assert sum(row[n] for n in BANDS) == pytest.approx(1., abs=1e-9)
