"""
What the atoms of EEG motor runs are: blinks, occipital and central rhythms
===========================================================================

We learn rank-1 atoms (a scalp pattern ``u`` times a waveform ``v``) on two
runs of the EEGBCI motor dataset (subject 1: run 3, real left/right fist
movements, and run 4, the same movements imagined), then name each atom from
where it is strongest and what its spectrum looks like. This is the EEG
counterpart of alphacsc's somato example, where the atoms were mu rhythms and
artifacts of MEG.

The rules used to name atoms are simple and stated below; they are a first
look, not a classifier. For this subject the posterior alpha rhythm is weak
(the power spectrum of O1 has no clear 8-13 Hz peak), so rhythmic atoms are
few and many atoms are slow waves or mixtures.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

from cdl import BatchCDL
from cdl.report import atom_features
from cdl.viz import plot_atoms
from data_fetchers import load_eegbci

# Runs 3 and 4 of subject 1, from CDL_DATA_EEGBCI (or MNE's data folder).
# Average reference (as recorded, the reference electrode's activity is about
# 2/3 of the variance and would give every atom the same spatial pattern),
# 3-40 Hz band-pass (the slow drifts would take most atoms otherwise), 60 Hz
# notch, signal divided by its standard deviation.
recording = load_eegbci(1, [3, 4], reference="average", l_freq=3., h_freq=40.,
                        scaling="global")
sfreq = recording.sfreq
print(recording)

# %%
# Learn 12 atoms of 0.4 s
# -----------------------
# ``reg`` is a fraction of lambda_max (the smallest value giving no
# activation at all); ``sort_atoms`` orders atoms by the energy they explain.
model = BatchCDL(n_atoms=12, n_times_atom=int(0.4 * sfreq), reg=0.1, n_iter=30,
                 D_init="chunk", sort_atoms=True, random_state=0)
model.fit(recording.X)
model.info_ = recording.info  # channel positions for the topomaps
print(f"{model.n_iter_} iterations, objective {model.pobj_[0]:.4g} -> "
      f"{model.pobj_[-1]:.4g}")

# %%
# Name each atom
# --------------
# For each atom: the three channels with the largest ``|u|``, and the
# fraction of the waveform's power in each band. The rules:
#
# * **blink / eye movement**: strongest on frontopolar channels (Fp, AF) with
#   more than half of the power below 4 Hz;
# * **occipital alpha**: strongest on occipital or parieto-occipital channels
#   with alpha (8-13 Hz) as the largest band;
# * **central rhythm (mu/beta)**: strongest on central channels (C, CP, FC)
#   with more than 40% of the power in 8-30 Hz;
# * **muscle**: more than half of the power above 13 Hz (beta and gamma),
#   typically at the edges of the montage (Iz, temporal channels);
# * **other**: anything else (slow posterior waves, mixtures).
REGIONS = dict(frontopolar=("Fp", "AF"), occipital=("O", "PO", "Iz"),
               central=("C", "CP", "FC"))


def region_of(channel):
    for region, prefixes in REGIONS.items():
        # longest prefixes first, so that 'CP3' is central and 'Cz' too
        if any(channel.startswith(p) for p in sorted(prefixes, key=len)[::-1]):
            return region
    return "other"


def name_atom(feature):
    region = region_of(feature["top_channels"].split(", ")[0])
    if region == "frontopolar" and feature["delta"] > 0.5:
        return "blink / eye movement"
    bands = {b: feature[b] for b in ("delta", "theta", "alpha", "beta")}
    if region == "occipital" and max(bands, key=bands.get) == "alpha":
        return "occipital alpha"
    if region == "central" and feature["alpha"] + feature["beta"] > 0.4:
        return "central rhythm (mu/beta)"
    if feature["beta"] + feature["gamma"] > 0.5:
        return "muscle"
    return "other"


features = atom_features(model)
occurrences = (model.z_hat_ > 0).sum(axis=(0, 2))
print(f"{'atom':>4}  {'top channels':<16} {'peak Hz':>7} {'delta':>6} "
      f"{'theta':>6} {'alpha':>6} {'beta':>6} {'gamma':>6} {'n':>5}  name")
names = []
for feature, n in zip(features, occurrences):
    names.append(name_atom(feature))
    print(f"{feature['atom']:>4}  {feature['top_channels']:<16} "
          f"{feature['peak_hz']:>7.1f} {feature['delta']:>6.2f} "
          f"{feature['theta']:>6.2f} {feature['alpha']:>6.2f} "
          f"{feature['beta']:>6.2f} {feature['gamma']:>6.2f} {n:>5}  {names[-1]}")

# %%
# Plot one atom of each kind
# --------------------------
# Topomap of ``u``, waveform ``v`` (time in seconds) and its power spectrum.
chosen = [names.index(kind) for kind in dict.fromkeys(names)]
fig = plot_atoms(model, atoms=chosen, show=False)
for row, k in enumerate(chosen):
    fig.axes[3 * row].set_title(f"Atom {k}: {names[k]}", fontsize="small")

# %%
# How often each atom occurs
# --------------------------
# Occurrences per minute, by name: blinks are frequent in these runs.
fig2, ax = plt.subplots(figsize=(7, 3), layout="constrained")
minutes = recording.X.shape[0] * recording.X.shape[2] / sfreq / 60.
colors = {name: f"C{i}" for i, name in enumerate(dict.fromkeys(names))}
ax.bar(np.arange(len(names)), occurrences / minutes,
       color=[colors[n] for n in names])
for name, color in colors.items():
    ax.bar(0, 0, color=color, label=name)
ax.set(xlabel="atom", ylabel="occurrences per minute",
       xticks=np.arange(len(names)))
ax.legend(fontsize="small")
plt.show()
