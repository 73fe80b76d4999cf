"""One DICOD worker: LGCD on its piece of the activations, over a Comm.

The worker answers the root's commands (``setup``, ``set_D``, ``solve``,
``get_z``, ``get_stats``...). It never sees MPI: it talks through the
:class:`dicod._comm.Comm` it is given. The ``solve`` command runs
:class:`dicod._solve.Solve`. A worker holds, for each trial, the activations
of its *window* and ``g = (beta - reg) / ||D_k||^2`` on its *extended* box (see
:mod:`dicod.segmentation`), in arrays with two spatial axes.
"""
import os
import signal
import socket
import threading
import time
import traceback

import numpy as np

from cdl._kernels.conv2d import (
    accumulate_ztX_box,
    accumulate_ztz_box,
    nonzeros_box,
    subtract_model,
    weighted_l1_box,
)
from cdl.learn.revival_rules import dense_cluster_counts
from cdl.model.occurrences import local_maxima

from ._comm import ROOT, TAG_ABORT, TAG_ALIVE, TAG_CMD, TAG_ERROR, TAG_REPLY, TAG_UPDATE
from ._signal import Atoms, box_slice, grow
from ._solve import Abort, Solve
from .segmentation import Segmentation, relative

BLOCK_SIZE = 2 ** 20  # activations per block of columns (8 MB)
# Between commands, after IDLE_AFTER s without one, a worker polls for the next
# at most every IDLE_PAUSE s: an idle pool's workers then take little CPU.
IDLE_AFTER, IDLE_PAUSE = 1., 0.02


