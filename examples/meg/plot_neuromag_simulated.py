"""
Neuromag MEG and EEG: one pattern per channel type, timing at the waveform's peak
=================================================================================

A simulated Neuromag Vectorview recording built on the sensor information of
MNE's ``sample`` data: 204 planar gradiometers (T/m), 102 magnetometers (T)
and 60 EEG electrodes (V), plus EOG and stim channels. It holds an auditory
response peaking 100 ms after each of 80 stimuli (4 ms jitter), alpha bursts
and blinks. We fit CDL on the Raw itself: the default picks take the MEG and
EEG data channels (never stim or EOG), and each channel type is divided by
its standard deviation so that every type counts. Each atom is then drawn
with one topomap per channel type, in physical units, and its occurrences
are timed at the peak of its waveform, so that DriPP finds the latency of
the auditory peak.

This example needs the MNE test file ``sample_audvis-ave.fif.gz`` in
``../shared/data/meg`` (next to the repository) or in the folder given by
``CDL_DATA_MEG``; it runs offline and never downloads anything.
"""
# %%
import os
from pathlib import Path

# The gallery runs examples in their own folder without ``__file__``.
here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
folder = Path(os.environ.get("CDL_DATA_MEG")
              or here.resolve().parents[2] / "shared" / "data" / "meg")
fname = folder / "sample_audvis-ave.fif.gz"
if not fname.is_file():
    print(f"Skipped: the MEG test files dataset is not on disk ({fname} not "
          f"found; set CDL_DATA_MEG to the folder of MNE's MEG test files).")
    fname = None

# %%
# A simulated recording, each channel type in its own unit
# ---------------------------------------------------------
if fname is not None:
    from cdl.simulate import simulate_neuromag_raw

    raw, truth = simulate_neuromag_raw(fname, duration=100., random_state=4)
    raw.filter(1., None, picks="data", verbose=False)
    print(raw)
    print(f"{len(truth.stim_samples)} stimuli; the auditory atom peaks "
          f"{1e3 * truth.latency:.0f} ms after each")

# %%
# Learn 5 atoms on the MEG and EEG channels
# -----------------------------------------
# ``fit`` on a Raw keeps its Info and the factor of each channel type in
# ``scalings_``: the std of the type (T for magnetometers, T/m for
# gradiometers, V for EEG).
if fname is not None:
    from cdl import BatchCDL
    from cdl.viz import plot_atoms

    model = BatchCDL(n_atoms=5, n_times_atom=truth.n_times_atom, reg=0.05,
                     n_iter=30, D_init="chunk", sort_atoms=True, random_state=0)
    model.fit(raw)
    print({t: f"{f:.2g}" for t, f in model.scalings_.items()})
    plot_atoms(model, atoms=range(3))

# %%
# When do the atoms occur after the stimuli?
# ------------------------------------------
# An occurrence is a local maximum of an atom's activations, timed at the
# largest value of its waveform; DriPP measures the latency from each
# stimulus to that point. The 'shift' null keeps each atom's own time
# structure and is calibrated for atoms that are not locked.
if fname is not None:
    import numpy as np

    from cdl.dripp import fit_dripp_from_annotations

    dripp, names = fit_dripp_from_annotations(
        model.z_hat_, raw.info["sfreq"], raw.annotations, event_id=["stim"],
        v=model.v_hat_, first_samp=raw.first_samp)
    pvalue = dripp.likelihood_ratio_test(null="shift", n_boot=99,
                                         random_state=0)["pvalue"][:, 0]
    for k in range(len(pvalue)):
        print(f"atom {k}: {len(dripp.atom_times_[k])} occurrences, p = "
              f"{pvalue[k]:.2g}, m = {dripp.m_[k, 0]:.3f} s, sigma = "
              f"{dripp.sigma_[k, 0]:.3f} s")
    locked = int(np.argmin(pvalue))
    print(f"The stimuli drive atom {locked}: peak {1e3 * dripp.m_[locked, 0]:.0f} "
          f"ms after them (truth: {1e3 * truth.latency:.0f} ms)")
    dripp.plot_kernels(atoms=[locked], driver_names=names)
