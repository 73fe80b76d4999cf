"""Smoke-check the peer runners from OUR venv on a small random problem.

    .venv/bin/python benchmarks/peers/check_peers.py [--no-dicod]

8 channels, 2000 samples, 3 rank-1 atoms of 32 samples, reg = 0.1 lambda_max.
Runs update_z, batch_cdl and dicod through ``benchmarks/_peers.run_peer``
and checks: objective finite, z >= 0, z-step objective below the one at
z = 0, the runner's numpy objective equal to ours (``cdl.model.objective``, when
importable), BatchCDL's final objective equal to its last pobj (rescaled) and
its reg equal to reg * lambda_max(X, uv_init). Exits 1 on any failed check.
"""

import argparse
import logging
import sys
from pathlib import Path

import numpy as np


def _run_peer(*args, **kwargs):
    """benchmarks/_peers.run_peer (benchmarks/ is not a package)."""
    bench_dir = str(Path(__file__).resolve().parents[1])
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    from _peers import run_peer
    return run_peer(*args, **kwargs)


def make_problem(n_channels=8, n_times=2000, n_atoms=3, n_times_atom=32,
                 seed=0):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n_atoms, n_channels))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    t = np.linspace(0, 1, n_times_atom)
    v = np.array([np.sin(2 * np.pi * (k + 1) * t) * np.hanning(n_times_atom)
                  for k in range(n_atoms)])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    uv = np.hstack([u, v])
    n_times_valid = n_times - n_times_atom + 1
    z = np.zeros((1, n_atoms, n_times_valid))
    for k in range(n_atoms):
        idx = rng.choice(n_times_valid, size=15, replace=False)
        z[0, k, idx] = rng.uniform(1, 3, size=idx.size)
    D = u[:, :, None] * v[:, None, :]
    X = np.zeros((1, n_channels, n_times))
    for k in range(n_atoms):
        for c in range(n_channels):
            X[0, c] += np.convolve(z[0, k], D[k, c])
    X += 0.1 * rng.standard_normal(X.shape)
    return X, uv


def lambda_max(X, uv):
    n_channels = X.shape[1]
    u, v = uv[:, :n_channels], uv[:, n_channels:]
    return max(np.correlate(uk @ X[0], vk, mode="valid").max()
               for uk, vk in zip(u, v))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-dicod", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    failures = []

    def check(cond, msg):
        print(("  ok   " if cond else "  FAIL ") + msg)
        if not cond:
            failures.append(msg)

    try:
        from cdl.model.objective import compute_objective as our_objective
    except ImportError:  # cdl not importable
        our_objective = None

    X, uv = make_problem()
    lmax = lambda_max(X, uv)
    reg = 0.1 * lmax
    print(f"problem X{X.shape} uv{uv.shape} lambda_max={lmax:.4g} "
          f"reg={reg:.4g}")

    res = _run_peer("update_z", {"X": X, "uv": uv, "reg": reg, "tol": 1e-3})
    check(res is not None, "update_z ran")
    if res is not None:
        z = res["z"]
        print(f"update_z: time={res['time']:.4f}s obj={res['objective']:.6g}"
              f" obj(z=0)={res['objective_z0']:.6g} nnz={res['nnz']} "
              f"[{res['peer_versions']}]")
        check(z.shape == (1, 3, 2000 - 32 + 1), f"z shape {z.shape}")
        check(np.isfinite(res["objective"]), "objective finite")
        check(bool((z >= 0).all()), "z >= 0")
        check(res["objective"] < res["objective_z0"], "obj(z) < obj(0)")
        check(np.isclose(res["lambda_max"], lmax), "runner lambda_max")
        if our_objective is not None:
            ours = our_objective(X, z, uv, reg)
            check(np.isclose(ours, res["objective"], rtol=1e-10),
                  f"numpy objective == cdl.model.objective ({ours:.10g})")
        z_alpha, obj_alpha = z, res["objective"]

    res = _run_peer("batch_cdl", {
        "X": X, "uv_init": uv, "n_atoms": 3, "n_times_atom": 32, "reg": 0.1,
        "lmbd_max": "scaled", "n_iter": 5, "rank1": True, "uv_constraint": "separate",
        "solver_z": "lgcd", "tol": 1e-3, "eps": 1e-10})
    check(res is not None, "batch_cdl ran")
    if res is not None:
        print(f"batch_cdl: time={res['time']:.3f}s n_iter_run="
              f"{res['n_iter_run']} obj={res['objective']:.6g} "
              f"pobj_rescaled[-1]={res['pobj_rescaled'][-1]:.6g} "
              f"reg_used={res['reg_used']:.6g} "
              f"reg_used_numpy={res['reg_used_numpy']:.6g}")
        check(np.isfinite(res["objective"]), "objective finite")
        check(bool((res["z_hat"] >= 0).all()), "z_hat >= 0")
        check(res["uv_hat"].shape == uv.shape, "uv_hat shape")
        check(np.isclose(res["reg_used"], res["reg_used_numpy"], rtol=1e-8),
              "reg_used == reg * lambda_max(X, uv_init)")
        check(np.isclose(res["objective"], res["pobj_rescaled"][-1],
                         rtol=1e-6),
              "numpy objective == alphacsc's last pobj * std(X)^2")

    if not args.no_dicod:
        # dicodile's tol is absolute: scale it like alphacsc's LGCD.
        res = _run_peer("dicod", {"X": X[0], "uv": uv, "reg": reg,
                                     "tol": 1e-3 * X.std(), "n_workers": 2})
        check(res is not None, "dicod ran")
        if res is not None:
            z = res["z"]
            print(f"dicod: time={res['time']:.3f}s obj={res['objective']:.6g}"
                  f" nnz={res['nnz']} n_updates={res['n_updates']}")
            check(np.isfinite(res["objective"]), "objective finite")
            check(bool((z >= 0).all()), "z >= 0")
            check(res["objective"] < res["objective_z0"], "obj(z) < obj(0)")
            if "obj_alpha" in locals():
                rel = abs(res["objective"] - obj_alpha) / obj_alpha
                check(rel < 1e-3, f"dicod objective within 1e-3 of alphacsc "
                      f"lgcd (rel diff {rel:.2e})")

    print(f"{len(failures)} failed check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
