"""DICOD: time to tolerance against the number of workers, and against dicodile.

Problems (10 atoms each):

- 1-D: a simulated signal of 8 channels and 1,000,000 samples, rank-1 atoms
  of 64 samples (the simulation's own), events at density 1e-3;
- 2-D: a 2048 x 2048 image, sum of 8 x 8 atoms at density 1e-3 plus noise.

reg = 0.1 lambda_max. tol = 1e-3, either absolute (dicodile's meaning, the
setting of the reference figure in the issue: cdl's tol is then 1e-3 / std(X))
or relative to the signal's standard deviation (``cdl.sparse_encode``'s
meaning; dicodile then gets ``tol * std(X)``). Solvers: the sequential LGCD
(``cdl.sparse_encode`` for 1-D, DICOD with one in-process worker for 2-D),
DICOD with 1, 2 and 4 spawned MPI workers, and dicodile 0.3 on the identical
problem when its venv is there (see ``benchmarks/peers/README.md``); the
relative-tol 1-D problem skips dicodile (about 15 minutes per run). "wall" is
the whole call (spawn, transfer, solve, gather; dicodile is compared on it),
"pool" the whole call on the running workers of a ``dicod.WorkerPool`` (after
one call in which they load their kernels), "solve" the workers' solve.
DICOD times are medians of ``--repeat`` calls (default 1), the others of one
run; the machine has 2 cores (4 workers oversubscribe it).
A third table times dictionary learning (``cdl.BatchCDL``, 10 iterations on
8 x 300,000 samples) with the sequential z-step and with ``solver_z='dicod'``
on 1 and 2 spawned workers, which start once per fit. A last table counts the
updates per worker for 1 to 16 in-process workers.

Run: ``.venv/bin/python benchmarks/bench_dicod.py [--quick] [--repeat N]
[--skip-1d] [--skip-2d] [--skip-peers] [--skip-scaling] [--skip-learning]``.
"""
import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table  # noqa: E402
from _peers import peer_available, peer_python, run_peer, save_problem  # noqa: E402

import dicod  # noqa: E402
from cdl import BatchCDL  # noqa: E402
from cdl._kernels.conv2d import correlate_2d, reconstruct_2d  # noqa: E402
from cdl.coding import sparse_encode  # noqa: E402
from cdl.model.objective import compute_objective, lambda_max
from cdl.simulate import simulate_data  # noqa: E402

TOL = 1e-3
WORKERS = (1, 2, 4)


def problem_1d(n_times):
    X, u, v, _ = simulate_data(n_trials=1, n_channels=8, n_times=n_times,
                               n_atoms=10, n_times_atom=64, density=1e-3,
                               noise_level=0.3, random_state=0)
    uv = np.hstack([u, v])
    return X, uv, 0.1 * lambda_max(X, uv)


def problem_2d(size):
    rng = np.random.RandomState(0)
    n_atoms, atom = 10, 8
    grid = np.linspace(-1, 1, atom)
    D = np.array([np.outer(np.hanning(atom), np.hanning(atom))
                  * np.cos(np.pi * (k % 4 + 1) * np.add.outer(
                      grid * np.cos(k), grid * np.sin(k))) for k in range(n_atoms)])
    D = (D / np.linalg.norm(D.reshape(n_atoms, -1), axis=1)[:, None, None])[:, None]
    valid = size - atom + 1
    z = (rng.rand(n_atoms, valid, valid) < 1e-3) * (1 + rng.rand(n_atoms, valid,
                                                               valid))
    X = reconstruct_2d(z, D)
    X += 0.1 * X.std() * rng.randn(*X.shape)
    return X, D, 0.1 * np.abs(correlate_2d(X, D)).max()


def objective_2d(X, D, z, reg):
    residual = X - reconstruct_2d(z, D)
    return 0.5 * float(np.sum(residual ** 2)) + reg * float(z.sum())


def run_dicod(X, D, reg, n_workers, tol, backend="spawn", repeat=1, warm=True):
    """Median times of ``repeat`` calls; the last call's z and info.

    ``wall``: calls that start and end their workers; ``info['warm']``: calls
    on a running :class:`dicod.WorkerPool` (after one call that lets its
    workers load their kernels); ``info['time']``: the workers' solve.
    """
    kwargs = dict(tol=tol, return_info=True, max_iter=10 ** 7)
    walls, solves, warm_walls = [], [], []
    for _ in range(repeat):
        t_start = time.perf_counter()
        z, info = dicod.dicod(X, D, reg, n_workers=n_workers, backend=backend,
                              **kwargs)
        walls.append(time.perf_counter() - t_start)
        solves.append(info["time"])
    if warm:
        with dicod.WorkerPool(n_workers, backend=backend) as pool:
            dicod.dicod(X, D, reg, pool=pool, **kwargs)
            for _ in range(repeat):
                t_start = time.perf_counter()
                dicod.dicod(X, D, reg, pool=pool, **kwargs)
                warm_walls.append(time.perf_counter() - t_start)
    info = dict(info, time=float(np.median(solves)),
                warm=float(np.median(warm_walls)) if warm else None)
    return z, float(np.median(walls)), info


