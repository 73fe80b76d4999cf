"""Measure alphacsc 0.4.1 on the reference problems, from OUR venv.

    .venv/bin/python benchmarks/peers/measure_issue.py [--skip-sim] [--skip-eeg]
        [--n-iter 30] [--lambda-max signed|abs] [--out results.json]

1. Simulated: ``cdl.simulate.simulate_data`` with 1 trial, 64 channels,
   20000 samples, 8 rank-1 atoms of 64 samples (random_state=0, default
   density and noise); the z-step on the true dictionary with reg = 0.1
   lambda_max(X, uv), tol 1e-3, LGCD: alphacsc's time (best of 3).
2. EEG: ``S001R03.edf`` (PhysioNet EEGBCI), band-pass 2-45 Hz, divided by its
   global std; 8 atoms of 80 samples initialised from 8 fixed windows (rank-1
   approximation: u = leading left singular vector of the window, v = u^T W,
   both unit norm); the z-step with reg = 0.1 lambda_max, tol 1e-3 (best of 3);
   then BatchCDL, n_iter=30, reg=0.2, lmbd_max='scaled', LGCD tol 1e-3, from
   that init: total time and final objective.

lambda_max is ``max_{k,t} (D_k corr X)(t)`` (signed: the smallest reg giving
z = 0 under z >= 0, as alphacsc computes it); ``--lambda-max abs`` uses
DESIGN.md's ``max |.|`` instead. Both values are printed.
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

EDF = Path(os.environ.get("CDL_DATA_EEGBCI",
                          HERE.parents[2] / "shared" / "data" / "eegbci")) \
    / "S001R03.edf"


def _run_peer(*args, **kwargs):
    """benchmarks/_peers.run_peer (benchmarks/ is not a package)."""
    bench_dir = str(Path(__file__).resolve().parents[1])
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    from _peers import run_peer
    return run_peer(*args, **kwargs)


def correlation_max(X, uv):
    """(signed max, abs max) over atoms and times of D_k corr X[0]."""
    n_channels = X.shape[1]
    smax, amax = -np.inf, 0.0
    for uk, vk in zip(uv[:, :n_channels], uv[:, n_channels:]):
        c = np.correlate(uk @ X[0], vk, mode="valid")
        smax, amax = max(smax, c.max()), max(amax, np.abs(c).max())
    return float(smax), float(amax)


def eeg_problem(n_atoms=8, n_times_atom=80):
    import mne
    raw = mne.io.read_raw_edf(EDF, preload=True, verbose=False)
    raw.filter(2.0, 45.0, verbose=False)
    X = raw.get_data()[None]
    X = X / X.std()
    n_times = X.shape[-1]
    # 8 fixed windows, evenly spread over the recording
    starts = [(k + 1) * n_times // (n_atoms + 1) for k in range(n_atoms)]
    uv = []
    for s in starts:
        W = X[0, :, s:s + n_times_atom]
        U, _, _ = np.linalg.svd(W, full_matrices=False)
        u = U[:, 0]
        v = u @ W
        uv.append(np.concatenate([u / np.linalg.norm(u),
                                  v / np.linalg.norm(v)]))
    return np.ascontiguousarray(X), np.array(uv), starts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--skip-eeg", action="store_true")
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--lambda-max", choices=("signed", "abs"),
                        default="signed")
    parser.add_argument("--out", default=None, help="write a JSON summary")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    pick = 0 if args.lambda_max == "signed" else 1
    summary = {}

    if not args.skip_sim:
        from cdl.simulate import simulate_data
        X, u, v, _ = simulate_data(n_trials=1, n_channels=64, n_times=20000,
                                   n_atoms=8, n_times_atom=64,
                                   random_state=0)
        uv = np.hstack([u, v])
        lm = correlation_max(X, uv)
        reg = 0.1 * lm[pick]
        res = _run_peer("update_z", {"X": X, "uv": uv, "reg": reg, "tol": 1e-3,
                                        "n_repeat": 3}, timeout=1800)
        if res is None:
            raise SystemExit("simulated update_z failed (see log)")
        summary["sim_update_z"] = {
            "shape": list(X.shape), "lambda_max_signed": lm[0],
            "lambda_max_abs": lm[1], "reg": reg, "time_best": res["time"],
            "times": res["times"].tolist(), "objective": res["objective"],
            "objective_z0": res["objective_z0"], "nnz": res["nnz"],
            "peer_versions": res["peer_versions"]}
        print(json.dumps({"sim_update_z": summary["sim_update_z"]}, indent=1),
              flush=True)

    if not args.skip_eeg:
        if not EDF.exists():
            raise SystemExit(f"{EDF} not found")
        X, uv, starts = eeg_problem()
        lm = correlation_max(X, uv)
        reg = 0.1 * lm[pick]
        res = _run_peer("update_z", {"X": X, "uv": uv, "reg": reg, "tol": 1e-3,
                                        "n_repeat": 3}, timeout=1800)
        if res is None:
            raise SystemExit("EEG update_z failed (see log)")
        summary["eeg_update_z"] = {
            "shape": list(X.shape), "window_starts": starts,
            "lambda_max_signed": lm[0], "lambda_max_abs": lm[1], "reg": reg,
            "time_best": res["time"], "times": res["times"].tolist(),
            "objective": res["objective"], "objective_z0": res["objective_z0"],
            "nnz": res["nnz"]}
        print(json.dumps({"eeg_update_z": summary["eeg_update_z"]}, indent=1),
              flush=True)

        res = _run_peer("batch_cdl", {
            "X": X, "uv_init": uv, "n_atoms": 8, "n_times_atom": 80, "reg": 0.2,
            "lmbd_max": "scaled", "n_iter": args.n_iter, "rank1": True,
            "uv_constraint": "separate", "solver_z": "lgcd", "tol": 1e-3, "eps": 1e-10},
            timeout=3600)
        if res is None:
            raise SystemExit("EEG batch_cdl failed (see log)")
        z_times = res["times"][1::2]
        d_times = res["times"][2::2]
        summary["eeg_batch_cdl"] = {
            "n_iter": args.n_iter, "n_iter_run": res["n_iter_run"],
            "reg_used": res["reg_used"], "reg_used_numpy": res["reg_used_numpy"],
            "time_total": res["time"], "time_z_steps": float(np.sum(z_times)),
            "time_d_steps": float(np.sum(d_times)),
            "objective": res["objective"],
            "pobj_rescaled_last": float(res["pobj_rescaled"][-1]),
            "pobj_rescaled_first": float(res["pobj_rescaled"][0]),
            "nnz": res["nnz"]}
        print(json.dumps({"eeg_batch_cdl": summary["eeg_batch_cdl"]},
                         indent=1), flush=True)

    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
