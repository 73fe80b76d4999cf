"""Peak memory of the z-step on a long recording: chunked versus one-shot.

Problem: a simulated 64-channel recording of 1 hour at 250 Hz (900 000 samples,
230 MB in float32) written to an ``.npy`` file, 8 rank-1 atoms of 64 samples
(0.26 s), reg = 0.1 lambda_max, tol 1e-3. Each method runs in its own
subprocess, which compiles the kernels on a tiny problem first, then records
its resident memory (``VmRSS``) as the baseline; the peak (``VmHWM``) minus
that baseline is what the method needed. ``tracemalloc`` gives the peak of the
allocations numpy reports (it misses numba's). The target of issue 8 is a peak
below 2x the size of X in float32 plus the dictionary.

Methods:

- ``chunked-memmap``: :func:`cdl.coding.chunked.sparse_encode_chunked` on
  ``np.load(..., mmap_mode='r')`` (pages of the file it has read count in the
  resident memory: they are mapped, not copied).
- ``one-shot-float32``: :func:`cdl.sparse_encode` on X loaded in memory.
- ``one-shot-float64``: the same after ``X.astype(float)``, what one gets by
  default from MNE.
- ``fit-chunked-memmap``: ``BatchCDL(chunk_len=2 ** 15, n_iter=2)`` on the
  memory map (learning: z-steps, statistics and objective window by window).

Run: ``.venv/bin/python benchmarks/bench_memory.py [--minutes 60]``

Measured (2-core machine, 60 min; 2 X + D = 439.5 MB)::

    method              RSS peak MB  / (2X+D)  traced MB   time s      nnz
    chunked-memmap            284.6      0.65       68.9      9.0   132840
    one-shot-float32         1730.1      3.94     1675.6     18.0   132991
    one-shot-float64         2006.5      4.57     1977.8     16.0   132945
    fit-chunked-memmap        302.7      0.69       67.2      9.5    10364

The chunked rows include the pages of the memory-mapped file they have read
(up to 220 MB); what they allocate is about 70 MB, whatever the duration.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_CHANNELS, SFREQ, N_ATOMS, N_TIMES_ATOM = 64, 250., 8, 64
METHODS = ("chunked-memmap", "one-shot-float32", "one-shot-float64",
           "fit-chunked-memmap")


def _status_kb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def make_problem(folder, minutes, seed=0):
    """Write X (float32 .npy, block by block) and the dictionary; return paths."""
    from cdl.simulate import simulate_data
    n_times = int(minutes * 60 * SFREQ)
    rng = np.random.RandomState(seed)
    X_map = np.lib.format.open_memmap(folder / "X.npy", mode="w+",
                                      dtype=np.float32,
                                      shape=(1, N_CHANNELS, n_times))
    block = 250000
    for start in range(0, n_times, block):
        stop = min(start + block, n_times)
        X_block, u, v, _ = simulate_data(
            n_trials=1, n_channels=N_CHANNELS, n_times=stop - start,
            n_atoms=N_ATOMS, n_times_atom=N_TIMES_ATOM, density=0.002,
            noise_level=0.5, random_state=rng.randint(2 ** 31))
        X_map[0, :, start:stop] = X_block[0]
    X_map.flush()
    del X_map
    # The dictionary: the true waveforms with perturbed spatial patterns.
    uv = np.hstack([u + 0.1 * rng.randn(*u.shape), v])
    np.save(folder / "uv.npy", uv.astype(np.float32))
    return folder / "X.npy", folder / "uv.npy"


def child(method, x_path, uv_path):
    """Run one method and print its measurements as JSON (in a subprocess)."""
    import tracemalloc

    from cdl import BatchCDL, lambda_max, sparse_encode
    from cdl.coding.chunked import sparse_encode_chunked

    uv = np.load(uv_path)
    X_map = np.load(x_path, mmap_mode="r")
    # Compile the kernels (both dtypes) and find reg, outside the measurement.
    small = np.array(X_map[:, :, :5000])
    for dtype in ("float32", "float64"):
        sparse_encode(small, uv, 1., dtype=dtype)
        sparse_encode_chunked(small, uv, 1., dtype=dtype, chunk_len=1000)
    reg = 0.1 * lambda_max(small, uv)
    del small
    baseline = _status_kb("VmRSS")
    tracemalloc.start()
    t_start = time.perf_counter()
    if method == "chunked-memmap":
        z, info = sparse_encode_chunked(X_map, uv, reg, tol=1e-3, return_info=True)
        nnz, objective = info["nnz"], info["objective"]
    elif method == "fit-chunked-memmap":
        model = BatchCDL(N_ATOMS, N_TIMES_ATOM, n_iter=2, reg=0.1, D_init=uv,
                         chunk_len=2 ** 15, random_state=0).fit(X_map)
        nnz, objective = int(np.count_nonzero(model.z_hat_)), model.pobj_[-1]
    else:
        X = np.load(x_path)
        if method == "one-shot-float64":
            X = X.astype(np.float64)
        z, info = sparse_encode(X, uv, reg, tol=1e-3, return_info=True)
        nnz, objective = int(np.count_nonzero(z)), info["objective"]
    seconds = time.perf_counter() - t_start
    traced_peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps(dict(method=method, seconds=seconds, nnz=nnz,
                          objective=objective,
                          rss_peak_mb=(_status_kb("VmHWM") - baseline) / 1024,
                          traced_peak_mb=traced_peak / 2 ** 20)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.)
    parser.add_argument("--methods", nargs="+", default=list(METHODS),
                        choices=METHODS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory() as folder:
        x_path, uv_path = make_problem(Path(folder), args.minutes)
        x_mb = x_path.stat().st_size / 2 ** 20
        d_mb = np.load(uv_path).nbytes / 2 ** 20
        target = 2 * x_mb + d_mb
        print(f"X: {N_CHANNELS} channels x {args.minutes:g} min at {SFREQ:g} Hz"
              f" = {x_mb:.1f} MB in float32; dictionary {d_mb * 1024:.1f} kB; "
              f"target peak < 2 X + D = {target:.1f} MB")
        rows = []
        for method in args.methods:
            out = subprocess.run(
                [sys.executable, __file__, "--child", method, str(x_path),
                 str(uv_path)], capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    header = (f"{'method':<18} {'RSS peak MB':>12} {'/ (2X+D)':>9} "
              f"{'traced MB':>10} {'time s':>8} {'nnz':>8} {'objective':>14}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['method']:<18} {r['rss_peak_mb']:>12.1f} "
              f"{r['rss_peak_mb'] / target:>9.2f} {r['traced_peak_mb']:>10.1f} "
              f"{r['seconds']:>8.1f} {r['nnz']:>8d} {r['objective']:>14.6e}")


if __name__ == "__main__":
    main()
