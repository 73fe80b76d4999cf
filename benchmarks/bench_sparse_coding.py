"""Time of the z-step for each of our solvers, and alphacsc's LGCD as a ratio.

Problems: a simulated 64-channel, 20000-sample signal with 8 rank-1 atoms of
64 samples, and the EEGBCI run S001R03 (2-45 Hz, unit std, 8 atoms of 80
samples from fixed signal windows); reg = 0.1 lambda_max, tol 1e-3. The
dictionary is the same for every solver and library. alphacsc runs in its own
venv (``make bench-peers``); without it our figures are printed alone. Wall
and CPU times (this process; alphacsc's): on a shared machine the CPU ratio is
the steadier one.

Run: ``.venv/bin/python benchmarks/bench_sparse_coding.py [--lgcd-only]``
"""
import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    best_time,
    eegbci_signal,
    print_table,
    simulated_signal,
    windows_dictionary,
)
from _peers import peer_available, run_peer  # noqa: E402

from cdl.coding import sparse_encode  # noqa: E402
from cdl.model.objective import compute_objective, lambda_max

TOL = 1e-3
# gcd rescans the whole signal at each update and the first-order solvers need
# many passes: they are baselines, capped so the benchmark stays short.
SOLVERS = [("lgcd", 100000), ("gcd", 10 ** 7), ("fista", 200), ("l-bfgs", 100)]


def bench_problem(name, X, uv, rows, solvers=SOLVERS):
    reg = 0.1 * lambda_max(X, uv)
    sparse_encode(X[:, :, :1000], uv, reg)  # compile outside the timings
    reference = compute_objective(
        X, sparse_encode(X, uv, reg, tol=1e-7, max_iter=100000), uv, reg)
    ours = {}
    for solver, max_iter in solvers:
        n_repeat = 3 if solver in ("lgcd", "gcd") else 1
        seconds, cpu, z = best_time(
            lambda solver=solver, max_iter=max_iter: sparse_encode(
                X, uv, reg, solver=solver, tol=TOL, max_iter=max_iter),
            n_repeat, cpu=True)
        objective = compute_objective(X, z, uv, reg)
        ours[solver] = seconds, cpu
        rows.append([name, f"cdl {solver}", f"{seconds:.3f}", f"{cpu:.3f}",
                     f"{(objective - reference) / reference:.1e}", "", ""])
    peer = run_peer("update_z", dict(X=X, uv=uv, reg=reg, tol=TOL, n_repeat=3))
    if peer is not None:
        objective = compute_objective(X, peer["z"], uv, reg)
        peer_cpu = peer.get("cpu_time", float("nan"))
        rows.append([name, "alphacsc lgcd", f"{peer['time']:.3f}", f"{peer_cpu:.3f}",
                     f"{(objective - reference) / reference:.1e}",
                     f"{peer['time'] / ours['lgcd'][0]:.1f}x",
                     f"{peer_cpu / ours['lgcd'][1]:.1f}x"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lgcd-only", action="store_true",
                        help="skip the baselines gcd, fista and l-bfgs")
    args = parser.parse_args(argv)
    solvers = SOLVERS[:1] if args.lgcd_only else SOLVERS
    rows = []
    load = os.getloadavg()[0]
    X = simulated_signal()
    bench_problem("simulated 64x20000, 8x64", X, windows_dictionary(X, 8, 64), rows,
                  solvers)
    X = eegbci_signal()
    if X is None:
        print("EEGBCI data not found: real-data problem skipped.")
    else:
        bench_problem("EEGBCI S001R03, 8x80", X, windows_dictionary(X, 8, 80), rows,
                      solvers)
    print_table(f"z-step, reg = 0.1 lambda_max, tol = {TOL} (best of 3 for "
                f"lgcd, gcd and alphacsc; load {load:.1f} -> "
                f"{os.getloadavg()[0]:.1f})",
                ["problem", "solver", "time (s)", "cpu (s)", "rel. objective excess",
                 "alphacsc / cdl lgcd time", "alphacsc / cdl lgcd cpu"], rows)
    ok, reason = peer_available()
    if not ok:
        print(f"\nalphacsc not run: {reason}")


if __name__ == "__main__":
    main()
