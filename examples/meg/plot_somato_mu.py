"""
Mu rhythm atoms in the somatosensory MEG dataset (somato)
=========================================================

The alphacsc example of Dupré la Tour et al. (2018) on MNE's ``somato``
dataset (median nerve stimulation, 204 gradiometers): the learned atoms
include the arch-shaped, non-sinusoidal mu rhythm over the somatosensory
cortex, with power at about 10 and 20 Hz.

This example runs only when the dataset is on disk (``CDL_DATA_SOMATO``,
MNE's ``MNE_DATASETS_SOMATO_PATH`` or ``~/mne_data``); it never downloads
(``mne.datasets.somato.data_path()`` does, about 600 MB).
"""
# %%
from data_fetchers import DataNotFoundError, load_somato

try:
    # alphacsc's preprocessing: gradiometers, notch 50/100 Hz, high-pass
    # 2 Hz, resampled to 150 Hz, cut into 10 trials, global scaling
    recording = load_somato(download=False)
except DataNotFoundError as err:
    recording = None
    print(f"Skipped: the somato dataset is not on disk.\n{err}")

# %%
# Learn 10 atoms of 0.53 s, as in alphacsc's example
# --------------------------------------------------
if recording is not None:
    from cdl import BatchCDL

    sfreq = recording.sfreq
    model = BatchCDL(n_atoms=10, n_times_atom=round(0.53 * sfreq), reg=0.2,
                     n_iter=50, window=True, D_init="chunk", sort_atoms=True,
                     random_state=0)
    model.fit(recording.X)
    model.info_ = recording.info

# %%
# The mu atom: the largest power in 8-30 Hz
# -----------------------------------------
# Its waveform is not a sinusoid: sharp troughs and rounded peaks, hence the
# harmonic at about 20 Hz in its spectrum.
if recording is not None:
    from cdl.report import atom_features
    from cdl.viz import plot_atoms

    features = atom_features(model)
    for f in features:
        print(f"atom {f['atom']}: {f['top_channels']}, peak {f['peak_hz']:.1f} "
              f"Hz, alpha {f['alpha']:.2f}, beta {f['beta']:.2f}")
    mu = max(features, key=lambda f: f["alpha"] + f["beta"])["atom"]
    plot_atoms(model, atoms=[mu])
