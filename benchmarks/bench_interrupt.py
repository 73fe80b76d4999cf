"""Benchmark: how fast Ctrl-C returns, and what it leaves behind.

Each scenario runs in a child process that would compute for minutes; once
it prints READY, SIGINT is sent and the wall time until the child's call
returns is measured (the child prints the time it returned). Scenarios:

- ``z-step``: ``cdl.sparse_encode`` on one long trial (16 x 400 000, tol 0);
- ``fit n_jobs=2``: ``BatchCDL`` with its z-step on two loky processes;
- ``fit_group``: ``cdl.fit_group`` of four subjects on two processes;
- ``fit dicod``: ``BatchCDL(solver_z='dicod')`` on two spawned MPI workers.

The tests check that these interruptions are honoured (the model is kept,
no worker is left); the latency is a measurement, printed here as the
median, min and max of ``--repeat`` runs. No peer library is run: alphacsc
and dicodile have no Ctrl-C handling to compare with.

Usage::

    python benchmarks/bench_interrupt.py [--repeat 3] [--skip-dicod]
"""
import argparse
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from _common import print_table

SCENARIOS = {
    "z-step": """
        import numpy as np
        from cdl import sparse_encode
        rng = np.random.RandomState(0)
        X = rng.randn(1, 16, 400000)
        uv = rng.randn(5, 16 + 64)
        sparse_encode(X[:, :, :1000], uv, 1.)  # compile
        print("READY", flush=True)
        try:
            sparse_encode(X, uv, 0.01, tol=0., max_iter=10 ** 6)
        except KeyboardInterrupt:
            pass
        """,
    "fit n_jobs=2": """
        import warnings
        from cdl import BatchCDL
        from cdl.simulate import simulate_data
        X = simulate_data(n_trials=4, n_channels=8, n_times=8000, n_atoms=4,
                          n_times_atom=32, random_state=0)[0]
        def callback(X, D, z, pobj):
            print("READY", flush=True)
        warnings.simplefilter("ignore")
        BatchCDL(n_atoms=4, n_times_atom=32, n_iter=100000, eps=0., n_jobs=2,
                 callback=callback, random_state=0,
                 solver_z_kwargs=dict(tol=1e-7, max_iter=100000)).fit(X)
        """,
    "fit_group": """
        import tempfile, warnings
        import cdl
        from cdl import BatchCDL
        from cdl.simulate import simulate_data
        recordings = {f"s{i}": simulate_data(
            n_trials=2, n_channels=8, n_times=8000, n_atoms=2, n_times_atom=16,
            random_state=i)[0] for i in range(4)}
        estimator = BatchCDL(n_atoms=2, n_times_atom=16, n_iter=100000, eps=0.,
                             random_state=0,
                             solver_z_kwargs=dict(tol=1e-7, max_iter=100000))
        warnings.simplefilter("ignore")
        print("READY", flush=True)
        cdl.fit_group(recordings, estimator, tempfile.mkdtemp(), n_jobs=2)
        """,
    "fit dicod": """
        import warnings
        from cdl import BatchCDL
        from cdl.simulate import simulate_data
        X = simulate_data(n_trials=1, n_channels=8, n_times=60000, n_atoms=4,
                          n_times_atom=32, random_state=0)[0]
        def callback(X, D, z, pobj):
            print("READY", flush=True)
        warnings.simplefilter("ignore")
        BatchCDL(n_atoms=4, n_times_atom=32, n_iter=100000, eps=0.,
                 solver_z="dicod", n_workers=2, backend="spawn",
                 callback=callback, random_state=0,
                 solver_z_kwargs=dict(tol=1e-7)).fit(X)
        """,
}
RETURNED = 'print("RETURNED", time.time(), flush=True)\n'


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_once(body, wait_after_ready=1.):
    """Run ``body`` in a child, SIGINT it after READY; seconds until it returns."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "child.py"
        script.write_text("import time\n" + textwrap.dedent(body) + RETURNED)
        # The child gets the default SIGINT disposition even when this script
        # runs in the background of a shell (which starts it ignoring SIGINT).
        proc = subprocess.Popen([sys.executable, str(script)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=_default_sigint)
        try:
            line = proc.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError(f"child failed: {line} {proc.stderr.read()}")
            time.sleep(wait_after_ready)
            sent = time.time()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    returned = [x for x in out.splitlines() if x.startswith("RETURNED")]
    if not returned:
        raise RuntimeError(f"child did not return: {out} {err[-2000:]}")
    return float(returned[-1].split()[1]) - sent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-dicod", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for name, body in SCENARIOS.items():
        if args.skip_dicod and "dicod" in name:
            continue
        latencies = [interrupt_once(body) for _ in range(args.repeat)]
        rows.append([name, f"{np.median(latencies):.2f}",
                     f"{min(latencies):.2f}", f"{max(latencies):.2f}"])
    print_table(f"Ctrl-C: seconds until the call returns ({args.repeat} runs)",
                ["scenario", "median", "min", "max"], rows)


if __name__ == "__main__":
    main()
