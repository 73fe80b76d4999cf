"""
Atoms locked on the motor cues (T1/T2) of the EEGBCI runs
=========================================================

In the EEGBCI motor runs a target appears on the left or right of the screen
(cue T1 or T2) and the subject opens and closes the matching fist, for real
(runs 3, 7) or in imagination (runs 4, 8), for about 4 s. The average of the
EEG over the cues (the ERP) mixes brain responses with eye movements and
blinks that follow the target.

Here we learn atoms on epochs cut around the cues (``BatchCDL`` takes the
array of :class:`mne.Epochs`; :func:`cdl.io.epochs_to_X` makes it) and ask
for each atom how strongly its onsets are locked to the cue (the fraction
of epochs in which it starts within each 100 ms bin) and how much of the ERP
it makes up. Unlike the ERP, the atoms say in which epochs, and when, each
waveform occurred, and they separate the ocular part from the posterior one.
"""
# %%
import itertools

import matplotlib.pyplot as plt
import mne
import numpy as np

from cdl import BatchCDL, reconstruct
from cdl.io import epochs_to_X
from cdl.report import atom_features
from cdl.viz import plot_atom_evoked, plot_atoms
from data_fetchers import load_eegbci

recording = load_eegbci(1, [3, 4, 7, 8], reference="average", l_freq=1.,
                        h_freq=30.)
raw = recording.raw  # preprocessed, continuous, in volts
events, event_id = mne.events_from_annotations(raw, event_id=dict(T1=2, T2=3),
                                               verbose=False)
tmin, tmax = -0.5, 2.
epochs = mne.Epochs(raw, events, event_id, tmin=tmin, tmax=tmax, baseline=None,
                    preload=True, verbose=False)
X, info = epochs_to_X(epochs, picks="eeg")
scale = X.std()
X /= scale
sfreq = info["sfreq"]
print(f"{len(epochs)} epochs ({len(epochs['T1'])} T1, {len(epochs['T2'])} T2), "
      f"X of shape {X.shape}")

# %%
# Learn 8 atoms of 0.5 s on the epochs
# ------------------------------------
model = BatchCDL(n_atoms=8, n_times_atom=int(0.5 * sfreq), reg=0.1, n_iter=30,
                 D_init="chunk", sort_atoms=True, random_state=0)
model.fit(X)
model.info_ = info
z = model.z_hat_  # (n_epochs, n_atoms, n_times_valid): atom onsets
onset_times = tmin + np.arange(z.shape[2]) / sfreq

# %%
# How locked on the cue is each atom?
# -----------------------------------
# For each atom and 100 ms bin of onset time, the fraction of epochs in which
# the atom starts in that bin. An atom unrelated to the cue is spread evenly
# (about 0.1 s x its rate per epoch); a cue-locked atom has a peak.
bins = np.arange(tmin, onset_times[-1] + 0.1, 0.1)
locking = np.zeros((z.shape[1], len(bins) - 1))
for k in range(z.shape[1]):
    for b, (start, stop) in enumerate(itertools.pairwise(bins)):
        in_bin = (onset_times >= start) & (onset_times < stop)
        locking[k, b] = (z[:, k, in_bin] > 0).any(axis=1).mean()
features = atom_features(model)
for k, feature in enumerate(features):
    b = np.argmax(locking[k])
    print(f"atom {k} ({feature['top_channels']}): most often starts at "
          f"{bins[b]:+.1f} to {bins[b + 1]:+.1f} s, in {locking[k, b]:.0%} of "
          f"the epochs")

fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
image = ax.imshow(locking, aspect="auto", origin="lower", cmap="viridis",
                  extent=(bins[0], bins[-1], -0.5, z.shape[1] - 0.5))
ax.axvline(0, color="w", ls="--")
ax.set(xlabel="atom onset relative to the cue (s)", ylabel="atom",
       title="Fraction of epochs with an atom onset in each 100 ms bin")
fig.colorbar(image, ax=ax)

# %%
# Which atoms make up the ERP?
# ----------------------------
# Atom ``k``'s part of each epoch is ``z_k * (u_k v_k^T)``; averaged over
# epochs it is the atom's part of the ERP. Its share of the ERP is the
# projection of that part on the ERP (all channels, 0.1 to 0.8 s after the
# cue); the shares of all atoms add up to the share of the whole model.
times = tmin + np.arange(X.shape[2]) / sfreq
window = (times >= 0.1) & (times <= 0.8)
erp = X.mean(axis=0)
parts = [reconstruct(z[:, [k]], model.uv_hat_[[k]], X.shape[1]).mean(axis=0)
         for k in range(z.shape[1])]
shares = [np.sum(p[:, window] * erp[:, window]) / np.sum(erp[:, window] ** 2)
          for p in parts]
for k, share in enumerate(shares):
    print(f"atom {k} ({features[k]['top_channels']}): {share:+.0%} of the ERP")
print(f"all atoms together: {sum(shares):.0%}")
locked = int(np.argmax(locking.max(axis=1)))
evoked = int(np.argmax(shares))
chosen = list(dict.fromkeys([locked, evoked]))
print(f"Most cue-locked atom: {locked}; largest share of the ERP: atom {evoked}")

# %%
# The most cue-locked atom and the atom with the largest share of the ERP:
# scalp pattern, waveform and spectrum.
plot_atoms(model, atoms=chosen, show=False)

# %%
# Their onsets for left (T1) and right (T2) cues, and the average of the
# signal locked on them at the peak of their waveform (grey: every channel;
# colour: the atom's course, its pattern applied; dashed: its waveform).
fig, axes = plt.subplots(1, len(chosen), figsize=(10, 3.5), sharey=True,
                         squeeze=False, layout="constrained")
for ax, k in zip(axes[0], chosen):
    for name, color in (("T1", "C0"), ("T2", "C3")):
        rows = np.flatnonzero(epochs.events[:, 2] == event_id[name])
        n, t = np.nonzero(z[rows, k])
        ax.plot(onset_times[t], rows[n], "|", color=color, markersize=8,
                label=f"{name} epochs")
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="onset relative to the cue (s)", title=f"Onsets of atom {k}")
axes[0, 0].set_ylabel("epoch")
axes[0, 0].legend(fontsize="small")
plot_atom_evoked(model, X, atoms=chosen, show=False)

# %%
# The ERP and the atoms' parts of it, in microvolts, at each atom's strongest
# channel.
fig, axes = plt.subplots(len(chosen), 1, figsize=(8, 3 * len(chosen)),
                         squeeze=False, layout="constrained")
for ax, k in zip(axes[:, 0], chosen):
    channel = int(np.argmax(np.abs(model.u_hat_[k])))
    ax.plot(times, 1e6 * scale * erp[channel], color="k", label="ERP (all cues)")
    ax.plot(times, 1e6 * scale * parts[k][channel], color="C1",
            label=f"atom {k} part")
    ax.plot(times, 1e6 * scale * sum(parts)[channel], color="C2", lw=0.8,
            label="all atoms")
    ax.axvline(0, color="k", lw=0.5)
    ax.set(ylabel="µV", title=f"Channel {info['ch_names'][channel]}")
    ax.legend(fontsize="small")
axes[-1, 0].set_xlabel("time from cue (s)")
plt.show()
