"""
Atoms of MNE's sample MEG dataset and the stimuli that drive them
=================================================================

MNE's ``sample`` dataset: auditory and visual stimuli, left and right, with
204 gradiometers. We learn atoms as in alphacsc's example on this dataset,
then fit DriPP of every atom against the four stimulus types to find the
atoms that the stimuli drive, with their latency.

This example runs only when the dataset is on disk (``CDL_DATA_SAMPLE``,
MNE's ``MNE_DATASETS_SAMPLE_PATH`` or ``~/mne_data``); it never downloads
(``mne.datasets.sample.data_path()`` does, about 1.6 GB).
"""
# %%
from data_fetchers import DataNotFoundError, load_sample

try:
    # gradiometers, notch 60/120/180 Hz, high-pass 2 Hz, resampled to 150 Hz,
    # cut into 10 trials, global scaling
    recording = load_sample(download=False)
except DataNotFoundError as err:
    recording = None
    print(f"Skipped: the sample dataset is not on disk.\n{err}")

# %%
# Learn 12 atoms of 0.5 s
# -----------------------
if recording is not None:
    from cdl import BatchCDL
    from cdl.viz import plot_atoms

    sfreq = recording.sfreq
    model = BatchCDL(n_atoms=12, n_times_atom=int(0.5 * sfreq), reg=0.2,
                     n_iter=30, window=True, D_init="chunk", sort_atoms=True,
                     random_state=0)
    model.fit(recording.X)
    model.info_ = recording.info
    plot_atoms(model, atoms=range(4))

# %%
# Which atoms do the stimuli drive?
# ---------------------------------
# DriPP of every atom against the auditory and visual stimuli (the events of
# the stim channel, kept as annotations), with likelihood-ratio p-values.
if recording is not None:
    import mne
    import numpy as np

    from cdl.pipeline import run_dripp

    codes = {"auditory/left": 1, "auditory/right": 2, "visual/left": 3,
             "visual/right": 4}
    events = recording.events[np.isin(recording.events[:, 2],
                                      list(codes.values()))]
    recording.annotations = mne.annotations_from_events(
        events, recording.sfreq, {v: k for k, v in codes.items()},
        first_samp=recording.first_samp,
        orig_time=recording.info["meas_date"])
    result = run_dripp(recording, model.z_hat_, v=model.v_hat_, n_boot=0)
    dripp, names = result["dripp"], result["driver_names"]
    pvalues = result["lrt"]["pvalue"]
    for k in range(pvalues.shape[0]):
        driven = [f"{names[p]} (m = {dripp.m_[k, p]:.3f} s)"
                  for p in range(len(names)) if pvalues[k, p] < 0.01]
        print(f"atom {k}: {', '.join(driven) or 'not driven'}")
    atom = int(np.argmin(pvalues.min(axis=1)))
    dripp.plot_kernels(atoms=[atom], driver_names=names)
