"""BatchCDL on a real EEG run: monotone objective and an eye-blink atom."""
import numpy as np
import pytest

from cdl import BatchCDL
from cdl.viz import waveform_spectrum

FRONTOPOLAR = {"Fp1", "Fpz", "Fp2", "AF7", "AF8"}


@pytest.fixture(scope="module")
def eeg_run(run3):
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(run3, preload=True, verbose=False)
    mne.datasets.eegbci.standardize(raw)
    raw.filter(2., 45., verbose=False)
    X = raw.get_data()[None]
    return X / X.std(), raw.ch_names, raw.info["sfreq"]


@pytest.mark.slow
@pytest.mark.requires_data
def test_batch_cdl_finds_blink_atom(eeg_run):
    X, ch_names, sfreq = eeg_run
    n_times_atom = int(round(0.5 * sfreq))
    model = BatchCDL(n_atoms=8, n_times_atom=n_times_atom, reg=0.2,
                     lmbd_max="scaled", n_iter=30, random_state=0).fit(X)
    assert np.all(np.diff(model.pobj_) <= 1e-10 * model.pobj_[0])
    assert model.pobj_[-1] < 0.9 * model.pobj_[0]
    blink_atoms = []
    for u, v in zip(model.u_hat_, model.v_hat_):
        freqs, power = waveform_spectrum(v, sfreq)
        low_fraction = power[freqs < 4].sum() / power.sum()
        if ch_names[np.argmax(np.abs(u))] in FRONTOPOLAR and low_fraction > 0.6:
            blink_atoms.append(low_fraction)
    assert blink_atoms, "no frontopolar atom with > 60% of its power below 4 Hz"
