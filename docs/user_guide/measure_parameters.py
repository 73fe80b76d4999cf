"""How reg, the atom length and the number of atoms change a fit on EEG.

Produces the table of the user guide page "Choosing the parameters": BatchCDL
on EEGBCI subject 1, run 3 (64 channels, 160 Hz, 125 s), 1-40 Hz, divided by
its standard deviation; 30 iterations from D_init='chunk', seed 0. Run it
with CDL_DATA_EEGBCI pointing at the folder of S001R03.edf::

    CDL_DATA_EEGBCI=../shared/data/eegbci .venv/bin/python \
        docs/user_guide/measure_parameters.py

Printed for each setting: fraction of the signal's energy explained, fraction
of non-zero activations, occurrences (positive local maxima of z) per minute
per atom (min / median / max over atoms) and the largest similarity of two
atoms (|u_i . u_j| times the largest cross-correlation of v_i and v_j; 1 for
two copies of one atom).
"""
import numpy as np

from cdl import BatchCDL, reconstruct
from data_fetchers import load_eegbci

recording = load_eegbci(1, 3, l_freq=1., h_freq=40., scaling="global",
                        download=False, verbose=False)
X, sfreq = recording.X, recording.sfreq
minutes = X.shape[0] * X.shape[2] / sfreq / 60


def describe(model):
    X_hat = reconstruct(model.z_hat_, model.uv_hat_, X.shape[1])
    explained = 1 - ((X - X_hat) ** 2).sum() / (X ** 2).sum()
    z = model.z_hat_
    peaks = (z > 0) & (z > np.roll(z, 1, -1)) & (z >= np.roll(z, -1, -1))
    rate = peaks.sum(axis=(0, 2)) / minutes
    u = model.u_hat_ / np.linalg.norm(model.u_hat_, axis=1, keepdims=True)
    v = model.v_hat_ / np.linalg.norm(model.v_hat_, axis=1, keepdims=True)
    similarity = max(abs(u[i] @ u[j]) * np.abs(np.correlate(v[i], v[j], "full")).max()
                     for i in range(len(u)) for j in range(i + 1, len(u)))
    return (f"explained {explained:.0%}, non-zero {(z > 0).mean():.2%}, "
            f"occurrences/min per atom {rate.min():.0f} / {np.median(rate):.0f} / "
            f"{rate.max():.0f}, largest similarity {similarity:.2f}")


def fit(**changes):
    params = dict(n_atoms=8, n_times_atom=int(0.5 * sfreq), reg=0.2, n_iter=30,
                  D_init="chunk", random_state=0)
    params.update(changes)
    model = BatchCDL(**params).fit(X)
    print(f"{changes}: {describe(model)}", flush=True)


for reg in (0.05, 0.1, 0.2, 0.4, 0.6):
    fit(reg=reg)
for duration in (0.25, 0.5, 1.0):
    fit(n_times_atom=int(duration * sfreq))
for n_atoms in (4, 8, 16):
    fit(n_atoms=n_atoms)
