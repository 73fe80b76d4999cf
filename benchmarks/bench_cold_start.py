"""Cold start: the first ``cdl demo`` in a fresh clone against the second.

Numba keeps its compiled kernels next to the sources (``__pycache__``), so a
fresh clone compiles every kernel a fit uses during its first fit. This
benchmark clones the repository (the committed ``--rev``, default HEAD) into a
temporary folder, installs it in a new virtualenv there (``pip install -e .``,
as ``make install`` does: no warm-up step), then runs ``cdl demo`` twice and
prints, for each run, the whole command's wall and CPU time, the fit time the
demo reports and the compile time it reports ("compiling kernels ... done in
X s"; '-' for revisions that do not report it). With ``--warm-up`` it also
times the optional warm-up step of ``make demo`` (``make warmup``: a 10 s
demo) in a second, separate clone, and the first demo after it.

Run: ``.venv/bin/python benchmarks/bench_cold_start.py [--rev REV] [--warm-up]
[--keep]``. Takes a few minutes (most of it the install).
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, print_table  # noqa: E402

FIT = re.compile(r"Fitted in ([0-9.]+) s")
COMPILE = re.compile(r"compiled kernels in ([0-9.]+) s")


def _run(cmd, cwd, env, log):
    """Run ``cmd``; return (wall seconds, CPU seconds of its processes, output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log.write(f"$ {' '.join(map(str, cmd))}\n{proc.stdout}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return wall, cpu, proc.stdout


def _clone_and_install(rev, folder, env, log):
    clone = folder / "cdl-meeg"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO),
                    str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", rev],
                   check=True)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wall, _, _ = _run([str(venv / "bin" / "python"), "-m", "pip", "install",
                       "--quiet", "-e", "."], clone, env, log)
    return clone, venv, wall


def _demo(clone, venv, env, log, label, rows):
    out = clone / "cdl_output" / "demo"
    wall, cpu, text = _run([str(venv / "bin" / "cdl"), "demo", "--out", str(out)],
                           clone, env, log)
    fit = FIT.search(text)
    compiled = COMPILE.search(text)
    rows.append([label, f"{wall:.1f}", f"{cpu:.1f}",
                 fit.group(1) if fit else "-",
                 compiled.group(1) if compiled else "-"])
    return wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="revision to clone")
    parser.add_argument("--warm-up", action="store_true",
                        help="also time `make warmup` and the demo after it")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (its path is printed)")
    args = parser.parse_args(argv)
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short",
                          args.rev], check=True, capture_output=True,
                         text=True).stdout.strip()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUMBA_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["MPLBACKEND"] = "Agg"
    tmp = Path(tempfile.mkdtemp(prefix="cdl-cold-start-"))
    rows = []
    try:
        with open(tmp / "log.txt", "w") as log:
            clone, venv, install = _clone_and_install(rev, tmp / "a", env, log)
            first = _demo(clone, venv, env, log, "cdl demo, 1st (cold)", rows)
            second = _demo(clone, venv, env, log, "cdl demo, 2nd (cached)", rows)
            if args.warm_up:
                clone, venv, _ = _clone_and_install(rev, tmp / "b", env, log)
                (venv / ".installed").touch()  # installed as make does
                wall, cpu, text = _run(["make", "warmup", f"VENV={venv}"], clone,
                                       env, log)
                compiled = COMPILE.search(text)
                rows.append(["make warmup (2nd clone)", f"{wall:.1f}", f"{cpu:.1f}",
                             "-", compiled.group(1) if compiled else "-"])
                _demo(clone, venv, env, log, "cdl demo after make warmup", rows)
        print_table(f"Cold start of `cdl demo` in a fresh clone of {rev} "
                    f"(install {install:.0f} s; load {os.getloadavg()[0]:.1f})",
                    ["run", "wall (s)", "cpu (s)", "fit (s, reported)",
                     "compile (s, reported)"], rows)
        print(f"\nfirst - second: {first - second:+.1f} s "
              f"(first / second: {first / second:.2f}x)")
    finally:
        if args.keep:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
