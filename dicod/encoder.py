"""DistributedEncoder: the encoder of :func:`cdl.learn.learn_dictionary` over DICOD.

It implements :class:`cdl.learn.Encoder`, so the one learning loop of ``cdl``
runs unchanged with it (DiCoDiLe). The workers
keep their piece of the signal and of the activations for the whole learning;
at each iteration they solve the z-step together and send the root the
sufficient statistics ``ztz`` and ``ztX`` of their piece, never ``z``.
"""
import sys
import time
from contextlib import ExitStack

import numpy as np

from cdl.learn import Encoder
from cdl.utils.validation import check_int

from ._comm import WorkerError
from ._problem import Problem, gather_z, setup_workers
from ._signal import box_slice
from .coding import solve_kwargs, summarize
from .pool import default_n_workers, workers_for_call


class DistributedEncoder(Encoder):
    """The z-step of dictionary learning, distributed over DICOD workers.

    Parameters
    ----------
    X : ndarray
        Signals (n_trials, n_channels, n_times), or images (n_trials,
        n_channels, height, width) for 2-D atoms.
    n_atoms : int
        Number of atoms (rows of activations) at the start.
    n_times_atom : int | tuple of int
        Atom length, or atom shape ``(h, w)`` for images.
    n_workers : int | None
        Number of workers (None: the pool's, or 2 without a pool).
    solver_kwargs : dict | None
        ``tol`` (relative to each trial's standard deviation, default 1e-3),
        ``max_iter`` (default 100000), ``strategy``, ``soft_lock``,
        ``timeout`` (see :func:`dicod.dicod`).
    positive : bool
        Non-negative activations.
    backend : 'auto' | 'spawn' | 'mpirun' | 'local'
        How the workers start (see :data:`dicod.BACKENDS`).
    hostfile : path-like | None
        Hosts of spawned workers (MPI hostfile); None: this machine.
    worker_timeout : float
        Seconds a worker may stay silent before it is declared dead
        (:class:`dicod.WorkerError`).
    pool : dicod.WorkerPool | None
        Running workers to use instead of starting new ones (``backend``,
        ``hostfile`` and ``worker_timeout`` are then the pool's).
    random_state : int | None
        Seed of the workers' random coordinate choices (``strategy='random'``).

    Notes
    -----
    Use it as a context manager (as :func:`cdl.learn.learn_dictionary`'s
    callers do): the workers start (or are taken from the pool) on entering
    and end (or go back to the pool) on leaving.
    """

    def __init__(self, X, n_atoms, n_times_atom, n_workers=None, solver_kwargs=None,
                 positive=True, backend="auto", hostfile=None, worker_timeout=60.,
                 pool=None, random_state=None):
        self.atom_shape = tuple(np.atleast_1d(n_times_atom).tolist())
        self.X = X
        self.n_channels = X.shape[1]
        self.n_times_atom = n_times_atom
        n_workers = default_n_workers(n_workers, pool)
        self.n_workers = check_int("n_workers", n_workers, min_value=1)
        kwargs = dict(solver_kwargs or {})
        self.timeout = kwargs.pop("timeout", None)
        unknown = set(kwargs) - {"tol", "max_iter", "strategy", "soft_lock"}
        if unknown:
            raise ValueError(f"Unknown solver_kwargs {sorted(unknown)} for the "
                             f"'dicod' z-step; allowed are 'tol', 'max_iter', "
                             f"'strategy', 'soft_lock' and 'timeout'.")
        self._solve = solve_kwargs(kwargs.get("tol", 1e-3),
                                   kwargs.get("max_iter", 100000),
                                   kwargs.get("strategy", "greedy"),
                                   kwargs.get("soft_lock", "border"), random_state)
        self.positive = positive
        self.backend = backend
        self.hostfile = hostfile
        self.worker_timeout = worker_timeout
        self.pool = pool
        self._workers = ExitStack()
        self._n_atoms = check_int("n_atoms", n_atoms, min_value=1)
        self.XtX = float(np.sum(np.asarray(X, dtype=np.float64) ** 2))
        self.D = None
        self.reg = None
        self.cluster = None
        self._closed = False
        # Answers the workers gave with the last change (see _known), and the
        # reg not sent yet (it travels with the next command that needs it).
        self._known = {}
        self._kept_known = {}  # what held for the activations of keep_z
        self._reg_sent = True

    # -- life cycle -------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close(*exc)
        return False

    def start(self):
        """Start the workers and send them their piece of ``X``."""
        if self.cluster is not None:
            return
        if self._closed:
            raise WorkerError("This DistributedEncoder is closed (its workers "
                              "ended or went back to their pool); create a new "
                              "one.")
        # A null dictionary of the right shape: only the geometry is needed.
        self.problem = Problem(self.X, np.zeros((self._n_atoms, self.n_channels)
                                                + self.atom_shape))
        self.seg = self.problem.segmentation(self.n_workers)
        self.cluster = self._workers.enter_context(workers_for_call(
            self.seg.n_workers, self.pool, self.backend, self.hostfile,
            self.worker_timeout))
        try:
            setup_workers(self.cluster, self.problem, self.seg, None, None,
                          self.positive)
        except BaseException:
            self.close(*sys.exc_info())
            raise

    def close(self, *exc):
        """End the workers (spawned ones exit, a pool's go back to it).

        Parameters
        ----------
        *exc : type, BaseException, traceback
            An exception being handled, as given to ``__exit__``: the workers
            are then killed. None or nothing: they end normally.
        """
        self._workers.__exit__(*(exc or (None, None, None)))
        self._known = {}
        if self.cluster is not None:
            self.cluster, self._closed = None, True

    def _command(self, name, **kwargs):
        self.start()
        return self.cluster.command(name, **kwargs)

    # -- the encoder protocol ------------------------------------------------------
    @property
    def n_atoms(self):
        return self._n_atoms

    def set_D(self, D):
        """Set the dictionary used by the next z-step.

        One round trip: with it come the cost and lambda_max when
        :meth:`track` asked for them.

        Parameters
        ----------
        D : ndarray
            ``uv`` of shape (n_atoms, n_channels + n_times_atom), or full-rank
            atoms of shape ``(n_atoms, n_channels) + atom_shape``.
        """
        self.D = np.ascontiguousarray(D, dtype=float)
        report = [name for name in ("cost", "lambda_max") if self.tracked[name]]
        if "cost" in report:
            self._send_reg()
        replies = self._command("set_D", D=self.D, report=report)
        # The statistics, the l1 and the usage depend on z and reg only: they
        # stay.
        known = {k: v for k, v in self._known.items()
                 if k in ("stats", "stats_trials", "l1", "usage")}
        known.update(self._combine(replies, report))
        if "cost" in known:
            known["total_cost"] = known.pop("cost")
        self._known = known

    def set_reg(self, reg):
        """Set the regularisation of the next z-step.

        Nothing is sent now: the workers receive it with the next z-step (or
        the next command that needs it).

        Parameters
        ----------
        reg : ndarray of shape (n_atoms,)
            Absolute regularisation of each atom.
        """
        reg = np.asarray(reg, dtype=float)
        if self.reg is None or not np.array_equal(reg, self.reg):
            self.reg, self._reg_sent = reg, False
            self._known.pop("total_cost", None)
            self._known.pop("l1", None)

    def _send_reg(self):
        if not self._reg_sent:
            self._command("set_reg", reg=self.reg)
            self._reg_sent = True

    def set_z(self, z):
        """Replace the activations (used to resume from a checkpoint).

        Parameters
        ----------
        z : ndarray of shape (n_trials, n_atoms, n_times_valid)
            Activations (for images, of shape (n_trials, n_atoms,
            height_valid, width_valid)).
        """
        z = np.asarray(z, dtype=float)
        z4 = z[:, :, None, :] if len(self.atom_shape) == 1 else z
        self.start()
        expected = (self.problem.n_trials, z.shape[1]) + self.problem.valid_shape2
        if z4.shape != expected:
            raise ValueError(f"z must have shape {expected[:2]} + valid shape, got "
                             f"{z.shape}.")
        # Contiguous pieces travel as raw MPI buffers, not in a pickle.
        per_worker = [dict(z=np.ascontiguousarray(z4[box_slice(self.seg.window(i))]))
                      for i in range(self.seg.n_workers)]
        self.cluster.command("set_z", per_worker=per_worker)
        self._n_atoms = z.shape[1]
        self._known = {}

    def add_atom(self):
        """Append a row of zero activations for a new atom (greedy learning)."""
        self._command("add_atom")
        self._n_atoms += 1
        self._known = {}

    def lambda_max(self, per_atom=False):
        """The lambda_max of the signal for the current dictionary.

        Parameters
        ----------
        per_atom : bool
            One value per atom instead of their maximum.

        Returns
        -------
        lambda_max : float | ndarray of shape (n_atoms,)
            The largest correlation of each atom with the signal.
        """
        if "lambda_max" in self._known:
            values = self._known["lambda_max"]
        else:
            values = np.max(self._command("lambda_max"), axis=0)
        return values if per_atom else float(values.max())

    def compute_z(self, trials=None):
        """Run the distributed z-step, warm-started from the current activations.

        One round trip: the workers receive the regularisation with the solve
        and reply, after it, with the cost, the l1 and the sufficient
        statistics of the encoded trials (and the cost of all trials when
        tracked).

        Parameters
        ----------
        trials : array-like of int | None
            Trials to encode (all if None).

        Returns
        -------
        info : dict
            ``objective`` (of the encoded trials), ``l1`` (of all trials),
            ``n_updates``... (see :func:`dicod.dicod`).
        """
        self.start()
        trials = None if trials is None else [int(n) for n in trials]
        report = ["cost", "l1", "stats"]
        if self.tracked["cost"] and trials is not None:
            report.append("total_cost")
        if self.tracked["usage"] and self._usage_on_workers():
            report.append("usage")
        t_start = time.perf_counter()
        results, reason = self.cluster.solve(
            timeout=self.timeout, trials=trials, report=report,
            reg=None if self._reg_sent else self.reg, **self._solve)
        self._reg_sent = True
        wall = time.perf_counter() - t_start
        known = self._combine(results, report)
        known["stats_trials"] = trials
        if trials is None:
            known["total_cost"] = known["cost"]
        info = summarize(results, reason, known.pop("cost"), wall,
                         warn_early_stop=False)
        info["l1"] = known["l1"]
        self._known = known
        return info

    @staticmethod
    def _combine(replies, names):
        """Sum the workers' answers (the maximum of their lambda_max)."""
        known = {}
        for name in names:
            values = [reply[name] for reply in replies]
            if name == "lambda_max":
                known[name] = np.max(values, axis=0)
            elif name in ("stats", "usage"):
                known[name] = tuple(sum(parts) for parts in zip(*values))
            else:
                known[name] = float(sum(values))
        return known

    def get_sufficient_statistics(self, trials=None):
        """``ztz`` and ``ztX`` summed over the given trials and all workers.

        Parameters
        ----------
        trials : array-like of int | None
            Trials whose statistics are summed (all if None).

        Returns
        -------
        ztz : ndarray of shape (n_atoms, n_atoms, 2 * n_times_atom - 1)
            Correlations of the activations of each pair of atoms.
        ztX : ndarray of shape (n_atoms, n_channels, n_times_atom)
            Correlations of the activations with the signal.
        """
        trials = None if trials is None else [int(n) for n in trials]
        if "stats" in self._known and self._known["stats_trials"] == trials:
            ztz, ztX = self._known["stats"]
        else:
            stats = self._command("get_stats", trials=trials)
            ztz = sum(s[0] for s in stats)
            ztX = sum(s[1] for s in stats)
        if len(self.atom_shape) == 1:
            return ztz[:, :, 0, :], ztX[:, :, 0, :]
        return ztz, ztX

    def get_l1(self, trials=None):
        """Sum of ``reg_k * |z_k|`` over the given trials.

        Parameters
        ----------
        trials : array-like of int | None
            Trials to sum over (all if None).

        Returns
        -------
        l1 : float
            The l1 penalty of their activations.
        """
        if trials is None and "l1" in self._known:
            return self._known["l1"]
        self._send_reg()
        return float(sum(self._command(
            "get_l1", trials=None if trials is None else list(trials))))

    def get_cost(self):
        """Objective of the current dictionary and activations.

        Returns
        -------
        cost : float
            ``0.5 ||X - X_hat||^2 + sum_k reg_k ||z_k||_1`` over all trials.
        """
        if "total_cost" in self._known:
            return self._known["total_cost"]
        self._send_reg()
        return float(sum(self._command("get_cost")))

    def get_z_hat(self):
        """The activations, gathered from the workers.

        Returns
        -------
        z_hat : ndarray of shape (n_trials, n_atoms, n_times_valid)
            A copy (for images, of shape (n_trials, n_atoms, height_valid,
            width_valid)).
        """
        self.start()
        z4 = gather_z(self.cluster, (self.problem.n_trials, self._n_atoms)
                      + self.problem.valid_shape2)
        return z4[:, :, 0, :] if len(self.atom_shape) == 1 else z4

    def residual_window(self, n_times_atom):
        """Window of the residual with the largest energy (1-D signals).

        Parameters
        ----------
        n_times_atom : int
            Length of the window.

        Returns
        -------
        window : ndarray of shape (n_channels, n_times_atom)
            The residual ``X - X_hat`` on that window, where greedy learning
            adds its next atom.
        """
        if len(self.atom_shape) != 1:
            raise ValueError("residual_window is defined for 1-D signals only.")
        found = self._command("residual_window", n_times_atom=n_times_atom)
        return max(found, key=lambda f: f[0])[1]

    # -- atom revival (1-D signals) ------------------------------------------------
    def _usage_on_workers(self):
        """Whether the workers count occurrences exactly on their own boxes: a
        maximum on a border needs the neighbour's sample, which a worker's
        window holds for atoms of at least 2 samples."""
        return len(self.atom_shape) == 1 and self.atom_shape[0] >= 2

    def _check_1d(self, what):
        if len(self.atom_shape) != 1:
            raise TypeError(f"{what} is defined for 1-D signals only (atom "
                            f"revival does not take images).")

    def atom_usage(self):
        """Occurrences and sum of the absolute activations of each atom.

        Sent with the last z-step when :meth:`track` asked for ``usage``
        (no round trip), else one round trip; each worker counts on its own
        box (see :meth:`dicod.worker.Worker.cmd_get_usage`).

        Returns
        -------
        counts : ndarray of int64, shape (n_atoms,)
            Positive local maxima of the activations, summed over trials.
        sums : ndarray of float64, shape (n_atoms,)
            Sum of the absolute activations.
        """
        self._check_1d("atom_usage")
        if not self._usage_on_workers():
            return super().atom_usage()  # one-sample atoms: gather z
        counts, sums, _ = self._worker_usage()
        return np.asarray(counts, dtype=np.int64), np.asarray(sums, dtype=float)

    def atom_clusters(self):
        """How each atom's activations gather (see
        :meth:`cdl.learn.Encoder.atom_clusters`): each worker counts the
        clusters that begin in its own box, with the occurrences
        (:meth:`atom_usage`); the sums are those of the whole signal.

        Returns
        -------
        counts : ndarray of int64, shape (3, n_atoms)
        """
        self._check_1d("atom_clusters")
        if not self._usage_on_workers():
            return super().atom_clusters()
        return np.asarray(self._worker_usage()[2], dtype=np.int64)

    def _worker_usage(self):
        """The workers' usage (sent with the last z-step, else asked now)."""
        if "usage" not in self._known:
            self._known["usage"] = self._combine(
                [dict(usage=reply) for reply in self._command("get_usage")],
                ["usage"])["usage"]
        return self._known["usage"]

    def atom_activations(self, atoms):
        """Non-zero activations of some atoms, per trial (see
        :meth:`cdl.learn.Encoder.atom_activations`): the workers send their
        non-zero activations (one round trip, nothing dense).

        Parameters
        ----------
        atoms : list of int

        Returns
        -------
        activations : dict
            ``atom: [(times, values), ...]``, one pair per trial.
        """
        self._check_1d("atom_activations")
        replies = self._command("get_z")
        idx = np.concatenate([r[0] for r in replies], axis=1)
        values = np.concatenate([r[1] for r in replies])
        out = {}
        for k in atoms:
            mine = idx[1] == k
            trial, times, vals = idx[0, mine], idx[3, mine], values[mine]
            order = np.lexsort((times, trial))
            trial, times, vals = trial[order], times[order], vals[order]
            bounds = np.searchsorted(trial, np.arange(self.problem.n_trials + 1))
            out[int(k)] = [(times[a:b].astype(np.int64),
                            vals[a:b].astype(np.float64))
                           for a, b in zip(bounds[:-1], bounds[1:])]
        return out

    def reset_atom(self, atom):
        """Set the activations of one atom to zero (one round trip).

        Parameters
        ----------
        atom : int
        """
        self._check_1d("reset_atom")
        self._command("reset_atom", atom=int(atom))
        self._known = {}

    def shift_activations(self, atom, shift):
        """Move the activations of one atom (its waveform moved by ``shift``):
        the activations are gathered, moved and sent back (two round trips).

        Parameters
        ----------
        atom : int
        shift : int
        """
        self._check_1d("shift_activations")
        super().shift_activations(atom, shift)  # set_z forgets what is known

    def keep_z(self):
        """Each worker remembers a copy of its activations (one round trip,
        nothing gathered)."""
        self._command("keep_z")
        # What depends on the activations alone holds again once they are back.
        self._kept_known = {k: v for k, v in self._known.items()
                            if k in ("stats", "stats_trials", "usage")}

    def restore_z(self):
        """Each worker puts back the activations it remembered."""
        self._command("restore_z")
        self._known, self._kept_known = self._kept_known, {}

    def forget_z(self):
        """Each worker forgets the activations it remembered."""
        self._command("forget_z")
        self._kept_known = {}
