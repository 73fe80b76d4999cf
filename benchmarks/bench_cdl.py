"""Dictionary learning over 30 iterations, against alphacsc from the same start.

Problems: a simulated 64-channel, 20000-sample signal (8 rank-1 atoms of 64
samples) and a held-out EEGBCI run (``--run``, default S001R04; 2-45 Hz, unit
std, 8 atoms of 80 samples). Both libraries start from the same dictionary
(fixed signal windows), with rank-1 atoms, ``lmbd_max='scaled'``, reg 0.2,
z-step LGCD with tol 1e-3 (max_iter 1000), 30 iterations. Estimators:
BatchCDL, GreedyCDL and OnlineCDL (on the signal cut into 10 trials of 2000
samples, batch_size 1, alpha 0.8) on both problems (``--batch-only``:
BatchCDL only). alphacsc runs in its own venv (``make bench-peers``) in the
same run, estimator by estimator right after ours; without it our figures are
printed alone. Ours
run without atom revival (``revive_atoms=False``: alphacsc has none, so both
run the same algorithm). Our z-steps inside learning are inexact by default
(``solver_z_kwargs['inexact']``, :mod:`cdl.learn.precision`): each also stops
once a block of 10 sweeps gains less than 1 % of the previous iteration's
decrease of the objective (tol and max_iter as alphacsc's otherwise); the row
"exact z-steps" is our fit with ``inexact=False`` (every z-step to tol or
max_iter, as alphacsc), from the same run (not for OnlineCDL, whose z-steps on
a batch of trials are exact either way).

Times are the fit's wall time and its CPU time (this process; alphacsc's
process): on a shared machine the CPU ratio is the steadier one. The
objective is the final one, recomputed by each side from its own dictionary
and activations.

Run: ``.venv/bin/python benchmarks/bench_cdl.py [--run 4] [--skip-sim]
[--batch-only] [--no-exact]``
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import eegbci_signal, print_table, simulated_signal, windows_dictionary  # noqa: E402
from _peers import peer_available, run_peer  # noqa: E402

import cdl  # noqa: E402
from cdl.model.objective import compute_objective  # noqa: E402

N_ITER, REG, TOL = 30, 0.2, 1e-3
ONLINE = dict(alpha=0.8, batch_size=1, batch_selection="random")


def bench_problem(name, X, uv_init, rows, estimator="BatchCDL", exact=True):
    n_atoms, n_times_atom = uv_init.shape[0], uv_init.shape[1] - X.shape[1]
    extra = ONLINE if estimator == "OnlineCDL" else {}
    kwargs = dict(n_atoms=n_atoms, n_times_atom=n_times_atom, reg=REG,
                  n_iter=N_ITER, lmbd_max="scaled", eps=1e-10, random_state=0,
                  revive_atoms=False, solver_z_kwargs=dict(tol=TOL, max_iter=1000),
                  **extra)
    cls = getattr(cdl, estimator)
    cls(**dict(kwargs, n_iter=2), D_init=uv_init).fit(X[:, :, :2000])  # compile
    fits = [(estimator, kwargs)]
    if exact:
        fits.append((f"{estimator} (exact z-steps)", dict(
            kwargs, solver_z_kwargs=dict(tol=TOL, max_iter=1000, inexact=False))))
    ours_rows = []
    for label, fit_kwargs in fits:
        t_start, c_start = time.perf_counter(), time.process_time()
        model = cls(**fit_kwargs, D_init=uv_init).fit(X)
        seconds = time.perf_counter() - t_start
        cpu = time.process_time() - c_start
        ours = compute_objective(X, model.z_hat_, model.uv_hat_, model.reg_)
        ours_rows.append(([name, label, str(model.n_iter_), f"{seconds:.2f}",
                           f"{cpu:.2f}", f"{ours:.6e}", "", "", ""],
                          seconds, cpu, ours))
        rows.append(ours_rows[-1][0])
    peer = run_peer("batch_cdl", dict(
        X=X, uv_init=uv_init, n_atoms=n_atoms, n_times_atom=n_times_atom,
        reg=REG, n_iter=N_ITER, lmbd_max="scaled", tol=TOL, max_iter=1000,
        eps=1e-10, estimator=estimator, **extra), timeout=3600)
    if peer is not None:
        peer_cpu = peer.get("cpu_time", float("nan"))
        rows.append([name, f"alphacsc {estimator}", str(peer["n_iter_run"]),
                     f"{peer['time']:.2f}", f"{peer_cpu:.2f}",
                     f"{peer['objective']:.6e}", "", "", ""])
        for row, seconds, cpu, ours in ours_rows:
            row[6] = f"{peer['time'] / seconds:.1f}x"
            row[7] = f"{peer_cpu / cpu:.1f}x"
            row[8] = f"{100 * (ours - peer['objective']) / peer['objective']:+.3f}%"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=int, default=4,
                        help="EEGBCI run of subject 1 (default 4, held out)")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--batch-only", action="store_true")
    parser.add_argument("--no-exact", action="store_true",
                        help="skip our fits with exact z-steps (inexact=False)")
    args = parser.parse_args(argv)
    rows = []
    load = os.getloadavg()[0]
    exact = not args.no_exact
    problems = []
    if not args.skip_sim:
        X = simulated_signal()
        problems.append(("simulated 64x20000, 8x64", X, windows_dictionary(X, 8, 64)))
    X = eegbci_signal(run=args.run)
    if X is None:
        print("EEGBCI data not found: real-data problem skipped.")
    else:
        problems.append((f"EEGBCI S001R{args.run:02d}, 8x80", X,
                         windows_dictionary(X, 8, 80)))
    for name, X, uv_init in problems:
        bench_problem(name, X, uv_init, rows, exact=exact)
        if not args.batch_only:
            bench_problem(name, X, uv_init, rows, "GreedyCDL", exact=exact)
            n_cut = X.shape[2] // 2000 * 2000
            X_trials = X[0, :, :n_cut].reshape(X.shape[1], -1, 2000)
            bench_problem(name + ", 10 trials", X_trials.transpose(1, 0, 2).copy(),
                          uv_init, rows, "OnlineCDL", exact=False)
    print_table(f"Dictionary learning, {N_ITER} iterations, reg {REG} (scaled), "
                f"z tol {TOL} (load {load:.1f} -> {os.getloadavg()[0]:.1f})",
                ["problem", "estimator", "iterations", "time (s)", "cpu (s)",
                 "final objective", "alphacsc / cdl time", "alphacsc / cdl cpu",
                 "cdl objective vs alphacsc"], rows)
    ok, reason = peer_available()
    if not ok:
        print(f"\nalphacsc not run: {reason}")


if __name__ == "__main__":
    main()
