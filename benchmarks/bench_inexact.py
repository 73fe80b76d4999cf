"""Inexact z-steps inside learning: time and final objective against exact ones.

How ``RHO`` of :mod:`cdl.learn.precision` was checked: ``BatchCDL`` (8 atoms of
80 samples, reg 0.2 scaled, 30 iterations, z tol 1e-3 and max_iter 1000,
revival off) on EEGBCI runs (2-45 Hz, unit std) from four initial
dictionaries each (fixed signal windows as in ``bench_cdl.py``, 'chunk',
'greedy' and 'ssa' with random state 0), with exact z-steps and with inexact
ones for several values of ``rho``. Prints each fit's final objective
relative to the exact fit from the same start, then per ``rho`` the mean,
range and total time. No peer library: alphacsc has no inexact z-steps (see
``bench_cdl.py`` for the comparison).

Run: ``.venv/bin/python benchmarks/bench_inexact.py [--runs 3,4,7]
[--rhos 0.01,0.003,0.001]``
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import eegbci_signal, print_table, windows_dictionary  # noqa: E402

import cdl.learn.precision as precision  # noqa: E402
from cdl import BatchCDL  # noqa: E402
from cdl.dictionary import init_dictionary  # noqa: E402

INITS = ("windows", "chunk", "greedy", "ssa")


def initial_dictionary(X, init):
    if init == "windows":
        return windows_dictionary(X, 8, 80)
    return init_dictionary(X, 8, 80, D_init=init,
                           random_state=np.random.RandomState(0))


def fit(X, D, rho):
    """Final objective and seconds of one fit; rho None: exact z-steps."""
    if rho is not None:
        precision.RHO = rho
    solver_z_kwargs = dict(tol=1e-3, max_iter=1000, inexact=rho is not None)
    start = time.perf_counter()
    model = BatchCDL(n_atoms=8, n_times_atom=80, reg=0.2, lmbd_max="scaled",
                     n_iter=30, eps=1e-10, revive_atoms=False, D_init=D,
                     random_state=0, solver_z_kwargs=solver_z_kwargs).fit(X)
    return float(model.pobj_[-1]), time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="3,4,7")
    parser.add_argument("--rhos", default="0.01,0.003,0.001")
    args = parser.parse_args(argv)
    rhos = [float(r) for r in args.rhos.split(",")]
    default = precision.RHO
    excess = {rho: [] for rho in rhos}
    seconds = {rho: 0. for rho in [None] + rhos}
    rows = []
    try:
        for run in (int(r) for r in args.runs.split(",")):
            X = eegbci_signal(run=run)
            if X is None:
                print(f"EEGBCI run {run} not found: skipped.")
                continue
            for init in INITS:
                D = initial_dictionary(X, init)
                exact, seconds_exact = fit(X, D, None)
                seconds[None] += seconds_exact
                row = [f"S001R{run:02d}", init, f"{exact:.6e}"]
                for rho in rhos:
                    objective, spent = fit(X, D, rho)
                    seconds[rho] += spent
                    excess[rho].append(100 * (objective - exact) / exact)
                    row.append(f"{excess[rho][-1]:+.3f}%")
                rows.append(row)
    finally:
        precision.RHO = default
    print_table("Final objective of inexact z-steps relative to exact ones "
                "(30 iterations, same start)",
                ["run", "init", "exact objective"] + [f"rho {r:g}" for r in rhos],
                rows)
    summary = [["exact", "", "", "", f"{seconds[None]:.1f}"]]
    for rho in rhos:
        values = np.array(excess[rho]) if excess[rho] else np.zeros(1)
        summary.append([f"rho {rho:g}" + (" (default)" if rho == default else ""),
                        f"{values.mean():+.3f}%", f"{values.min():+.3f}%",
                        f"{values.max():+.3f}%", f"{seconds[rho]:.1f}"])
    print_table("Per rho, over all fits", ["z-steps", "mean", "min", "max",
                                           "total time (s)"], summary)


if __name__ == "__main__":
    main()
