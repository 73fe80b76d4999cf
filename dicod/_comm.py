"""The communicator interface the DICOD algorithm is written against.

The root and the workers exchange Python objects through a :class:`Comm`.
Two implementations exist: :class:`dicod._local_comm.LocalComm` (threads and
queues, in this process: the algorithm is tested without MPI) and the MPI ones
in :mod:`dicod._mpi` (the only module that imports mpi4py).

Participants are numbered: ``ROOT`` for the root, ``0 .. n_workers - 1`` for
the workers. Messages between two participants arrive in the order they were
sent; ``send`` never blocks.
"""
import abc

ROOT = -1

# Message tags.
TAG_CMD = 11      # root -> worker: (command name, keyword arguments)
TAG_REPLY = 12    # worker -> root: (command name, result)
TAG_ERROR = 13    # worker -> root: text of the worker's traceback
TAG_STATUS = 14   # worker -> root: progress and termination counters
TAG_UPDATE = 15   # worker -> worker: rows (trial, k, h, w, dz)
TAG_STOP = 16     # root -> worker: stop updating, keep applying messages
TAG_DONE = 17     # root -> worker: the solve is over
TAG_ABORT = 18    # root -> worker: leave at once (after a failure elsewhere)
TAG_ALIVE = 19    # worker -> root: still computing (during long commands)
TAGS = {TAG_CMD: "command", TAG_REPLY: "reply", TAG_ERROR: "error",
        TAG_STATUS: "status", TAG_UPDATE: "update", TAG_STOP: "stop",
        TAG_DONE: "done", TAG_ABORT: "abort", TAG_ALIVE: "alive"}


class WorkerError(RuntimeError):
    """A DICOD worker failed: it raised, died, or stopped answering."""


class Comm(abc.ABC):
    """One participant's end of the communication.

    Attributes
    ----------
    rank : int
        ``ROOT`` or the worker number.
    n_workers : int
    """

    rank = ROOT
    n_workers = 0
    in_process = False  # workers share this process (no kill or exit faults)
    # Longest sleep between two polls of a polling transport (seconds).
    max_pause = 1e-3

    @abc.abstractmethod
    def send(self, dest, tag, payload):
        """Queue ``payload`` for ``dest`` (ROOT or a worker); never blocks.

        Safe to call from two threads (a worker's heartbeat thread sends too).
        """

    @abc.abstractmethod
    def recv(self, timeout=None):
        """Next message as ``(source, tag, payload)``, or None after ``timeout`` s.

        ``timeout=0`` polls; None waits for ever.
        """

    def flush(self, timeout=None):
        """Wait until the messages sent so far have left; True if they have."""
        return True

    def dead_workers(self):
        """Workers known to have died (root side); empty if unknown."""
        return []

    def root_alive(self):
        """Whether the root still runs (worker side)."""
        return True

    def abort(self, graceful=False):  # noqa: B027 (a no-op by default)
        """End every worker after a failure (root side).

        With ``graceful``, first ask them to leave (they are alive but one of
        them raised), else kill them at once.
        """

    def close(self):  # noqa: B027 (a no-op by default)
        """Release the communication after a clean shutdown."""

    def describe(self, worker):
        """Text identifying a worker in error messages."""
        return f"worker {worker}"
