"""Run alphacsc (and dicodile) on a problem given as .npz, for our benchmarks.

Runs in the *peer* virtualenv (``.venv-peers``: alphacsc 0.4.1, dicodile 0.3,
numpy < 2), as a subprocess of our benchmarks (see ``benchmarks/_peers.py``)::

    .venv-peers/bin/python benchmarks/peers/run_alphacsc.py TASK problem.npz result.npz

TASK is one of:

``update_z``
    alphacsc's multivariate z-step with the LGCD solver
    (``alphacsc.update_z_multi.update_z_multi(..., solver='lgcd')``).
    Problem: ``X`` (n_trials, n_channels, n_times), ``uv`` (n_atoms,
    n_channels + n_times_atom) or ``D`` (n_atoms, n_channels, n_times_atom),
    ``reg`` (absolute), ``tol``; optional ``max_iter``, ``n_repeat`` (3),
    ``positive`` (True), ``n_jobs`` (1).
    Note: alphacsc's LGCD stops when every ``|dz| <= tol * std(X[n])``
    (its tol is relative to the trial's standard deviation).
    Result: ``z``, ``time`` (best of n_repeat, s), ``cpu_time`` (the same for
    CPU seconds of this process), ``times`` (all runs),
    ``objective``, ``objective_z0`` (objective at z = 0), ``reg``,
    ``lambda_max``, ``nnz``.

``batch_cdl``
    ``alphacsc.BatchCDL(...).fit(X)``. Problem: ``X``, ``uv_init``,
    ``n_atoms``, ``n_times_atom``, ``reg`` (relative when lmbd_max != 'fixed'),
    ``n_iter``; optional ``lmbd_max`` ('scaled'), ``rank1`` (True),
    ``uv_constraint`` ('separate'), ``solver_z`` ('lgcd'), ``tol`` (1e-3, the
    z-solver tol), ``max_iter`` (z-solver), ``solver_d`` ('auto'), ``eps``
    (1e-10), ``n_jobs`` (1), ``random_state`` (0), ``warm_up`` (True),
    ``estimator`` ('BatchCDL', or 'OnlineCDL' with ``alpha``, ``batch_size``,
    ``batch_selection``, or 'GreedyCDL').
    Result: ``uv_hat``, ``z_hat``, ``pobj`` (alphacsc's list: first the value
    at init, then one after each z-step and one after each d-step, computed
    by alphacsc on X / std(X)), ``pobj_rescaled`` (= pobj * std(X)**2, in
    the units of ``objective``), ``times`` (alphacsc's per-step times),
    ``time`` (wall time of ``fit``), ``cpu_time`` (its CPU seconds),
    ``n_iter_run``, ``reg_used`` (absolute
    reg alphacsc used, ``BatchCDL.reg_``), ``reg_used_numpy`` (reg *
    lambda_max(X, uv_init) recomputed here), ``objective`` (final objective
    of (uv_hat, z_hat) with reg_used, recomputed here), ``std_X``.

``dicod``
    ``dicodile.update_z.dicod.dicod`` (distributed LGCD over MPI workers
    spawned with ``MPI.COMM_SELF.Spawn``). Problem: ``X`` (n_channels,
    n_times) or (1, n_channels, n_times), ``D`` (n_atoms, n_channels,
    n_times_atom) or ``uv`` (converted to full rank), ``reg`` (absolute),
    ``tol`` (ABSOLUTE in dicodile: stops when every ``|dz| <= tol``; multiply
    by ``X.std()`` to match alphacsc's LGCD), ``n_workers``; optional
    ``max_iter`` (1e8), ``timeout``, ``z_positive`` (True), ``soft_lock``
    ('border'), ``n_repeat`` (1).
    Result: ``z`` (1, n_atoms, n_times_valid), ``time`` (wall time of the
    whole ``dicod`` call: spawn, transfer, solve, gather), ``objective``,
    ``objective_z0``, ``reg``, ``nnz``, ``n_updates``, ``runtime`` (dicodile's
    own solve time).

Every result also holds ``task``, ``peer_versions`` (a string) and, for
z-steps, ``n_times_valid``. The objective is always the one of DESIGN.md,
``0.5 * ||X - X_hat||_F^2 + reg * sum |z|``, computed here in plain numpy from
the returned dictionary and activations, never taken from the peer library.

On failure the script prints a traceback to stderr and exits with status 1
(2 for a usage error); no result file is written.
"""

