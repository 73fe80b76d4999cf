"""The root's side of the protocol: commands, distributed solves, failures.

:class:`Cluster` sends commands to the workers and gathers their replies. It
never waits blindly: every wait polls for messages, checks that the workers
are alive and gives up, killing them, when one reports an error, dies or stays
silent for ``worker_timeout`` seconds.

A solve ends by termination detection. Each worker sends, whenever it becomes
idle, a status holding how many update messages it has sent to and applied
from every other worker. The root ends the solve when its latest status of
every worker says idle and, for every pair, the messages ``v`` sent to ``w``
equal those ``w`` applied from ``v``: then no worker is busy and no message is
in flight. (Counts are taken when a status is sent, so a worker woken up by a
message after its last status leaves the pair with the sender unbalanced.)
"""
import time

import numpy as np

from cdl.utils.log import logger

from ._comm import (
    TAG_CMD,
    TAG_DONE,
    TAG_ERROR,
    TAG_REPLY,
    TAG_STATUS,
    TAG_STOP,
    WorkerError,
)

STOP_GRACE = 10.  # seconds an interrupted solve may take to drain its messages


class Cluster:
    """The root's handle on a set of started workers.

    Parameters
    ----------
    comm : Comm
        The root's end of the communication.
    worker_timeout : float
        Seconds a worker may stay silent (no reply, no status) before it is
        declared dead.
    shutdown_on_close : bool
        Whether :meth:`close` ends the worker processes (spawned workers) or
        leaves them serving (workers of an ``mpirun`` job).
    """

    def __init__(self, comm, worker_timeout=60., shutdown_on_close=True):
        self.comm = comm
        self.n_workers = comm.n_workers
        self.worker_timeout = worker_timeout
        self.shutdown_on_close = shutdown_on_close
        self.closed = False
        self.info = {}

    # -- failures --------------------------------------------------------------
    def fail(self, message, graceful=False):
        """End the workers and raise a :class:`WorkerError`."""
        self.abort(graceful)
        raise WorkerError(message)

    def abort(self, graceful=False):
        """End the workers after a failure: ask them to leave, or kill them."""
        if not self.closed:
            self.closed = True
            self.comm.abort(graceful)

    def _check_alive(self, waiting, last_seen):
        dead = [i for i in self.comm.dead_workers() if i in waiting]
        if dead:
            names = ", ".join(self.comm.describe(i) for i in dead)
            self.fail(f"DICOD {names} died (killed or crashed) during the "
                      f"computation.")
        now = time.monotonic()
        silent = [i for i in waiting if now - last_seen[i] > self.worker_timeout]
        if silent:
            self.fail(f"DICOD {self.comm.describe(silent[0])} did not answer for "
                      f"{self.worker_timeout:.0f} s (worker_timeout).")

    def _next(self, waiting, last_seen, timeout=0.05):
        """Next message from a worker, with error and liveness checks."""
        msg = self.comm.recv(timeout=timeout)
        if msg is None:
            self._check_alive(waiting, last_seen)
            return None
        source, tag, payload = msg
        last_seen[source] = time.monotonic()
        if tag == TAG_ERROR:
            self.fail(f"A DICOD worker raised an error:\n{payload}", graceful=True)
        return msg

    # -- commands --------------------------------------------------------------
    def command(self, name, per_worker=None, **kwargs):
        """Run a command on every worker and return the replies in worker order.

        Parameters
        ----------
        name : str
            Command (a ``cmd_*`` method of :class:`dicod.worker.Worker`).
        per_worker : list of dict | None
            Extra keyword arguments for each worker.
        **kwargs
            Keyword arguments shared by all workers.
        """
        if self.closed:
            raise WorkerError("The DICOD workers were shut down after an error or "
                              "at the end of their use; start new ones.")
        for i in range(self.n_workers):
            args = dict(kwargs, **(per_worker[i] if per_worker else {}))
            self.comm.send(i, TAG_CMD, (name, args))
        return self._gather(name)

    def _gather(self, name):
        """Replies to command ``name``; an interrupt waits for them first.

        After Ctrl-C the replies are still collected (for up to STOP_GRACE
        seconds) so that the workers stay in step and usable; a second
        interrupt, or the grace running out, kills them.
        """
        results, deadline = {}, None
        last_seen = {i: time.monotonic() for i in range(self.n_workers)}
        while len(results) < self.n_workers:
            try:
                waiting = [i for i in range(self.n_workers) if i not in results]
                msg = self._next(waiting, last_seen)
                if msg is not None and msg[1] == TAG_REPLY and msg[2][0] == name:
                    results[msg[0]] = msg[2][1]
                if deadline is not None and time.monotonic() > deadline:
                    self.abort()
                    raise KeyboardInterrupt
            except KeyboardInterrupt:
                if deadline is not None:
                    self.abort()
                    raise
                deadline = time.monotonic() + STOP_GRACE
        if deadline is not None:
            raise KeyboardInterrupt
        return [results[i] for i in range(self.n_workers)]

    # -- distributed solve -----------------------------------------------------
    def solve(self, timeout=None, **kwargs):
        """Run a distributed solve to termination.

        Parameters
        ----------
        timeout : float | None
            Stop the workers after this many seconds (the activations reached
            so far are kept).
        **kwargs
            Arguments of :meth:`dicod.worker.Worker.cmd_solve`.

        Returns
        -------
        results : list of dict
            Each worker's statistics.
        reason : str
            'converged', 'max_iter', 'timeout' or 'interrupted'.
        """
        if self.closed:
            raise WorkerError("The DICOD workers were shut down; start new ones.")
        for i in range(self.n_workers):
            self.comm.send(i, TAG_CMD, ("solve", kwargs))
        t_start = time.monotonic()
        status, last_seen = {}, {i: t_start for i in range(self.n_workers)}
        reason, stop_at, interrupted = "converged", None, False
        waiting = list(range(self.n_workers))
        while True:
            try:
                msg = self._next(waiting, last_seen)
                if msg is not None and msg[1] == TAG_STATUS:
                    status[msg[0]] = msg[2]
                if stop_at is None:
                    if any(s["exhausted"] for s in status.values()):
                        reason = "max_iter"
                    elif timeout is not None and time.monotonic() - t_start > timeout:
                        reason = "timeout"
                    if reason != "converged":
                        stop_at = self._stop()
                elif interrupted and time.monotonic() - stop_at > STOP_GRACE:
                    self.abort()  # the user is waiting: no more draining
                    raise KeyboardInterrupt
                elif time.monotonic() - stop_at > self.worker_timeout:
                    # Stopping workers drain their messages and report idle;
                    # a busy machine slows that down, so the bound is the
                    # one that declares a worker dead.
                    self.fail(f"The DICOD workers did not stop within "
                              f"{self.worker_timeout:.0f} s (worker_timeout) "
                              f"after a stop request ({reason}).")
                if _terminated(status, self.n_workers):
                    break
            except KeyboardInterrupt:
                if interrupted:  # second interrupt: no more waiting
                    self.abort()
                    raise
                interrupted, reason = True, "interrupted"
                logger.warning("Interrupted: stopping the DICOD workers "
                               "(interrupt again to kill them).")
                if stop_at is None:
                    stop_at = self._stop()
        for i in range(self.n_workers):
            self.comm.send(i, TAG_DONE, None)
        results = self._gather("solve")
        if interrupted:
            raise KeyboardInterrupt
        return results, reason

    def _stop(self):
        for i in range(self.n_workers):
            self.comm.send(i, TAG_STOP, None)
        return time.monotonic()

    # -- end -------------------------------------------------------------------
    def close(self):
        """End the session; spawned workers exit, ``mpirun`` ones keep serving."""
        if self.closed:
            return
        try:
            # Spawned workers exit at once: forgetting the problem first
            # would only cost a round trip.
            self.command("shutdown" if self.shutdown_on_close else "end")
            self.comm.close()
        except WorkerError:
            pass  # already killed by fail()
        except BaseException:
            self.abort()
            raise
        self.closed = True


def _terminated(status, n_workers):
    """All workers idle and every sent update message applied."""
    if len(status) < n_workers or not all(s["idle"] for s in status.values()):
        return False
    sent = np.array([status[v]["sent"] for v in range(n_workers)])
    applied = np.array([status[w]["applied"] for w in range(n_workers)])
    return bool(np.array_equal(sent, applied.T))