DICODILE_2D = """
import sys, time, os
import numpy as np
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
sys.path.insert(0, {peers!r})
from problem_io import load_problem, save_result
from dicodile.update_z.dicod import dicod
p = load_problem(sys.argv[1])
kwargs = dict(tol=float(p["tol"]), max_iter=10 ** 8, z_positive=True,
              soft_lock="border", strategy="greedy", random_state=0, verbose=0)
dicod(np.ascontiguousarray(p["X"][:, :64, :64]), p["D"], float(p["reg"]),
      n_workers=1, **kwargs)  # warm-up
t0 = time.perf_counter()
z, *_ = dicod(p["X"], p["D"], float(p["reg"]), n_workers=int(p["n_workers"]),
              **kwargs)
save_result(sys.argv[2], z=np.asarray(z), time=time.perf_counter() - t0)
"""


def run_dicodile_2d(X, D, reg, n_workers, timeout=1800):
    """dicodile on an image, in the peer venv (run_peer's task is 1-D only)."""
    ok, _ = peer_available()
    if not ok:
        return None
    peers = Path(__file__).resolve().parent / "peers"
    sys.path.insert(0, str(peers))
    from problem_io import load_result
    with tempfile.TemporaryDirectory(prefix="cdl-dicodile-2d-") as tmp:
        script = Path(tmp) / "run.py"
        script.write_text(textwrap.dedent(DICODILE_2D.format(peers=str(peers))))
        save_problem(Path(tmp) / "p.npz", X=X, D=D, reg=reg,
                     tol=TOL * float(X.std()), n_workers=n_workers)
        try:
            proc = subprocess.run([str(peer_python()), str(script),
                                   str(Path(tmp) / "p.npz"), str(Path(tmp) / "r.npz")],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return None
        return load_result(Path(tmp) / "r.npz")


def bench_1d(n_times, tol, peers, rows, label, repeat=1):
    X, uv, reg = problem_1d(n_times)
    tol = tol / float(X.std()) if label == "abs" else tol
    name = f"1-D 8x{n_times}, tol {TOL:g}" + (" abs." if label == "abs" else " rel.")
    sparse_encode(X[:, :, :5000], uv, reg)  # compile outside the timings
    dicod.dicod(X[:, :, :5000], uv, reg, n_workers=1, backend="local")
    t_start = time.perf_counter()
    z_seq = sparse_encode(X, uv, reg, tol=tol, max_iter=10 ** 7)
    t_seq = time.perf_counter() - t_start
    results = {"cdl.sparse_encode (lgcd)": (z_seq, t_seq, None)}
    for n_workers in WORKERS:
        results[f"dicod {n_workers} worker(s)"] = run_dicod(X, uv, reg, n_workers,
                                                            tol, repeat=repeat)
    if peers:
        for n_workers in (1, 2):
            res = run_peer("dicod", dict(X=X, uv=uv, reg=reg, n_workers=n_workers,
                                         tol=tol * float(X.std())), timeout=3600)
            if res is not None:
                results[f"dicodile 0.3, {n_workers} worker(s)"] = (
                    res["z"], res["time"], None)
    objectives = {k: compute_objective(X, r[0], uv, reg) for k, r in results.items()}
    _rows(name, results, objectives, rows)
    return X, uv, reg, tol


def bench_scaling(X, uv, reg, tol, rows, workers=(1, 2, 4, 8, 16)):
    """Updates per worker as workers are added (threads: counts, not times)."""
    n_one = None
    for n_workers in workers:
        _, info = dicod.dicod(X, uv, reg, n_workers=n_workers, tol=tol,
                              backend="local", return_info=True, max_iter=10 ** 7)
        updates = np.array(info["n_updates"])
        n_one = n_one or updates.sum()
        rows.append([str(n_workers), f"{updates.sum() / 1e3:.0f}k",
                     f"{updates.max() / 1e3:.0f}k",
                     f"{n_one / updates.max():.2f}",
                     f"{sum(info['n_messages'])}"])


def bench_2d(size, peers, rows, repeat=1):
    X, D, reg = problem_2d(size)
    name = f"2-D {size}x{size}, tol {TOL:g} rel."
    dicod.dicod(X[:, :64, :64], D, reg, n_workers=1, backend="local")
    results = {"sequential (dicod, 1 in-process worker)": run_dicod(
        X, D, reg, 1, TOL, "local", warm=False)}
    for n_workers in WORKERS:
        results[f"dicod {n_workers} worker(s)"] = run_dicod(X, D, reg, n_workers,
                                                            TOL, repeat=repeat)
    if peers:
        for n_workers in (1, 4):
            res = run_dicodile_2d(X, D, reg, n_workers)
            if res is not None:
                results[f"dicodile 0.3, {n_workers} worker(s)"] = (
                    res["z"][None] if res["z"].ndim == 3 else res["z"],
                    float(res["time"]), None)
    objectives = {k: objective_2d(X, D, r[0].reshape((D.shape[0],) + r[0].shape[-2:]),
                                  reg) for k, r in results.items()}
    _rows(name, results, objectives, rows)


def bench_learning(n_times, rows, n_iter=10):
    """Fit time of BatchCDL with the sequential and the distributed z-step."""
    X, _, _ = problem_1d(n_times)
    kwargs = dict(n_atoms=10, n_times_atom=64, reg=0.1, n_iter=n_iter, eps=0.,
                  random_state=0, solver_z_kwargs=dict(tol=TOL, max_iter=10 ** 7))
    BatchCDL(**dict(kwargs, n_iter=1)).fit(X[:, :, :5000])  # compile first
    settings = [("BatchCDL, lgcd", {})] + [
        (f"BatchCDL, dicod {n} worker(s)", dict(solver_z="dicod", n_workers=n))
        for n in (1, 2)]
    fits = {}
    for name, params in settings:
        t_start = time.perf_counter()
        model = BatchCDL(**kwargs, **params).fit(X)
        fits[name] = (time.perf_counter() - t_start, model.pobj_[-1])
    t_one = fits["BatchCDL, dicod 1 worker(s)"][0]
    best = min(pobj for _, pobj in fits.values())
    for name, (wall, pobj) in fits.items():
        rows.append([f"8x{n_times}, {n_iter} iterations", name, f"{wall:.2f}",
                     f"{t_one / wall:.2f}", f"{(pobj - best) / abs(best):.1e}"])


def _rows(name, results, objectives, rows):
    best = min(objectives.values())
    one = results["dicod 1 worker(s)"]
    for key, (_, wall, info) in results.items():
        warm = speedup_warm = updates = solve = speedup_solve = ""
        if info is not None:
            updates = "/".join(f"{u // 1000}k" for u in info["n_updates"])
            solve = f"{info['time']:.2f}"
            speedup_solve = f"{one[2]['time'] / info['time']:.2f}"
            if info.get("warm") is not None:
                warm = f"{info['warm']:.2f}"
                speedup_warm = f"{one[2]['warm'] / info['warm']:.2f}"
        ratio = ""
        if key.startswith("dicodile"):  # at equal workers
            n_workers = key.split(", ")[1].split()[0]
            ratio = f"{wall / results[f'dicod {n_workers} worker(s)'][1]:.1f}x"
        rows.append([name, key, f"{wall:.2f}", f"{one[1] / wall:.2f}", warm,
                     speedup_warm, solve, speedup_solve, updates,
                     f"{(objectives[key] - best) / abs(best):.1e}", ratio])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="problems 10x (1-D) or 16x (2-D) smaller")
    parser.add_argument("--repeat", type=int, default=1,
                        help="calls per DICOD setting (median times)")
    parser.add_argument("--skip-1d", action="store_true")
    parser.add_argument("--skip-2d", action="store_true")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-learning", action="store_true")
    args = parser.parse_args()
    n_times = 1_000_000 // (10 if args.quick else 1)
    peers = not args.skip_peers and peer_available()[0]
    rows, scaling, learning = [], [], []
    if not args.skip_1d:
        # dicodile's tol is absolute: 1e-3 as in the reference figure.
        bench_1d(n_times, TOL, peers, rows, "abs", args.repeat)
        X, uv, reg, tol = bench_1d(n_times, TOL, False, rows, "rel", args.repeat)
        if not args.skip_scaling:
            bench_scaling(X, uv, reg, tol, scaling)
    if not args.skip_2d:
        bench_2d(2048 // (4 if args.quick else 1), peers, rows, args.repeat)
    if not args.skip_learning:
        bench_learning(300_000 // (10 if args.quick else 1), learning)
    if rows:
        print_table("DICOD, reg = 0.1 lambda_max; wall = whole call (spawn, "
                    "setup, solve, gather); pool = whole call on a running "
                    "dicod.WorkerPool; solve = workers' solve",
                    ["problem", "solver", "wall (s)", "speedup (wall)",
                     "pool (s)", "speedup (pool)", "solve (s)",
                     "speedup (solve)", "updates per worker",
                     "rel. objective excess", "dicodile / dicod"], rows)
    if learning:
        print_table("Dictionary learning with the DICOD z-step (tol 1e-3 rel.): "
                    "workers start once per fit",
                    ["problem", "estimator", "wall (s)", "speedup vs 1 worker",
                     "rel. objective excess"], learning)
    if scaling:
        print_table("Scaling by update counts (1-D, tol 1e-3 rel., in-process "
                    "workers): speedup bound = updates of 1 worker / most updates "
                    "of one worker",
                    ["workers", "updates (total)", "updates (busiest worker)",
                     "speedup bound", "update messages"], scaling)


if __name__ == "__main__":
    main()
