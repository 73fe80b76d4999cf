"""Benchmark: DriPP fit time against the number of activation events and drivers.

Simulates recordings whose length is set so that each atom has about
``n_events`` activations (baseline 0.5/s, stimuli every 2 s pooled over the
drivers, alpha = 0.8, m = 0.3 s, sigma = 0.1 s, support [0.03, 0.8] s), fits
``DriPP`` and prints a table: wall-clock fit time (best of ``--repeat``,
including the pair search), EM iterations, and time per iteration. A second
table times the statistics (likelihood-ratio test with the chi2 null, and
bootstrap confidence intervals with 100 replicates). No assertion: this is a
measurement.

Usage::

    python benchmarks/bench_dripp.py [--quick] [--repeat 3]
"""
import argparse
import time

import numpy as np

from cdl.dripp import DriPP, simulate_dripp, simulate_drivers

LOWER, UPPER = 0.03, 0.8
BASELINE, ALPHA, M, SIGMA, ISI = 0.5, 0.8, 0.3, 0.1, 2.0


def make_data(n_events, n_drivers, seed=0):
    rate = BASELINE + ALPHA / ISI  # each stimulus belongs to one driver
    t_max = n_events / rate
    drivers = simulate_drivers(t_max, n_drivers, isi=ISI, jitter=0.5,
                               random_state=seed)
    atoms = simulate_dripp(drivers, t_max, BASELINE, [ALPHA] * n_drivers,
                           [M] * n_drivers, [SIGMA] * n_drivers, LOWER, UPPER,
                           random_state=seed)
    return atoms, drivers, t_max


def bench(n_events, n_drivers, repeat):
    atoms, drivers, t_max = make_data(n_events, n_drivers)
    best, est = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        est = DriPP(lower=LOWER, upper=UPPER).fit(atoms, drivers, t_max)
        best = min(best, time.perf_counter() - t0)
    err = np.abs(est.m_ - M).max()
    return dict(n_events=atoms.size, n_drivers=n_drivers, t_max=t_max,
                time=best, n_iter=est.n_iter_, per_iter=best / est.n_iter_,
                err_m=err)


def bench_stats(n_events, n_drivers):
    atoms, drivers, t_max = make_data(n_events, n_drivers)
    est = DriPP(lower=LOWER, upper=UPPER).fit(atoms, drivers, t_max)
    t0 = time.perf_counter()
    est.likelihood_ratio_test()
    t1 = time.perf_counter()
    est.bootstrap_ci(n_boot=100, random_state=0)
    return atoms.size, t1 - t0, time.perf_counter() - t1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="skip the 1e6-event cases")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [1e3, 1e4, 1e5] if args.quick else [1e3, 1e4, 1e5, 1e6]
    DriPP().fit(*make_data(1000, 1))  # warm-up (imports, caches)
    header = (f"{'n_events':>9} {'n_drivers':>9} {'T (s)':>9} {'fit (s)':>8} "
              f"{'n_iter':>6} {'ms/iter':>8} {'|m err|':>8}")
    print(header)
    print("-" * len(header))
    for n_drivers in (1, 2, 5):
        for size in sizes:
            r = bench(int(size), n_drivers, 1 if size >= 1e6 else args.repeat)
            print(f"{r['n_events']:>9d} {r['n_drivers']:>9d} {r['t_max']:>9.0f} "
                  f"{r['time']:>8.3f} {r['n_iter']:>6d} "
                  f"{1e3 * r['per_iter']:>8.2f} {r['err_m']:>8.4f}")
    print()
    header = f"{'n_events':>9} {'n_drivers':>9} {'LRT (s)':>8} {'boot100 (s)':>11}"
    print(header)
    print("-" * len(header))
    for size in [1e3, 1e4, 1e5]:
        n, t_lrt, t_boot = bench_stats(int(size), 2)
        print(f"{n:>9d} {2:>9d} {t_lrt:>8.3f} {t_boot:>11.3f}")


if __name__ == "__main__":
    main()