import os
import sys
import time
import traceback
import warnings

import numpy as np

TASKS = ("update_z", "batch_cdl", "dicod")


# ---------------------------------------------------------------------------
# Plain-numpy scoring, shared by all tasks (DESIGN.md conventions)
# ---------------------------------------------------------------------------

def uv_to_D(uv, n_channels):
    """Full-rank atoms (n_atoms, n_channels, n_times_atom) from rank-1 uv."""
    uv = np.asarray(uv, dtype=float)
    return uv[:, :n_channels, None] * uv[:, None, n_channels:]


def as_full_rank(D_or_uv, n_channels):
    D_or_uv = np.asarray(D_or_uv, dtype=float)
    if D_or_uv.ndim == 2:
        return uv_to_D(D_or_uv, n_channels)
    return D_or_uv


def reconstruct(z, D):
    """X_hat[n, c] = sum_k conv_full(z[n, k], D[k, c]); z 3-d, D full rank."""
    n_trials, n_atoms, n_times_valid = z.shape
    _, n_channels, n_times_atom = D.shape
    X_hat = np.zeros((n_trials, n_channels, n_times_valid + n_times_atom - 1))
    for n in range(n_trials):
        for k in range(n_atoms):
            zk = z[n, k]
            nz = np.flatnonzero(zk)
            if nz.size == 0:
                continue
            # restrict the convolution to the support of z[n, k]
            t0, t1 = nz[0], nz[-1] + 1
            for c in range(n_channels):
                X_hat[n, c, t0:t1 + n_times_atom - 1] += np.convolve(
                    zk[t0:t1], D[k, c])
    return X_hat


def objective(X, D_or_uv, z, reg):
    """0.5 * ||X - X_hat||_F^2 + reg * sum |z| (summed over trials)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 2:
        X = X[None]
    z = np.asarray(z, dtype=float)
    if z.ndim == 2:
        z = z[None]
    D = as_full_rank(D_or_uv, X.shape[1])
    R = X - reconstruct(z, D)
    reg = np.asarray(reg, dtype=float)
    if reg.size > 1:  # per-atom reg
        penalty = float(np.sum(reg.reshape(1, -1, 1) * np.abs(z)))
    else:
        penalty = float(reg) * float(np.abs(z).sum())
    return 0.5 * float(np.dot(R.ravel(), R.ravel())) + penalty


def correlation(X, D_or_uv):
    """(D_k corr X[n])(t) = sum_{c, tau} D[k, c, tau] X[n, c, t + tau]."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 2:
        X = X[None]
    D = as_full_rank(D_or_uv, X.shape[1])
    n_trials, n_channels, n_times = X.shape
    n_atoms, _, n_times_atom = D.shape
    out = np.zeros((n_trials, n_atoms, n_times - n_times_atom + 1))
    for n in range(n_trials):
        for k in range(n_atoms):
            for c in range(n_channels):
                out[n, k] += np.correlate(X[n, c], D[k, c], mode="valid")
    return out


def lambda_max(X, D_or_uv):
    """Smallest reg with z = 0: signed max for positive z (as alphacsc)."""
    return float(correlation(X, D_or_uv).max())


def project_uv(uv, n_channels, uv_constraint="separate"):
    """alphacsc's prox on the init: ||u_k||, ||v_k|| <= 1 (or joint)."""
    uv = np.array(uv, dtype=float)
    if uv_constraint == "separate":
        for sl in (slice(None, n_channels), slice(n_channels, None)):
            norm = np.linalg.norm(uv[:, sl], axis=1, keepdims=True)
            uv[:, sl] /= np.maximum(norm, 1.0)
    elif uv_constraint == "joint":
        norm = np.linalg.norm(uv, axis=1, keepdims=True)
        uv /= np.maximum(norm, 1.0)
    return uv


def _versions():
    parts = [f"python={sys.version.split()[0]}", f"numpy={np.__version__}"]
    for name in ("scipy", "numba", "alphacsc", "dicodile", "mpi4py"):
        mod = sys.modules.get(name)
        if mod is not None:
            parts.append(f"{name}={getattr(mod, '__version__', '?')}")
    return " ".join(parts)


def _X3(problem):
    X = np.ascontiguousarray(problem["X"], dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"X must be 2-d or 3-d, got shape {X.shape}")
    return X


def _dictionary(problem, *keys):
    for key in keys:
        if key in problem:
            return np.ascontiguousarray(problem[key], dtype=np.float64)
    raise KeyError(f"problem needs one of {keys}")


