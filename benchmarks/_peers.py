"""Run peer libraries (alphacsc 0.4.1, dicodile 0.3) from our benchmarks.

The peers need numpy < 2, so they live in their own virtualenv, ``.venv-peers``
at the repository root, created with::

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install -r benchmarks/peers/requirements.txt

:func:`run_peer` writes the problem to a temporary ``.npz``, runs
``benchmarks/peers/run_alphacsc.py TASK problem.npz result.npz`` with that
venv's python and reads the result back (``allow_pickle=False`` both ways).
Tasks and the keys of problems and results are documented in
``benchmarks/peers/run_alphacsc.py``. This module needs numpy only.
"""

import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger("cdl.benchmarks.peers")

BENCH_DIR = Path(__file__).resolve().parent
PEERS_DIR = BENCH_DIR / "peers"
RUNNER = PEERS_DIR / "run_alphacsc.py"
PEER_VENV = BENCH_DIR.parent / ".venv-peers"
TASKS = ("update_z", "batch_cdl", "dicod")


def _load_problem_io():
    # benchmarks/ is not a package: load the shared helper by path.
    spec = importlib.util.spec_from_file_location(
        "_cdl_bench_problem_io", PEERS_DIR / "problem_io.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


problem_io = _load_problem_io()
save_problem = problem_io.save_problem
load_result = problem_io.load_result


def peer_python(venv=None):
    """Path of the peer venv's python, or None when it is not there."""
    venv = Path(venv) if venv is not None else PEER_VENV
    for name in ("python", "python3"):
        exe = venv / "bin" / name
        if exe.exists():
            return exe
    return None


def peer_available(venv=None):
    """(True, '') if the peer venv can run the runner, else (False, reason)."""
    exe = peer_python(venv)
    if exe is None:
        return False, (
            f"peer venv not found at {venv or PEER_VENV}; create it with "
            f"`python3 -m venv {PEER_VENV} && {PEER_VENV}/bin/pip install "
            f"-r {PEERS_DIR / 'requirements.txt'}`")
    return True, ""


def run_peer(task, problem, timeout=600, venv=None, keep_dir=None):
    """Run a peer ``task`` on ``problem`` in the peer venv; return its result.

    Parameters
    ----------
    task : {'update_z', 'batch_cdl', 'dicod'}
        See ``benchmarks/peers/run_alphacsc.py`` for each task's keys.
    problem : dict
        Arrays and scalars (str, int, float, bool); ``None`` values are
        dropped (the runner's default applies).
    timeout : float
        Seconds before the subprocess is killed.
    venv : path-like | None
        Peer virtualenv; default ``<repo>/.venv-peers``.
    keep_dir : path-like | None
        If given, problem and result files are written there and kept
        (for debugging); otherwise a temporary directory is used.

    Returns
    -------
    result : dict | None
        The runner's result (arrays, Python scalars, str), plus
        ``wall_time_subprocess``. None, with the reason logged as a warning,
        when the venv is absent or the run failed or timed out.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    ok, reason = peer_available(venv)
    if not ok:
        logger.warning("run_peer(%r) skipped: %s", task, reason)
        return None
    exe = peer_python(venv)

    with tempfile.TemporaryDirectory(prefix="cdl-peer-") as tmp:
        work = Path(keep_dir) if keep_dir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        problem_path = work / f"{task}_problem.npz"
        result_path = work / f"{task}_result.npz"
        if result_path.exists():
            result_path.unlink()
        save_problem(problem_path, **problem)

        env = dict(os.environ)
        # mpiexec (dicodile's worker spawn) is in the peer venv's bin.
        env["PATH"] = str(exe.parent) + os.pathsep + env.get("PATH", "")
        env.pop("PYTHONPATH", None)  # never leak our venv's packages
        env.pop("VIRTUAL_ENV", None)
        cmd = [str(exe), str(RUNNER), task, str(problem_path),
               str(result_path)]
        logger.info("running peer: %s", " ".join(cmd))
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True,
                                  text=True,
                                  timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            logger.warning("run_peer(%r) timed out after %ss", task, timeout)
            return None
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not result_path.exists():
            logger.warning("run_peer(%r) failed (exit %s):\n%s", task,
                           proc.returncode, proc.stderr[-4000:])
            return None
        if proc.stderr.strip():
            logger.debug("peer stderr:\n%s", proc.stderr[-4000:])
        result = load_result(result_path)
    result["wall_time_subprocess"] = wall
    return result


def main(argv=None):
    """``python benchmarks/_peers.py``: say whether the peer venv works."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ok, reason = peer_available()
    if not ok:
        print(reason)
        return 1
    proc = subprocess.run(
        [str(peer_python()), "-c",
         ("import numpy, alphacsc; print('numpy', numpy.__version__, "
         "'alphacsc', alphacsc.__version__)")],
        check=False, capture_output=True, text=True)
    print(proc.stdout.strip() or proc.stderr.strip())
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
