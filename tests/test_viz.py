"""Tests of cdl.viz: each plot returns a Figure with the expected axes."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cdl import BatchCDL  # noqa: E402
from cdl.dripp import DriPP, simulate_dripp, simulate_drivers  # noqa: E402
from cdl.simulate import simulate_eeg  # noqa: E402
from cdl.viz import (  # noqa: E402
    atom_locked_average,
    plot_activations,
    plot_atom_evoked,
    plot_atoms,
    plot_convergence,
    plot_dripp_intensity,
    waveform_spectrum,
)


@pytest.fixture(scope="module")
def fitted():
    """A 3-atom model fitted (briefly) on 10 s of simulated 64-channel EEG."""
    raw, truth = simulate_eeg(duration=10., sfreq=100., random_state=0)
    X = raw.get_data()[None]
    X /= X.std()
    model = BatchCDL(n_atoms=3, n_times_atom=truth.n_times_atom, n_iter=5,
                     random_state=0).fit(X)
    model.info_ = raw.info
    return model, X


def _n_images(ax):
    return len(ax.images) + len(ax.collections)


def test_plot_atoms_layout(fitted, tmp_path, monkeypatch):
    model, _ = fitted
    monkeypatch.chdir(tmp_path)
    fig = plot_atoms(model, show=False)
    assert isinstance(fig, Figure)
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    # topomap (one channel type: EEG), waveform, spectrum per atom, and the
    # topomaps' colour bars
    assert len(fig.axes) == 9 + 3
    for k, (topo, wave, psd) in enumerate(axes):
        assert topo.get_title() == f"Atom {k}: eeg (a.u.)"  # no scalings_
        assert _n_images(topo) > 0  # a topomap was drawn
        assert wave.get_xlabel() == "Time (s)"
        times = wave.get_lines()[0].get_xdata()
        assert times[-1] == pytest.approx((model.n_times_atom - 1) / 100.)
        peak = np.argmax(np.abs(model.v_hat_[k])) / 100.  # the timing point
        assert wave.get_lines()[1].get_xdata()[0] == pytest.approx(peak)
        assert psd.get_xlabel() == "Frequency (Hz)"
        assert psd.get_xlim()[1] == pytest.approx(50.)  # Nyquist
    assert list(tmp_path.iterdir()) == []  # plots never write files

    fig = plot_atoms((model.u_hat_, model.v_hat_), atoms=[1], show=False)
    assert len(fig.axes) == 3  # no info: bars and samples
    assert fig.axes[0].get_xlabel() == "Channel"
    assert fig.axes[1].get_xlabel() == "Time (samples)"

    # drawn with the largest entry of u positive: u v^T unchanged
    u, v = np.array([[0.2, -0.9, 0.1]]), np.array([[1., 2., -1.]])
    fig = plot_atoms((u, v), show=False)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    np.testing.assert_allclose(heights, -u[0])
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), -v[0])


def test_power_db_and_spectra_in_db(fitted):
    from cdl.viz.atoms import DB_FLOOR, power_db

    power = np.array([4., 2., 0.4, 0., 4e-9])
    np.testing.assert_allclose(
        power_db(power), [0., 10 * np.log10(0.5), -10., DB_FLOOR, DB_FLOOR])
    np.testing.assert_array_equal(power_db(np.zeros(3)), DB_FLOOR)  # dead atom
    model, _ = fitted
    psd = plot_atoms(model, atoms=[1], show=False).axes[2]
    freqs, power = waveform_spectrum(model.v_hat_[1], 100.)
    np.testing.assert_allclose(psd.get_lines()[0].get_ydata(),
                               np.maximum(10 * np.log10(power / power.max()),
                                          DB_FLOOR))
    assert psd.get_ylabel() == "dB re peak" and psd.get_yscale() == "linear"


def test_fixed_layout_margins_in_inches():
    from cdl.viz._mpl import fixed_layout

    fig, axes = plt.subplots(3, 2, figsize=(8., 7.))
    fixed_layout(fig, 3, 2, left=0.8, right=0.2, top=0.45, bottom=0.6,
                 hspace=0.95, wspace=0.6)
    boxes = np.array([[ax.get_position().bounds for ax in row] for row in axes])
    x0, y0, w, h = (boxes[..., i] for i in range(4))
    np.testing.assert_allclose(x0[:, 0] * 8, 0.8)  # left margin
    np.testing.assert_allclose((1 - x0[:, 1] - w[:, 1]) * 8, 0.2)
    np.testing.assert_allclose((1 - y0[0] - h[0]) * 7, 0.45)  # top row
    np.testing.assert_allclose(y0[2] * 7, 0.6)  # bottom row
    np.testing.assert_allclose((x0[:, 1] - x0[:, 0] - w[:, 0]) * 8, 0.6)
    np.testing.assert_allclose((y0[0] - y0[1] - h[1]) * 7, 0.95)
    plt.close(fig)


def test_waveform_spectrum_peak():
    sfreq = 200.
    t = np.arange(100) / sfreq
    freqs, power = waveform_spectrum(np.sin(2 * np.pi * 20. * t), sfreq)
    assert freqs[np.argmax(power)] == pytest.approx(20., abs=1.)
    assert freqs[-1] == pytest.approx(sfreq / 2)


def test_plot_activations_and_convergence(fitted):
    model, _ = fitted
    fig = plot_activations(model.z_hat_, sfreq=100., show=False)
    assert len(fig.axes) == 3
    assert fig.axes[-1].get_xlabel() == "Time (s)"
    n_stems = sum(len(c.get_segments()) for c in fig.axes[0].collections)
    assert n_stems == np.count_nonzero(model.z_hat_[0, 0])
    fig = plot_activations(model.z_hat_, atoms=[2], show=False)
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "Atom 2"

    fig = plot_convergence(model.pobj_, model.times_, show=False)
    assert len(fig.axes) == 1
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert len(y) == len(model.pobj_) and np.all(y > 0)


def _planted(n_channels=6, n_times=3000, n_times_atom=40, seed=0):
    """X with one rank-1 atom at known onsets, plus a little noise."""
    rng = np.random.RandomState(seed)
    u = rng.randn(n_channels)
    u /= np.linalg.norm(u)
    v = np.hanning(n_times_atom) * np.sin(np.linspace(0, 4 * np.pi, n_times_atom))
    onsets = np.arange(100, n_times - 200, 150)
    z = np.zeros((1, 1, n_times - n_times_atom + 1))
    z[0, 0, onsets] = 2.
    X = 0.01 * rng.randn(1, n_channels, n_times)
    for t in onsets:
        X[0, :, t:t + n_times_atom] += 2. * np.outer(u, v)
    return X, z, u, v, onsets


def test_atom_locked_average_recovers_the_atom():
    X, z, u, v, onsets = _planted()
    average, n_occ = atom_locked_average(X, z, 0, n_before=10, n_after=50)
    assert n_occ == len(onsets)
    np.testing.assert_allclose(average[:, 10:50], 2. * np.outer(u, v), atol=0.01)
    # locked on a point of the waveform: the same average, shifted
    shifted, _ = atom_locked_average(X, z, 0, n_before=15, n_after=45, offset=5)
    np.testing.assert_allclose(shifted, average)
    # a plateau or a shoulder of z is one occurrence
    z2 = z.copy()
    z2[0, 0, onsets[0] - 1] = 1.
    z2[0, 0, onsets[1] + 1] = 2.
    assert atom_locked_average(X, z2, 0, 10, 50)[1] == len(onsets)
    # windows leaving the trial are dropped; n_max keeps the largest
    z[0, 0, 3] = 5.
    _, n_occ = atom_locked_average(X, z, 0, n_before=10, n_after=50)
    assert n_occ == len(onsets)
    _, n_occ = atom_locked_average(X, z, 0, n_before=0, n_after=50, n_max=4)
    assert n_occ == 4
    assert atom_locked_average(X, np.zeros_like(z), 0, 10, 50) == (None, 0)


def test_plot_atom_evoked(fitted):
    X, z, u, v, _ = _planted()

    class Model:  # the attributes plot_atom_evoked reads
        u_hat_, v_hat_, z_hat_, n_times_atom, info_ = u[None], v[None], z, 40, None

    fig = plot_atom_evoked(Model(), X, show=False)
    assert len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    peak = int(np.argmax(np.abs(v)))
    # the atom's course (its spatial filter u on the average), locked on the
    # peak of |v|: the window from -peak - 0.1 s (0.1 s = 0.1 samples here)
    course = next(ln for ln in lines if ln.get_label() == "u @ average")
    np.testing.assert_allclose(course.get_xdata()[0], -peak)
    np.testing.assert_allclose(course.get_ydata()[:40], 2. * v, atol=0.01)
    scaled = next(ln for ln in lines if ln.get_label() == "waveform v (scaled)")
    np.testing.assert_allclose(scaled.get_ydata(), 2. * v, atol=0.01)
    np.testing.assert_allclose(scaled.get_xdata(), np.arange(40) - peak)

    model, X_eeg = fitted
    fig = plot_atom_evoked(model, X_eeg, atoms=[0, 2], show=False)
    assert isinstance(fig, Figure) and len(fig.axes) == 4 + 2  # + colour bars
    channels = fig.axes[0].collections[0].get_segments()  # grey, one per channel
    assert len(channels) == X_eeg.shape[1]
    course = next(ln for ln in fig.axes[0].get_lines()
                  if ln.get_label() == "u @ average")
    np.testing.assert_allclose(  # the course is u applied to those channels
        model.u_hat_[0] @ np.array([seg[:, 1] for seg in channels]),
        course.get_ydata())
    low, high = fig.axes[0].get_ylim()  # the channels are inside the view
    assert low <= min(seg[:, 1].min() for seg in channels)
    assert high >= max(seg[:, 1].max() for seg in channels)
    assert fig.axes[0].get_xlabel() == "Time from occurrence, peak of |v| (s)"
    with pytest.raises(ValueError, match="must have shape"):
        plot_atom_evoked(model, X_eeg[:, :10], show=False)


def test_plot_dripp_intensity():
    t_max = 200.
    drivers = simulate_drivers(t_max, n_drivers=2, isi=2., random_state=0)
    atoms = simulate_dripp(drivers, t_max, [0.2, 0.3], [[0.8, 0.], [0., 0.]],
                           [[0.3, 0.3], [0.3, 0.3]], [[0.05, 0.05], [0.1, 0.1]],
                           random_state=0)
    dripp = DriPP().fit(atoms, drivers, t_max)
    fig = plot_dripp_intensity(dripp, 0., 20., driver_names=["A", "B"],
                               show=False)
    assert len(fig.axes) == 2
    lam = fig.axes[0].get_lines()[0].get_ydata()
    assert lam.min() == pytest.approx(dripp.baseline_[0], rel=1e-6)
    assert lam.max() > 2 * dripp.baseline_[0]  # driven bumps after stimuli
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["A", "B"]
    with pytest.raises(ValueError, match="tmax"):
        plot_dripp_intensity(dripp, 30., 10., show=False)
    plt.close("all")
