"""One distributed solve on one worker: LGCD sweeps between messages.

The loop alternates compiled sweeps (:func:`cdl._kernels.dicod_lgcd.sweep`)
with message handling: the updates a sweep makes near the borders go to the
neighbours, the neighbours' updates are applied to ``g``, and the root is
told whenever the worker becomes idle, with counts of the update messages sent
to and applied from every other worker. The root ends the solve when all
workers are idle and every message sent has been applied (see
:mod:`dicod._root`).
"""
import time

import numpy as np

from cdl._kernels import dicod_lgcd

from ._comm import ROOT, TAG_ABORT, TAG_DONE, TAG_STATUS, TAG_STOP, TAG_UPDATE

LOCK_MODES = {"none": dicod_lgcd.LOCK_NONE, "border": dicod_lgcd.LOCK_BORDER,
              "corner": dicod_lgcd.LOCK_CORNER}


class Abort(Exception):
    """The root asked this worker to leave at once."""


class Solve:
    """State of one distributed solve on one worker."""

    def __init__(self, worker, trials, tol, max_iter, strategy, soft_lock, lock_eps,
                 seed, max_passes, status_interval):
        self.w = worker
        self.trials = trials
        # tol is relative to each trial's standard deviation.
        self.scales = {n: worker.scales[n] if worker.scales[n] > 0 else 1.
                       for n in trials}
        self.tols = {n: tol * self.scales[n] for n in trials}
        # The sweep kernel compares changes with tol as float32 values, and
        # returns the largest change as a float32: the remaining excess must
        # be measured the same way, or a change equal to float32(tol) (above
        # tol in float64) would keep the worker busy without any update.
        self.tols32 = {n: float(np.float32(t)) for n, t in self.tols.items()}
        self.max_iter = max_iter
        self.random = strategy == "random"
        self.lock_mode = LOCK_MODES[soft_lock]
        self.lock_eps = lock_eps
        self.rng = np.random.RandomState(seed)
        self.passes = max_passes
        self.status_interval = status_interval
        n_workers = worker.seg.n_workers
        self.sent = np.zeros(n_workers, dtype=np.int64)
        self.applied = np.zeros(n_workers, dtype=np.int64)
        self.n_updates = self.n_locked = self.n_sweeps = self.n_received = 0
        self.changes = {n: np.inf for n in trials}

    def _prepare(self):
        w = self.w
        t_start = time.perf_counter()
        own = w.own
        a_h, a_w = w.atoms.shape
        own_shape = (own[1] - own[0], own[3] - own[2])
        self.seg_shape = np.array([min(2 * a_h, own_shape[0]),
                                   min(2 * a_w, own_shape[1])], dtype=np.int64)
        n_seg = int(np.prod([-(-s // g) for s, g in zip(own_shape, self.seg_shape)]))
        self.boxes = [np.array(b, dtype=np.int64) for b in (w.own, w.ext, w.core)]
        n_atoms = w.z.shape[-1]
        block = (max(self.seg_shape[1], 2 * a_w) + 1) * n_atoms
        self.buf = np.zeros(block, dtype=np.float32)
        self.shift = np.tile(2 * w.reg * w.atoms.inv_norms, block // n_atoms)
        self.DtD_t = dicod_lgcd.transpose_dtd(w.atoms.DtD, w.atoms.inv_norms)
        self.width = w.z.shape[2]
        # A sweep returns after the pass that recorded updates for the
        # neighbours: at most one update per segment.
        self.out = np.zeros((n_seg, 4))
        self.flat = {n: (w.g[n].reshape(-1), w.z[n].reshape(-1))
                     for n in self.trials}
        self.segs = {}
        for n in self.trials:
            if not w.g_ok[n]:
                w.compute_g(n)
            seg = [np.zeros(n_seg, dtype=np.int64) for _ in range(2)]
            dicod_lgcd.init_segments(*self.flat[n], self.shift, w.positive,
                                     self.width, n_atoms, self.boxes[0],
                                     self.seg_shape, *seg, self.buf)
            self.segs[n] = seg
        return time.perf_counter() - t_start

    def _result(self, t_start, time_init, exhausted):
        # Largest remaining change, relative to its trial's scale (like tol).
        change = max((c / self.scales[n] for n, c in self.changes.items()),
                     default=0.)
        return dict(n_updates=self.n_updates, n_sweeps=self.n_sweeps,
                    n_locked=self.n_locked, n_messages=int(self.sent.sum()),
                    n_received=self.n_received, time=time.perf_counter() - t_start,
                    cpu_time=time.process_time() - self.cpu_start,
                    time_init=time_init, exhausted=exhausted,
                    max_change=float(change))

    def run(self):
        w = self.w
        with w.pulse:
            time_init = self._prepare()
        t_start = time.perf_counter()
        self.cpu_start = time.process_time()
        stopping = exhausted = False
        excess = np.inf  # largest candidate change above its tol
        last_report, last_sent = None, time.monotonic()
        inbox = list(w.pending)
        w.pending.clear()
        while True:
            msg = inbox.pop(0) if inbox else w.comm.recv(timeout=0)
            while msg is not None:
                if self._handle(msg):
                    return self._result(t_start, time_init, exhausted)
                stopping = stopping or msg[1] == TAG_STOP
                msg = inbox.pop(0) if inbox else w.comm.recv(timeout=0)
            progressed = False
            if not (stopping or exhausted):
                n_up, n_locked, excess = self._sweep()
                # Without progress because of soft locks: wait for the
                # neighbours' updates rather than spin.
                progressed = n_up > 0 or n_locked == 0
                exhausted = self.n_sweeps >= self.max_iter
            idle = stopping or exhausted or excess <= 0.
            now = time.monotonic()
            heartbeat = now - last_sent > self.status_interval
            state = (exhausted, tuple(self.sent), tuple(self.applied)) \
                if idle else None
            if (idle and state != last_report) or heartbeat:
                # Idle reports carry the counts the root's termination test
                # needs; busy ones only say that the worker is alive.
                w.comm.send(ROOT, TAG_STATUS, dict(
                    idle=idle, exhausted=exhausted, sent=self.sent.copy(),
                    applied=self.applied.copy(), n_updates=self.n_updates))
                last_report = state if idle else None
                last_sent = now
            if idle or not progressed:
                msg = w._next_message(timeout=0.2 if idle else 0.01)
                if msg is not None:
                    if self._handle(msg):
                        return self._result(t_start, time_init, exhausted)
                    stopping = stopping or msg[1] == TAG_STOP

    def _sweep(self):
        """One compiled call per trial; returns (n_updates, n_locked, excess).

        The number of passes per call adapts so that a call lasts about a
        millisecond: short enough to apply the neighbours' updates promptly,
        long enough to make the Python round trip negligible.
        """
        w = self.w
        own, ext, core = self.boxes
        lock = self.lock_mode if w.seg.n_workers > 1 else dicod_lgcd.LOCK_NONE
        rows = []
        n_up_total, n_locked_total, excess, passes = 0, 0, 0., 0
        max_passes = max(1, min(self.passes, self.max_iter - self.n_sweeps))
        t_start = time.perf_counter()
        for n in self.trials:
            seed = int(self.rng.randint(2 ** 31 - 1)) if self.random else 0
            n_up, n_out, n_locked, n_passes, change = dicod_lgcd.sweep(
                *self.flat[n], self.DtD_t, self.shift, w.positive,
                self.width, self.tols[n], own, ext, core, self.seg_shape,
                *self.segs[n], lock, self.lock_eps, self.random, seed, max_passes,
                self.out, self.buf)
            n_up_total += n_up
            n_locked_total += n_locked
            passes = max(passes, n_passes)
            self.changes[n] = change
            excess = max(excess, change - self.tols32[n])
            if n_out:
                out = self.out[:n_out]
                rows.append(np.column_stack([np.full(n_out, float(n)), out]))
        elapsed = time.perf_counter() - t_start
        if elapsed < 5e-4 and passes == max_passes:
            self.passes = min(2 * self.passes, 4096)
        elif elapsed > 4e-3:
            self.passes = max(self.passes // 2, 1)
        self.n_updates += n_up_total
        self.n_locked += n_locked_total
        self.n_sweeps += passes
        if rows:
            self._send_updates(np.concatenate(rows))
        return n_up_total, n_locked_total, excess

    def _send_updates(self, rows):
        w = self.w
        rows[:, 2] += w.window[0]
        rows[:, 3] += w.window[2]
        for j, mask in w.seg.route(w.rank, rows[:, 2:4]):
            w.comm.send(j, TAG_UPDATE, rows[mask])
            self.sent[j] += 1

    def _handle(self, msg):
        """Handle a message during the solve; True when the solve is over."""
        source, tag, payload = msg
        w = self.w
        if tag == TAG_UPDATE:
            rows = payload
            local = rows[:, 1:].copy()
            local[:, 1] -= w.window[0]
            local[:, 2] -= w.window[2]
            trials = rows[:, 0].astype(np.int64)
            for n in np.unique(trials):
                seg = self.segs[n]
                dicod_lgcd.apply_updates(
                    *self.flat[n], self.DtD_t, self.shift, w.positive,
                    self.width, np.ascontiguousarray(local[trials == n]),
                    self.boxes[0], self.boxes[1], self.seg_shape, *seg, self.buf)
            self.applied[source] += 1
            self.n_received += len(rows)
            return False
        if tag == TAG_DONE:
            return True
        if tag == TAG_STOP:
            return False
        if tag == TAG_ABORT:
            raise Abort()
        raise RuntimeError(f"unexpected message (tag {tag}) during a solve")