class Worker:
    """Serve the root's commands on one piece of the problem.

    Parameters
    ----------
    comm : Comm
        This worker's end of the communication (``comm.rank`` is its number).
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.rank
        self.fault = None
        self.pending = []  # neighbours' updates that arrived before a solve
        self.pulse = Pulse(comm)

    # -- main loop -------------------------------------------------------------
    def serve(self):
        """Answer commands until told to leave.

        Returns
        -------
        reason : 'shutdown' | 'abort'
            A shutdown command, or an abort (the root's request after a
            failure, or the root's death).
        """
        while True:
            try:
                source, tag, payload = self._next_command()
            except Abort:
                self.pulse.stop()
                return "abort"
            if tag == TAG_UPDATE:
                # A neighbour started the solve first: keep it for the solve.
                self.pending.append((source, tag, payload))
                continue
            if tag != TAG_CMD:
                continue
            name, kwargs = payload
            if name == "shutdown":
                self.pulse.stop()
                self.comm.send(ROOT, TAG_REPLY, (name, None))
                self.comm.flush(timeout=10.)
                return "shutdown"
            try:
                if name == "setup":
                    self.fault = kwargs.get("fault")
                self._inject_fault(name)
                if name == "solve":  # sends its own statuses
                    result = self.cmd_solve(**kwargs)
                else:
                    with self.pulse:
                        result = getattr(self, "cmd_" + name)(**kwargs)
                self.comm.send(ROOT, TAG_REPLY, (name, result))
            except Abort:
                self.pulse.stop()
                return "abort"
            except Exception:  # noqa: BLE001 (reported to the root, which decides)
                self.comm.send(ROOT, TAG_ERROR, f"{self.comm.describe(self.rank)} "
                               f"failed in {name!r}:\n{traceback.format_exc()}")

    def _next_command(self):
        """Next message between commands, polled less often when idle."""
        msg = self._next_message(IDLE_AFTER)
        if msg is None:
            pause, self.comm.max_pause = self.comm.max_pause, IDLE_PAUSE
            try:
                msg = self._next_message(None)
            finally:
                self.comm.max_pause = pause
        return msg

    def _next_message(self, timeout):
        """Next message; checks every 0.5 s that the root is still alive."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            msg = self.comm.recv(timeout=max(wait, 0.))
            if msg is not None:
                if msg[1] == TAG_ABORT:
                    raise Abort()
                return msg
            if not self.comm.root_alive():
                raise Abort()
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def _inject_fault(self, command):
        fault = self.fault
        if not fault or fault["worker"] != self.rank or fault["command"] != command:
            return
        action = fault["action"]
        if action in ("kill", "exit") and not self.comm.in_process:
            if action == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
        if action == "hang":
            while True:
                time.sleep(1.)
        if action == "slow":  # a long computation: the pulse speaks meanwhile
            with self.pulse:
                time.sleep(3.)
            return
        raise RuntimeError(f"fault injected in worker {self.rank} at {command!r} "
                           f"(DICOD_FAULT)")

    # -- commands --------------------------------------------------------------
    def cmd_setup(self, geometry, D, reg, positive, X, z0, n_atoms, scales,
                  fault=None):
        """Receive the geometry, dictionary, signal piece and warm start.

        ``scales`` holds the standard deviation of each whole trial: the
        solve's ``tol`` is relative to it, as in :func:`cdl.sparse_encode`.
        """
        self.fault = fault
        self.scales = np.asarray(scales, dtype=float)
        self.seg = Segmentation(**geometry)
        i = self.rank
        self.window = self.seg.window(i)
        self.own = relative(self.seg.own(i), self.window)
        self.ext = relative(self.seg.extended(i), self.window)
        self.core = relative(self.seg.core(i), self.window)
        self.signal_box = relative(self.seg.signal_box(i), self.window)
        self.x_box = relative(grow(self.seg.extended(i), self.seg.atom_shape),
                              self.window)
        self.X = np.ascontiguousarray(X)
        self.positive = bool(positive)
        n_trials = X.shape[0]
        shape = (n_trials, self.window[1] - self.window[0],
                 self.window[3] - self.window[2], n_atoms)
        self.z = np.zeros(shape) if z0 is None else _position_major(z0)
        self.g = np.zeros(shape)
        self.g_ok = np.zeros(n_trials, dtype=bool)
        self.atoms = None
        self.reg = None
        if D is not None:
            self.cmd_set_D(D)
        if reg is not None:
            self.cmd_set_reg(reg)
        return dict(pid=os.getpid(), host=socket.gethostname(),
                    window=self.window)

    def cmd_set_D(self, D, report=()):
        """Use a new dictionary (g is recomputed at the next solve), and
        return the quantities named in ``report`` (see :meth:`report`)."""
        self.atoms = Atoms(D, self.X.shape[1])
        self.g_ok[:] = False
        return self.report(report, None)

    def cmd_set_reg(self, reg):
        reg = np.asarray(reg, dtype=float)
        if self.reg is None or not np.array_equal(reg, self.reg):
            self.g_ok[:] = False
        self.reg = reg

    def cmd_set_z(self, z):
        """Replace the activations of the window (resuming a learning)."""
        self.z = _position_major(z)
        self.g = np.zeros_like(self.z)
        self.g_ok[:] = False

    def cmd_add_atom(self):
        """Append zero activations for a new atom."""
        self.z = np.ascontiguousarray(np.concatenate(
            [self.z, np.zeros_like(self.z[..., :1])], axis=-1))
        self.g = np.zeros_like(self.z)
        self.g_ok[:] = False

    def _trials(self, trials):
        return range(self.X.shape[0]) if trials is None else list(trials)

    def z_atom_major(self, n):
        """Activations of trial n in the window, shape (n_atoms, H, W)."""
        return np.ascontiguousarray(self.z[n].transpose(2, 0, 1))

    def column_blocks(self, start, stop):
        """Ranges of window columns covering [start, stop), each about
        BLOCK_SIZE activations: whole-window temporaries would be a worker's
        largest allocations."""
        height, n_atoms = self.z.shape[1], self.z.shape[3]
        size = max(BLOCK_SIZE // (height * n_atoms), 8 * self.atoms.shape[1])
        return [(c, min(c + size, stop)) for c in range(start, stop, size)]

    def residual(self, n, rows, cols):
        """Signal minus model of trial n on the window's samples ``rows`` x
        ``cols`` (ranges inside the signal box ``x_box``)."""
        xb = self.x_box
        R = self.X[n][:, rows[0] - xb[0]:rows[1] - xb[0],
                      cols[0] - xb[2]:cols[1] - xb[2]].copy()
        subtract_model(R, self.z[n], self.atoms.D4,
                       np.array([rows[0], cols[0]], dtype=np.int64))
        return R

    def compute_g(self, n):
        """g = (beta - reg) / ||D_k||^2 on the extended box, from the signal and
        the window's activations (beta: correlation with the residual, each
        coordinate's own contribution excluded), by blocks of columns."""
        xb, ext = self.x_box, self.ext
        g = self.g[n]
        g[:ext[0]] = g[ext[1]:] = g[:, :ext[2]] = g[:, ext[3]:] = 0.
        warm = self.z[n].any()
        a_w = self.atoms.shape[1]
        for c0, c1 in self.column_blocks(ext[2], ext[3]):
            cols = (c0, c1 + a_w - 1)
            if warm:
                beta = self.atoms.correlate(self.residual(n, xb[:2], cols))
                beta += (self.z[n][ext[0]:ext[1], c0:c1].transpose(2, 0, 1)
                         * self.atoms.norms[:, None, None])
            else:
                beta = self.atoms.correlate(
                    self.X[n][..., cols[0] - xb[2]:cols[1] - xb[2]])
            self._set_g(g, beta, c0)
        self.g_ok[n] = True

    def _set_g(self, g, beta, start):
        """g on the extended box's rows, from column ``start``; overwrites beta."""
        beta -= self.reg[:, None, None]
        beta *= self.atoms.inv_norms[:, None, None]
        stop = start + beta.shape[2]
        g[self.ext[0]:self.ext[1], start:stop] = beta.transpose(1, 2, 0)

    def cmd_solve(self, trials, tol, max_iter, strategy, soft_lock, lock_eps, seed,
                  max_passes, status_interval, reg=None, report=()):
        """Run LGCD with the neighbours until the root says the solve is over.

        ``reg`` (if given) is set first; the reply holds the solve's
        statistics and the quantities named in ``report`` (see
        :meth:`report`), computed after the solve.
        """
        if reg is not None:
            self.cmd_set_reg(reg)
        result = Solve(self, self._trials(trials), tol, max_iter, strategy,
                       soft_lock, lock_eps, seed, max_passes,
                       status_interval).run()
        with self.pulse:
            result.update(self.report(report, trials))
        return result

    def report(self, names, trials):
        """What the root asked to receive with a command, so that a learning
        iteration takes two round trips: ``cost`` and ``stats`` (of
        ``trials``), ``l1``, ``total_cost`` and ``usage`` (of all trials)
        and ``lambda_max``."""
        compute = dict(cost=lambda: self.cmd_get_cost(trials),
                       total_cost=self.cmd_get_cost, l1=self.cmd_get_l1,
                       stats=lambda: self.cmd_get_stats(trials),
                       lambda_max=self.cmd_lambda_max, usage=self.cmd_get_usage)
        unknown = set(names) - set(compute)
        if unknown:
            raise ValueError(f"Unknown report {sorted(unknown)}; known are "
                             f"{sorted(compute)}.")
        return {name: compute[name]() for name in names}

    def cmd_get_z(self, trials=None):
        """Non-zero activations of the own box: global indices and values."""
        idx, values = [], []
        h0, w0 = self.window[0], self.window[2]
        o = self.own
        own = np.array(o, dtype=np.int64)
        for j, n in enumerate(self._trials(trials)):
            (h, w, k), nz = nonzeros_box(self.z[n], own)
            idx.append(np.stack([np.full_like(k, j), k, h + o[0] + h0,
                                 w + o[2] + w0]))
            values.append(nz)
        return np.concatenate(idx, axis=1), np.concatenate(values)

    def cmd_get_stats(self, trials=None):
        """``ztz`` and ``ztX`` of the own box, summed over trials."""
        a_h, a_w = self.atoms.shape
        n_atoms = self.z.shape[-1]
        ztz = np.zeros((n_atoms, n_atoms, 2 * a_h - 1, 2 * a_w - 1))
        ztX = np.zeros((n_atoms, self.X.shape[1], a_h, a_w))
        own = np.array(self.own, dtype=np.int64)
        origin = np.array([self.x_box[0], self.x_box[2]], dtype=np.int64)
        for n in self._trials(trials):
            z = self.z_atom_major(n)
            accumulate_ztz_box(z, own, ztz)
            accumulate_ztX_box(z, own, self.X[n], origin, ztX)
        return ztz, ztX

    def cmd_get_l1(self, trials=None):
        own = np.array(self.own, dtype=np.int64)
        reg = np.ascontiguousarray(np.broadcast_to(
            np.asarray(self.reg, dtype=float), self.z.shape[-1:]))
        return float(sum(weighted_l1_box(self.z[n], own, reg)
                         for n in self._trials(trials)))

    def cmd_get_cost(self, trials=None):
        """Data fit on the worker's signal box plus the l1 of its own box."""
        sb = self.signal_box
        cost = 0.
        for n in self._trials(trials):
            for c0, c1 in self.column_blocks(sb[2], sb[3]):
                residual = self.residual(n, sb[:2], (c0, c1))
                cost += 0.5 * float(np.square(residual, out=residual).sum())
        return cost + self.cmd_get_l1(trials)

    def cmd_lambda_max(self):
        """Per atom, the largest |(D_k corr X)| over the own box and all trials."""
        ext, own = self.ext, self.own
        local = relative(own, (ext[0], 0, ext[2], 0))
        return np.max([np.abs(self.atoms.correlate(X)[box_slice(local)]).max(
            axis=(1, 2)) for X in self.X], axis=0)

    def cmd_residual_window(self, n_times_atom):
        """Window of largest residual energy starting in the own box (1-D)."""
        best = (-1., None)
        xb = self.x_box
        start, stop = self.own[2] - xb[2], self.own[3] - xb[2]
        for n in range(self.X.shape[0]):
            residual = self.residual(n, xb[:2], xb[2:])[:, 0]
            energy = np.concatenate([[0.], np.cumsum((residual ** 2).sum(axis=0))])
            stop_n = min(stop, residual.shape[1] - n_times_atom + 1)
            if stop_n <= start:
                continue
            window = (energy[start + n_times_atom:stop_n + n_times_atom]
                      - energy[start:stop_n])
            t = int(np.argmax(window))
            if window[t] > best[0]:
                best = (float(window[t]),
                        residual[:, start + t:start + t + n_times_atom].copy())
        return best

    # -- atom revival (1-D signals) ----------------------------------------------
    def cmd_get_usage(self):
        """Occurrences, sum of the absolute activations and clusters
        (:func:`cdl.learn.revival_rules.cluster_counts`, shape (3, n_atoms):
        those that begin in the own box, seen through the window, so that
        the workers' counts add up to the whole signal's) of each atom in
        the own box, over all trials (1-D signals).

        An occurrence is a positive local maximum along time
        (:func:`cdl.model.occurrences.local_maxima`). A maximum on the border
        of the own box is judged with the neighbour's sample, which the
        window holds when ``n_times_atom >= 2`` (the window extends the own
        box by ``2 (n_times_atom - 1)`` samples, up to the ends of the
        signal); each sample is counted by the one worker that owns it.
        """
        o = self.own
        lo, hi = max(o[2] - 1, 0), min(o[3] + 1, self.z.shape[2])
        n_atoms = self.z.shape[-1]
        n_times_atom = self.seg.atom_shape[-1]
        counts = np.zeros(n_atoms, dtype=np.int64)
        sums = np.zeros(n_atoms)
        clusters = np.zeros((3, n_atoms), dtype=np.int64)
        for n in range(self.z.shape[0]):
            z = self.z[n, o[0]:o[1], lo:hi].transpose(0, 2, 1)  # (H, atoms, W)
            peaks = local_maxima(z)[..., o[2] - lo:o[3] - lo]
            counts += peaks.sum(axis=(0, 2))
            sums += np.abs(z[..., o[2] - lo:o[3] - lo]).sum(axis=(0, 2))
            # Clusters and occurrences are counted where they begin, seen
            # through the whole window (a cluster may run into the next box).
            clusters += dense_cluster_counts(
                self.z[n, o[0]:o[1]].transpose(0, 2, 1), n_times_atom, o[2], o[3])
        return counts, sums, clusters

    def cmd_reset_atom(self, atom):
        """Set the activations of one atom to zero (in the whole window, as
        every worker does: the windows stay consistent)."""
        self.z[..., atom] = 0.
        self.g_ok[:] = False

    def cmd_keep_z(self):
        """Remember a copy of the window's activations."""
        self.kept_z = self.z.copy()

    def cmd_restore_z(self):
        """Put back the activations remembered by ``keep_z``."""
        self.z, self.kept_z = self.kept_z, None
        self.g_ok[:] = False

    def cmd_forget_z(self):
        """Forget the activations remembered by ``keep_z``."""
        self.kept_z = None

    def cmd_end(self):
        """Forget the problem (the process keeps serving)."""
        for name in ("X", "z", "g", "atoms", "kept_z"):
            self.__dict__.pop(name, None)


def _position_major(z):
    """(n_trials, n_atoms, H, W) -> contiguous (n_trials, H, W, n_atoms)."""
    return np.ascontiguousarray(np.asarray(z, dtype=float).transpose(0, 2, 3, 1))


class Pulse:
    """Heartbeats sent from a thread while the worker is in a long computation.

    The root declares a worker dead after ``worker_timeout`` seconds of
    silence. Within ``with pulse:`` (a command's computation, which may take
    long on big pieces of signal) a thread sends ``TAG_ALIVE`` every
    ``interval`` seconds; elsewhere the worker speaks for itself (replies,
    solve statuses), so a worker stuck outside a computation falls silent.

    Parameters
    ----------
    comm : Comm
    interval : float
    """

    def __init__(self, comm, interval=1.):
        self.comm = comm
        self.interval = interval
        self.depth = 0
        self.done = threading.Event()
        self.thread = None

    def __enter__(self):
        self.depth += 1
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, daemon=True,
                                           name="dicod-pulse")
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        return False

    def _run(self):
        while not self.done.wait(self.interval):
            if self.depth > 0:
                self.comm.send(ROOT, TAG_ALIVE, None)

    def stop(self):
        """Stop the thread (before the worker's last messages)."""
        self.done.set()
        if self.thread is not None:
            self.thread.join()
