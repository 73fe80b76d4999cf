"""
DICOD on a long signal: same activations, several workers
=========================================================

A simulated recording of 8 channels and 300,000 samples holds five atoms.
We encode it with the sequential LGCD (:func:`cdl.sparse_encode`) and with
DICOD on 2 workers (:func:`dicod.dicod`): each worker updates the activations
of one half of the signal and sends its neighbour the updates that reach
across the border. Both reach the same objective (up to the tolerance; on a
machine with free cores, the two workers also halve the time of the solve,
though starting them costs about a second).

Then DiCoDiLe (``cdl.BatchCDL(..., solver_z='dicod')``, the learning loop of
:class:`cdl.BatchCDL` with a DICOD z-step) learns the atoms from a perturbed
start; the workers keep their half of the signal and activations across
iterations and send only the sufficient statistics to this process.
"""
# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import dicod
from cdl import BatchCDL, sparse_encode
from cdl.model.objective import compute_objective, lambda_max
from cdl.simulate import simulate_data

X, u, v, z_true = simulate_data(n_trials=1, n_channels=8, n_times=300_000,
                                n_atoms=5, n_times_atom=64, density=1e-3,
                                noise_level=0.3, random_state=0)
uv = np.hstack([u, v])
reg = 0.1 * lambda_max(X, uv)

t_start = time.perf_counter()
z_seq = sparse_encode(X, uv, reg, tol=1e-3, max_iter=100_000)
t_seq = time.perf_counter() - t_start
t_start = time.perf_counter()
z_dicod, info = dicod.dicod(X, uv, reg, n_workers=2, tol=1e-3, return_info=True)
t_dicod = time.perf_counter() - t_start
for name, z, seconds in [("sequential LGCD", z_seq, t_seq),
                         ("DICOD, 2 workers", z_dicod, t_dicod)]:
    print(f"{name:>17}: objective {compute_objective(X, z, uv, reg):.6f} "
          f"in {seconds:.2f} s")
print(f"updates per worker: {info['n_updates']}, update messages sent: "
      f"{info['n_messages']}")

# %%
# Learn the atoms with DiCoDiLe
# -----------------------------
rng = np.random.RandomState(1)
uv_init = np.hstack([u + 0.3 * rng.randn(*u.shape), v + 0.3 * rng.randn(*v.shape)])
model = BatchCDL(n_atoms=5, n_times_atom=64, reg=0.1, n_iter=15,
                 solver_z="dicod", n_workers=2, D_init=uv_init, random_state=0)
model.fit(X[:, :, :100_000])

fig, axes = plt.subplots(1, 5, figsize=(12, 2.5), sharey=True)
for k, ax in enumerate(axes):
    sign = np.sign(np.dot(model.u_hat_[k], u[k]))
    ax.plot(v[k], "k", lw=3, alpha=0.3, label="true")
    ax.plot(sign * model.v_hat_[k], "C1", label="learned")
    ax.set_title(f"atom {k}")
axes[0].legend()
fig.tight_layout()
plt.show()
