"""Time of the z-step for each of our solvers, and alphacsc's LGCD as a ratio.

Problems: a simulated 64-channel, 20000-sample signal with 8 rank-1 atoms of
64 samples, and the EEGBCI run S001R03 (2-45 Hz, unit std, 8 atoms of 80
samples from fixed signal windows); reg = 0.1 lambda_max, tol 1e-3. The
dictionary is the same for every solver and library. alphacsc runs in its own
venv (``make bench-peers``); without it our figures are printed alone.

Run: ``.venv/bin/python benchmarks/bench_sparse_coding.py``
"""
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


def bench_problem(name, X, uv, rows):
    reg = 0.1 * lambda_max(X, uv)
    sparse_encode(X[:, :, :1000], uv, reg)  # compile outside the timings
    reference = compute_objective(
        X, sparse_encode(X, uv, reg, tol=1e-7, max_iter=100000), uv, reg)
    ours = {}
    for solver, max_iter in SOLVERS:
        n_repeat = 3 if solver in ("lgcd", "gcd") else 1
        seconds, z = best_time(lambda solver=solver, max_iter=max_iter: sparse_encode(
            X, uv, reg, solver=solver, tol=TOL, max_iter=max_iter), n_repeat)
        objective = compute_objective(X, z, uv, reg)
        ours[solver] = seconds
        rows.append([name, f"cdl {solver}", f"{seconds:.3f}",
                     f"{(objective - reference) / reference:.1e}", ""])
    peer = run_peer("update_z", dict(X=X, uv=uv, reg=reg, tol=TOL, n_repeat=3))
    if peer is not None:
        objective = compute_objective(X, peer["z"], uv, reg)
        rows.append([name, "alphacsc lgcd", f"{peer['time']:.3f}",
                     f"{(objective - reference) / reference:.1e}",
                     f"{peer['time'] / ours['lgcd']:.1f}x"])


def main():
    rows = []
    X = simulated_signal()
    bench_problem("simulated 64x20000, 8x64", X, windows_dictionary(X, 8, 64), rows)
    X = eegbci_signal()
    if X is None:
        print("EEGBCI data not found: real-data problem skipped.")
    else:
        bench_problem("EEGBCI S001R03, 8x80", X, windows_dictionary(X, 8, 80), rows)
    print_table(f"z-step, reg = 0.1 lambda_max, tol = {TOL}",
                ["problem", "solver", "time (s)", "rel. objective excess",
                 "alphacsc / cdl lgcd"], rows)
    ok, reason = peer_available()
    if not ok:
        print(f"\nalphacsc not run: {reason}")


if __name__ == "__main__":
    main()
