"""
Eye-blink atoms: find them, mark them as annotations, remove them
=================================================================

Eye blinks are the largest recurring waveform of most EEG recordings: a slow
positive wave of a few hundred milliseconds over the frontopolar channels.
Convolutional dictionary learning finds them without an EOG channel, gives
the time of every blink, and its model of the blinks can be subtracted from
the signal.

We learn 6 atoms on run 3 of subject 1 of the EEGBCI dataset, pick the ocular
atoms (frontopolar and slow: blinks and eye movements), turn their
occurrences into
:class:`mne.Annotations` (``BAD_blink``, so that MNE's epoching rejects the
epochs they touch), and subtract their contribution from the recording.
"""
# %%
import matplotlib.pyplot as plt
import mne
import numpy as np

from cdl import BatchCDL, reconstruct
from cdl.io import model_to_annotations
from cdl.report import atom_features
from cdl.viz import plot_atoms
from data_fetchers import load_eegbci

# EEG as recorded (no average reference): blinks then stay on the frontal
# channels, and the removal below can be read channel by channel (with an
# average reference each channel also holds minus the blinks' share of the
# average, e.g. a third of the variance at Oz would be removed).
recording = load_eegbci(1, 3, l_freq=1., scaling="global")
raw, sfreq = recording.raw, recording.sfreq
model = BatchCDL(n_atoms=6, n_times_atom=int(0.5 * sfreq), reg=0.2, n_iter=20,
                 D_init="chunk", sort_atoms=True, random_state=0)
model.fit(recording.X)
model.info_ = recording.info

# %%
# Which atoms are ocular?
# -----------------------
# Strongest on a frontopolar channel (Fp, AF) and with most of the waveform's
# power below 4 Hz.
features = atom_features(model)
blinks = [f["atom"] for f in features
          if f["top_channels"].split(", ")[0].startswith(("Fp", "AF"))
          and f["delta"] > 0.5]
for f in features:
    print(f"atom {f['atom']}: {f['top_channels']:<15} delta {f['delta']:.2f}"
          f"{'  <- ocular' if f['atom'] in blinks else ''}")
plot_atoms(model, atoms=blinks, show=False)

# %%
# Blinks as annotations
# ---------------------
# Each occurrence is a positive local maximum of a blink atom's activations
# (weak ones, below 10% of the largest, are left out). Several blink atoms
# can share one blink, so occurrences closer than 0.3 s are merged. Each
# blink becomes a ``BAD_blink`` annotation as long as the atom.
z = model.z_hat_[:, blinks]
peaks = (z > np.roll(z, 1, axis=-1)) & (z >= np.roll(z, -1, axis=-1)) \
    & (z >= 0.1 * z.max())
samples = np.sort(np.nonzero(peaks)[2])
merged = [samples[0]]
for sample in samples[1:]:
    if sample - merged[-1] > 0.3 * sfreq:
        merged.append(sample)
onsets = np.array(merged) / sfreq  # from the first sample of the recording
annotations = mne.Annotations(onsets + raw.first_samp / sfreq,
                              model.n_times_atom / sfreq, "BAD_blink",
                              orig_time=raw.info["meas_date"])
raw.set_annotations(raw.annotations + annotations)
print(f"{len(annotations)} blinks in {raw.times[-1]:.0f} s "
      f"({60 * len(annotations) / raw.times[-1]:.1f} per minute)")
# every occurrence of every atom, with its amplitude, is also available:
print(model_to_annotations(model, orig_time=raw.info["meas_date"]))

# %%
# Remove the blinks
# -----------------
# The model of the blinks is ``sum_k z_k * (u_k v_k^T)`` over the blink atoms
# (all their activations, not only the peaks); subtracting it leaves the rest
# of the EEG. Frontopolar channels lose most of their variance, occipital
# channels almost none.
blink_part = reconstruct(model.z_hat_[:, blinks], model.uv_hat_[blinks],
                         recording.X.shape[1])
cleaned = recording.X - blink_part
names = recording.info["ch_names"]
for channel in ("Fp1", "Fp2", "Cz", "Oz"):
    i = names.index(channel)
    removed = 1 - cleaned[0, i].var() / recording.X[0, i].var()
    print(f"{channel}: {removed:.0%} of the variance removed")

scale = recording.preprocessing["scale"] * 1e6  # back to microvolts
times = np.arange(recording.X.shape[2]) / sfreq
fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True, layout="constrained")
for ax, channel in zip(axes, ("Fp1", "Oz")):
    i = names.index(channel)
    shown = (times >= 20) & (times < 40)
    ax.plot(times[shown], scale * recording.X[0, i, shown], color="0.6",
            label="recording")
    ax.plot(times[shown], scale * cleaned[0, i, shown], color="C0",
            label="blinks removed")
    for onset in onsets[(onsets >= 20) & (onsets < 40)]:
        ax.axvspan(onset, onset + model.n_times_atom / sfreq, color="C3",
                   alpha=0.15)
    ax.set(ylabel=f"{channel} (µV)")
axes[0].legend(loc="upper right", fontsize="small")
axes[0].set_title("Blinks found by CDL (red), 20 to 40 s of run 3")
axes[1].set_xlabel("time (s)")
plt.show()
