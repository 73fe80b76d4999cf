"""
DriPP on the EEGBCI cues: which atoms do the cues drive, when?
===============================================================

The EEGBCI motor runs are annotated with cues: T1 and T2 when a target
appears (left or right fist, real or imagined movement), T0 when it
disappears (rest). We learn atoms on four runs of subject 1 (3, 4, 7, 8),
turn each atom's activations into event times, and fit a driven point
process (DriPP, Allain et al. 2022) of every atom against every cue type:
a baseline rate plus, after each cue, a truncated Gaussian kernel of
strength ``alpha`` (expected number of extra occurrences per cue), latency
``m`` and jitter ``sigma``. A likelihood-ratio test says which pairs are
driven, and a bootstrap over cues gives confidence intervals.

The same analysis is one command: ``cdl fit`` then ``cdl dripp MODEL
RECORDING``.
"""
# %%
import numpy as np

from cdl import BatchCDL
from cdl.pipeline import run_dripp
from cdl.report import atom_features, dripp_display, dripp_table
from cdl.viz import plot_atoms, plot_dripp_intensity
from data_fetchers import load_eegbci

recording = load_eegbci(1, [3, 4, 7, 8], l_freq=1., h_freq=30.,
                        scaling="global")
sfreq = recording.sfreq
model = BatchCDL(n_atoms=8, n_times_atom=int(0.5 * sfreq), reg=0.1, n_iter=20,
                 D_init="chunk", sort_atoms=True, random_state=0)
model.fit(recording.X)
model.info_ = recording.info
for f in atom_features(model):
    print(f"atom {f['atom']}: {f['top_channels']:<15} peak {f['peak_hz']:.1f} Hz")

# %%
# Fit DriPP for every atom and cue type
# -------------------------------------
# Events are the occurrences of each atom (the local maxima of its
# activations, timed at the peak of its waveform), put back in the time of the
# concatenated runs. The kernel support is 30 ms to 800 ms after each cue; the
# p-values come from the 'shift' null (each atom's occurrences shifted
# between cues).
result = run_dripp(recording, model.z_hat_, v=model.v_hat_, lower=0.03,
                   upper=0.8, n_boot=100, random_state=0)
dripp, names = result["dripp"], result["driver_names"]
rows = dripp_display(dripp_table(dripp, names, result["lrt"], result["ci"]))
print(f"{'atom':>4} {'cue':>4} {'alpha':>22} {'m (s)':>22} {'p':>8}")
for row in rows:
    print(f"{row['atom']:>4} {row['driver']:>4} {row['alpha']:>22} "
          f"{row['m']:>22} {row['p_value']:>8} {row['flags']}")

# %%
# The most driven atom
# --------------------
# The (atom, cue) pair with the smallest p-value, its atom and its kernels.
pvalues = result["lrt"]["pvalue"]
atom, cue = np.unravel_index(np.argmin(pvalues), pvalues.shape)
print(f"atom {atom} is driven by {names[cue]}: alpha = "
      f"{dripp.alpha_[atom, cue]:.2f}, m = {dripp.m_[atom, cue]:.3f} s, "
      f"sigma = {dripp.sigma_[atom, cue]:.3f} s (p = {pvalues[atom, cue]:.2g})")
plot_atoms(model, atoms=[atom], show=False)
dripp.plot_kernels(atoms=[atom], driver_names=names, show=False)

# %%
# Its intensity over the first minute: baseline, and a bump after each cue
# of the driving type.
plot_dripp_intensity(dripp, 0., 60., atoms=[atom], driver_names=names)
