"""BatchCDL: time per outer iteration and over 30 iterations, against alphacsc.

Problems: a simulated 64-channel, 20000-sample signal (8 rank-1 atoms of 64
samples) and the EEGBCI run S001R03 (2-45 Hz, unit std, 8 atoms of 80
samples). Both libraries start from the same dictionary (fixed signal
windows), with rank-1 atoms, ``lmbd_max='scaled'``, reg 0.2, z-step LGCD with
tol 1e-3, 30 iterations, and ours without atom revival (``revive_atoms=False``:
alphacsc has none, so both run the same algorithm). alphacsc runs in its own
venv (``make bench-peers``); without it our figures are printed alone.

Run: ``.venv/bin/python benchmarks/bench_cdl.py``
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import eegbci_signal, print_table, simulated_signal, windows_dictionary  # noqa: E402
from _peers import peer_available, run_peer  # noqa: E402

from cdl import BatchCDL  # noqa: E402
from cdl.model.objective import compute_objective

N_ITER, REG, TOL = 30, 0.2, 1e-3


def bench_problem(name, X, uv_init, rows):
    n_atoms, n_times_atom = uv_init.shape[0], uv_init.shape[1] - X.shape[1]
    kwargs = dict(n_atoms=n_atoms, n_times_atom=n_times_atom, reg=REG,
                  n_iter=N_ITER, lmbd_max="scaled", eps=1e-10,
                  revive_atoms=False, solver_z_kwargs=dict(tol=TOL, max_iter=1000))
    BatchCDL(**dict(kwargs, n_iter=1), D_init=uv_init).fit(X[:, :, :2000])
    t_start = time.perf_counter()
    model = BatchCDL(**kwargs, D_init=uv_init).fit(X)
    seconds = time.perf_counter() - t_start
    ours = compute_objective(X, model.z_hat_, model.uv_hat_, model.reg_)
    rows.append([name, "cdl", str(model.n_iter_), f"{seconds:.2f}",
                 f"{seconds / model.n_iter_:.3f}", f"{ours:.6e}", "", ""])
    peer = run_peer("batch_cdl", dict(
        X=X, uv_init=uv_init, n_atoms=n_atoms, n_times_atom=n_times_atom,
        reg=REG, n_iter=N_ITER, lmbd_max="scaled", tol=TOL, max_iter=1000,
        eps=1e-10), timeout=1800)
    if peer is not None:
        rows.append([name, "alphacsc", str(peer["n_iter_run"]), f"{peer['time']:.2f}",
                     f"{peer['time'] / peer['n_iter_run']:.3f}",
                     f"{peer['objective']:.6e}", f"{peer['time'] / seconds:.1f}x",
                     f"{100 * (ours - peer['objective']) / peer['objective']:+.2f}%"])


def main():
    rows = []
    X = simulated_signal()
    bench_problem("simulated 64x20000, 8x64", X, windows_dictionary(X, 8, 64), rows)
    X = eegbci_signal()
    if X is None:
        print("EEGBCI data not found: real-data problem skipped.")
    else:
        bench_problem("EEGBCI S001R03, 8x80", X, windows_dictionary(X, 8, 80), rows)
    print_table(f"BatchCDL, {N_ITER} iterations, reg {REG} (scaled), z tol {TOL}",
                ["problem", "library", "iterations", "time (s)", "s / iteration",
                 "final objective", "alphacsc / cdl time",
                 "cdl objective vs alphacsc"], rows)
    ok, reason = peer_available()
    if not ok:
        print(f"\nalphacsc not run: {reason}")


if __name__ == "__main__":
    main()