def _n_times_atom(D_or_uv, n_channels):
    return D_or_uv.shape[-1] if D_or_uv.ndim == 3 else \
        D_or_uv.shape[1] - n_channels


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------

def task_update_z(problem):
    from alphacsc.update_z_multi import update_z_multi

    X = _X3(problem)
    D = _dictionary(problem, "uv", "D")
    reg = float(problem["reg"])
    n_repeat = int(problem.get("n_repeat", 3))
    solver_kwargs = {"tol": float(problem.get("tol", 1e-3))}
    if "max_iter" in problem:
        solver_kwargs["max_iter"] = int(problem["max_iter"])
    kwargs = {"solver": "lgcd", "solver_kwargs": solver_kwargs,
              "positive": bool(problem.get("positive", True)),
              "n_jobs": int(problem.get("n_jobs", 1)), "random_state": 0}

    _n_trials, n_channels, n_times = X.shape
    n_times_atom = _n_times_atom(D, n_channels)

    # Warm-up: same dtypes and ndims on a short piece, so numba compiles now.
    n_warm = min(n_times, 10 * n_times_atom)
    update_z_multi(np.ascontiguousarray(X[:1, :, :n_warm]), D, reg, **kwargs)

    times, cpu_times = [], []
    z = None
    for _ in range(max(1, n_repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        z, _, _ = update_z_multi(X, D, reg, **kwargs)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)

    return {
        "z": z, "time": min(times), "times": np.array(times),
        "cpu_time": min(cpu_times),
        "objective": objective(X, D, z, reg),
        "objective_z0": 0.5 * float(np.dot(X.ravel(), X.ravel())),
        "reg": reg, "lambda_max": lambda_max(X, D),
        "nnz": int(np.count_nonzero(z)), "n_times_valid": z.shape[-1],
        "tol": solver_kwargs["tol"], "n_repeat": n_repeat,
    }


def task_batch_cdl(problem):
    import alphacsc

    estimator = str(problem.get("estimator", "BatchCDL"))
    if estimator not in ("BatchCDL", "OnlineCDL", "GreedyCDL"):
        raise ValueError(f"unknown estimator {estimator!r}")
    extra = {}
    if estimator == "OnlineCDL":
        extra = dict(alpha=float(problem.get("alpha", 0.8)),
                     batch_size=int(problem.get("batch_size", 1)),
                     batch_selection=str(problem.get("batch_selection",
                                                     "random")))

    X = _X3(problem)
    uv_init = _dictionary(problem, "uv_init", "D_init")
    _n_trials, n_channels, n_times = X.shape
    n_atoms = int(problem.get("n_atoms", uv_init.shape[0]))
    n_times_atom = int(problem.get("n_times_atom",
                                   _n_times_atom(uv_init, n_channels)))
    reg = float(problem["reg"])
    lmbd_max = str(problem.get("lmbd_max", "scaled"))
    rank1 = bool(problem.get("rank1", True))
    uv_constraint = str(problem.get("uv_constraint",
                                    "separate" if rank1 else "auto"))
    solver_z_kwargs = {"tol": float(problem.get("tol", 1e-3))}
    if "max_iter" in problem:
        solver_z_kwargs["max_iter"] = int(problem["max_iter"])

    def make(n_iter):
        return getattr(alphacsc, estimator)(
            n_atoms, n_times_atom, reg=reg, n_iter=n_iter,
            n_jobs=int(problem.get("n_jobs", 1)),
            solver_z=str(problem.get("solver_z", "lgcd")),
            solver_z_kwargs=dict(solver_z_kwargs),
            solver_d=str(problem.get("solver_d", "auto")),
            rank1=rank1, uv_constraint=uv_constraint, lmbd_max=lmbd_max,
            eps=float(problem.get("eps", 1e-10)), D_init=uv_init.copy(),
            verbose=0, random_state=int(problem.get("random_state", 0)),
            **extra)

    if bool(problem.get("warm_up", True)):
        # Warm-up fit on a short piece of the same data: compiles alphacsc's
        # numba kernels (z-step and d-step) outside the timed fit.
        n_warm = min(n_times, max(20 * n_times_atom, 1000))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make(2).fit(np.ascontiguousarray(X[:1, :, :n_warm]))
        except Exception as exc:  # noqa: BLE001 (the timed fit will show it)
            print(f"[run_alphacsc] warm-up fit failed ({exc!r}); "
                  "timing includes compilation", file=sys.stderr)

    cdl = make(int(problem["n_iter"]))
    t0, c0 = time.perf_counter(), time.process_time()
    cdl.fit(X)
    total = time.perf_counter() - t0
    cpu_total = time.process_time() - c0

    uv_hat = np.asarray(cdl.uv_hat_)
    z_hat = np.asarray(cdl.z_hat_)
    reg_used = np.asarray(cdl.reg_, dtype=float)
    pobj = np.asarray(cdl.pobj_, dtype=float)
    std_X = float(X.std())
    if lmbd_max == "fixed":
        reg_used_numpy = reg
    else:
        reg_used_numpy = reg * lambda_max(
            X, project_uv(uv_init, n_channels, uv_constraint)
            if uv_init.ndim == 2 else uv_init)
    return {
        "uv_hat": uv_hat, "z_hat": z_hat, "pobj": pobj,
        "pobj_rescaled": pobj * std_X ** 2,
        "times": np.asarray(cdl.times_, dtype=float), "time": total,
        "cpu_time": cpu_total,
        "n_iter_run": (len(pobj) - 1) // 2,
        "reg_used": float(reg_used) if reg_used.size == 1 else reg_used,
        "reg_used_numpy": reg_used_numpy, "reg": reg, "lmbd_max": lmbd_max,
        "objective": objective(X, uv_hat, z_hat, reg_used),
        "std_X": std_X, "nnz": int(np.count_nonzero(z_hat)),
    }


def task_dicod(problem):
    from dicodile.update_z.dicod import dicod

    X = _X3(problem)
    if X.shape[0] != 1:
        raise ValueError("dicod encodes one signal: X must have 1 trial")
    X_i = np.ascontiguousarray(X[0])
    n_channels = X_i.shape[0]
    D = as_full_rank(_dictionary(problem, "D", "uv"), n_channels)
    D = np.ascontiguousarray(D)
    reg = float(problem["reg"])
    n_workers = int(problem.get("n_workers", 2))
    n_repeat = int(problem.get("n_repeat", 1))
    kwargs = {
        "tol": float(problem.get("tol", 1e-3)),
        "max_iter": int(problem.get("max_iter", 10 ** 8)),
        "timeout": problem.get("timeout"),
        "z_positive": bool(problem.get("z_positive", True)),
        "soft_lock": str(problem.get("soft_lock", "border")),
        "strategy": str(problem.get("strategy", "greedy")),
        "random_state": 0, "verbose": 0,
    }

    # Warm-up in this process (imports, numba); the workers are new
    # processes at every call, so their start-up is part of the timing.
    n_warm = min(X_i.shape[1], 10 * D.shape[-1])
    dicod(np.ascontiguousarray(X_i[:, :n_warm]), D, reg, n_workers=1,
          **kwargs)

    times, z, stats = [], None, {}
    for _ in range(max(1, n_repeat)):
        t0 = time.perf_counter()
        z, _, _, _, stats = dicod(X_i, D, reg, n_workers=n_workers, **kwargs)
        times.append(time.perf_counter() - t0)
    z = np.asarray(z)[None]

    return {
        "z": z, "time": min(times), "times": np.array(times),
        "objective": objective(X, D, z, reg),
        "objective_z0": 0.5 * float(np.dot(X.ravel(), X.ravel())),
        "reg": reg, "tol": kwargs["tol"], "n_workers": n_workers,
        "nnz": int(np.count_nonzero(z)), "n_times_valid": z.shape[-1],
        "n_updates": int(stats.get("n_updates", -1)),
        "runtime": float(stats.get("runtime", np.nan)),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3 or argv[0] not in TASKS:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        print(f"usage: python run_alphacsc.py {{{'|'.join(TASKS)}}} "
              "problem.npz result.npz", file=sys.stderr)
        return 2
    task, problem_path, result_path = argv
    # dicodile spawns MPI workers: MPICH's singleton spawn needs `mpiexec`
    # on PATH, which lives next to this venv's python.
    bin_dir = os.path.dirname(os.path.abspath(sys.executable))
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from problem_io import load_problem, save_result

    try:
        problem = load_problem(problem_path)
        result = globals()[f"task_{task}"](problem)
        result.update(task=task, peer_versions=_versions())
        save_result(result_path, **result)
    except Exception:  # noqa: BLE001 (reported through the exit status)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
