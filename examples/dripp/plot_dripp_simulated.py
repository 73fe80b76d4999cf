"""
DriPP on simulated activations: recover latency, jitter and strength
=====================================================================

Two stimulus types (drivers) are presented every 3 s on average during
30 minutes. Three "atoms" fire at random (baseline) and, for some of them,
after the stimuli with a latency ``m`` and a jitter ``sigma``:

* atom 0 follows driver 0 (alpha = 0.8, m = 0.3 s, sigma = 0.08 s);
* atom 1 follows driver 1 only, late and spread out (m = 0.5 s, sigma = 0.15 s);
* atom 2 is not driven at all.

We fit :class:`cdl.dripp.DriPP` (kernel support 30 ms to 800 ms after each
stimulus), test each (atom, driver) pair with a likelihood-ratio test, and
get bootstrap confidence intervals of the latency and jitter.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

from cdl.dripp import DriPP, simulate_dripp, simulate_drivers

t_max = 1800.0  # 30 minutes, in seconds
lower, upper = 0.03, 0.8
drivers = simulate_drivers(t_max, n_drivers=2, isi=3.0, jitter=1.0,
                           random_state=0)
baseline = np.array([0.2, 0.2, 0.3])
alpha = np.array([[0.8, 0.0], [0.0, 0.6], [0.0, 0.0]])
m = np.array([[0.3, 0.3], [0.5, 0.5], [0.3, 0.3]])
sigma = np.array([[0.08, 0.08], [0.15, 0.15], [0.1, 0.1]])
atom_times = simulate_dripp(drivers, t_max, baseline, alpha, m, sigma,
                            lower=lower, upper=upper, random_state=1)
print("driver events:", [d.size for d in drivers])
print("atom events:", [a.size for a in atom_times])

# %%
# Fit by EM
# ---------
# One call fits every atom against every driver. The log-likelihood
# increases at every EM iteration (``loglik_``).
dripp = DriPP(lower=lower, upper=upper).fit(atom_times, drivers, t_max)
print(f"EM iterations: {dripp.n_iter_}")
np.set_printoptions(precision=3, suppress=True)
print("baseline:", dripp.baseline_)
print("alpha:\n", dripp.alpha_)
print("m (s):\n", dripp.m_)
print("sigma (s):\n", dripp.sigma_)

# %%
# Which stimuli drive which atoms?
# --------------------------------
# Likelihood-ratio test of alpha = 0 for each pair; the default null
# distribution is chi2 with 3 degrees of freedom (see ``cdl.dripp.stats``;
# ``null='bootstrap'`` gives exact Monte Carlo p-values, slower).
test = dripp.likelihood_ratio_test()
print("p-values (rows: atoms, columns: drivers):\n", test["pvalue"])

# %%
# Bootstrap confidence intervals of latency and jitter
# ----------------------------------------------------
# The recording is cut into epochs at the stimuli, epochs are resampled with
# replacement and the model is refitted (all replicates in one EM run).
ci = dripp.bootstrap_ci(n_boot=200, random_state=0)
for k, p in [(0, 0), (1, 1)]:
    print(f"atom {k}, driver {p}: m = {dripp.m_[k, p]:.3f} s "
          f"[{ci['m'][k, p, 0]:.3f}, {ci['m'][k, p, 1]:.3f}], "
          f"sigma = {dripp.sigma_[k, p]:.3f} s "
          f"[{ci['sigma'][k, p, 0]:.3f}, {ci['sigma'][k, p, 1]:.3f}]")

# %%
# Plot the fitted kernels and the intensity
# -----------------------------------------
fig = dripp.plot_kernels(driver_names=["stim A", "stim B"], show=False)

t = np.arange(0, 30, 0.005)
fig2, ax = plt.subplots(figsize=(8, 3), layout="constrained")
for k, lam in enumerate(dripp.intensity(t)):
    ax.plot(t, lam, label=f"atom {k}")
for p, d in enumerate(drivers):
    ax.vlines(d[d < 30], 0, -0.3, color=f"C{p + 3}", label=f"driver {p}")
ax.set(xlabel="time (s)", ylabel="intensity (1/s)",
       title="Fitted intensity, first 30 s")
ax.legend(ncol=5, fontsize="small")
plt.show()
