"""In-process communicator: workers are threads, messages go through queues.

Used by the tests (the distributed algorithm runs without MPI) and by
``backend='local'``. The compiled kernels release the GIL, so worker threads
do run in parallel. Payloads are copied on send, as they would be by MPI, so
that no array is shared between participants.
"""
import queue
import threading

import numpy as np

from ._comm import ROOT, TAG_ABORT, Comm


def _copy(payload):
    if isinstance(payload, np.ndarray):
        return payload.copy()
    if isinstance(payload, dict):
        return {key: _copy(value) for key, value in payload.items()}
    if isinstance(payload, (list, tuple)):
        return type(payload)(_copy(value) for value in payload)
    return payload


class LocalComm(Comm):
    """One participant's view of a set of in-process queues.

    Parameters
    ----------
    rank : int
        ``ROOT`` or a worker number.
    inboxes : dict of int to queue.Queue
        One inbox per participant, shared by all views.
    threads : dict of int to threading.Thread | None
        Worker threads (filled by :func:`start_local_workers`).
    """

    def __init__(self, rank, inboxes, threads=None):
        self.rank = rank
        self.n_workers = len(inboxes) - 1
        self._inboxes = inboxes
        self._threads = threads if threads is not None else {}
        self.aborted = threading.Event() if rank == ROOT else None
        self.in_process = True

    def send(self, dest, tag, payload):
        self._inboxes[dest].put((self.rank, tag, _copy(payload)))

    def recv(self, timeout=None):
        try:
            if timeout == 0:
                return self._inboxes[self.rank].get_nowait()
            return self._inboxes[self.rank].get(timeout=timeout)
        except queue.Empty:
            return None

    def dead_workers(self):
        return [i for i, t in self._threads.items() if not t.is_alive()]

    def abort(self, graceful=False):
        # Threads cannot be killed: ask them to leave at their next message.
        self.aborted.set()
        for i in range(self.n_workers):
            self._inboxes[i].put((ROOT, TAG_ABORT, None))

    def describe(self, worker):
        return f"worker thread {worker}"


def start_local_workers(n_workers, serve):
    """Start ``n_workers`` threads running ``serve(comm)``; return the root's comm.

    Parameters
    ----------
    n_workers : int
    serve : callable
        ``serve(comm)`` runs one worker until it is shut down.
    """
    inboxes = {i: queue.Queue() for i in [ROOT] + list(range(n_workers))}
    threads = {}
    root = LocalComm(ROOT, inboxes, threads)
    for i in range(n_workers):
        comm = LocalComm(i, inboxes, threads)
        threads[i] = threading.Thread(target=serve, args=(comm,), daemon=True,
                                      name=f"dicod-worker-{i}")
    for thread in threads.values():
        thread.start()
    return root
