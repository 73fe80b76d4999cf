"""MPI transport of DICOD: the only module that imports mpi4py.

Two ways to get workers:

- *spawn* (:func:`spawn_workers`): this process calls ``MPI.COMM_SELF.Spawn``.
  With MPICH (the ``mpich`` wheel), a process not started by ``mpiexec`` needs
  ``mpiexec`` on ``PATH`` to spawn; it is looked up in ``DICOD_MPIEXEC``, next
  to ``sys.executable`` (a virtualenv's ``bin``), then on ``PATH``. MPICH's
  process manager kills its whole process group, signals included, when a
  spawned process dies; it is therefore started through a tiny wrapper in its
  own session, so that a crashed worker cannot take this process down. Such a
  crash leaves MPI unusable in this process: later spawns raise a clear
  error, and ``MPI_Finalize`` is skipped at exit (it would crash).
- *mpirun* (:func:`world_root_comm`, :func:`world_worker_comm`): the program
  was started with ``mpirun -n N``; rank 0 is the root, ranks 1 .. N-1 the
  workers.

To use a system MPI (clusters), install mpi4py against it (``pip install
--no-binary mpi4py mpi4py`` with its ``mpicc`` on ``PATH``) and do not install
the ``mpich`` wheel, or point ``DICOD_MPIEXEC`` at that MPI's ``mpiexec``;
spawned workers go to the hosts of ``hostfile`` (MPI info key ``hostfile``).

Messages are pickled (protocol 5) except for large contiguous arrays, which
follow their message as raw MPI buffers: a signal piece is sent without being
copied into a pickle, and received straight into its final memory.
"""
import os
import pickle
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

from ._comm import ROOT, TAG_ABORT, TAG_CMD, TAG_REPLY, Comm, WorkerError

_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE",
              "PMIX_SIZE")
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK",
              "PMIX_RANK")
_STATE = dict(broken=False, singleton_ready=False)
_TAG_BUFFER = 99  # raw data of a message's large arrays, right after it
_OOB_BYTES = 1 << 18  # arrays at least this large travel as raw buffers
_MAX_COUNT = 2 ** 31 - 1  # MPI counts are C ints
_CHUNK_BYTES = 1 << 30  # largest raw message sent
# Longest wait for peers that are alive but slow to answer at shutdown (a
# busy machine): the waits end as soon as the peers answer, or die.
SHUTDOWN_WAIT = 60.
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "_worker_main.py")


def _env_int(names):
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def world_size():
    """Number of processes of the ``mpirun`` job this process belongs to.

    Read from the launcher's environment until mpi4py is imported, so that
    asking does not start MPI.

    Returns
    -------
    int
        The size of ``MPI.COMM_WORLD``; 1 outside ``mpirun``.
    """
    if "mpi4py.MPI" in sys.modules:
        return sys.modules["mpi4py.MPI"].COMM_WORLD.Get_size()
    return _env_int(_SIZE_VARS) or 1


def world_rank():
    """Rank of this process in its ``mpirun`` job (0 if none)."""
    if "mpi4py.MPI" in sys.modules:
        return sys.modules["mpi4py.MPI"].COMM_WORLD.Get_rank()
    return _env_int(_RANK_VARS) or 0


def _import_mpi(spawning=False):
    if spawning and "mpi4py.MPI" not in sys.modules:
        import mpi4py
        # After a worker crash MPI_Finalize would crash this process at exit;
        # a process that only spawns does not need it.
        mpi4py.rc.finalize = False
    from mpi4py import MPI
    return MPI


def find_mpiexec():
    """Path of ``mpiexec``: $DICOD_MPIEXEC, next to ``sys.executable``, then PATH."""
    candidates = [os.environ.get("DICOD_MPIEXEC"),
                  os.path.join(os.path.dirname(sys.executable), "mpiexec"),
                  shutil.which("mpiexec")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


@contextmanager
def _singleton_spawn(MPI):
    """Let MPICH's first spawn find ``mpiexec``, started in its own session."""
    if _STATE["singleton_ready"] or "MPICH" not in MPI.get_vendor()[0]:
        yield
        return
    real = find_mpiexec()
    if real is None:
        raise RuntimeError(
            "MPICH needs 'mpiexec' to spawn DICOD workers from Python, and none was "
            "found next to the Python executable, in DICOD_MPIEXEC or on PATH. "
            "Install the 'mpich' package in this environment, or set "
            "DICOD_MPIEXEC to the mpiexec of your MPI.")
    folder = tempfile.mkdtemp(prefix="dicod-mpiexec-")
    wrapper = os.path.join(folder, "mpiexec")
    setsid = "import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])"
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S -c "
                f"{shlex.quote(setsid)} {shlex.quote(real)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    old_path = os.environ.get("PATH", "")
    os.environ["PATH"] = folder + os.pathsep + old_path
    try:
        yield
        _STATE["singleton_ready"] = True
    finally:
        os.environ["PATH"] = old_path
        shutil.rmtree(folder, ignore_errors=True)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust kill(0)


def _dumps(payload):
    """Pickle ``payload``, leaving out its large contiguous arrays.

    Returns
    -------
    data : bytes
    buffers : list of memoryview
        The raw bytes of the arrays left out, in pickle order.
    """
    buffers = []

    def in_band(buffer):
        raw = buffer.raw()
        if raw.nbytes < _OOB_BYTES:
            return True
        buffers.append(raw)
        return False

    return pickle.dumps(payload, protocol=5, buffer_callback=in_band), buffers


def _chunks(buffer):
    return [buffer[i:i + _CHUNK_BYTES]
            for i in range(0, buffer.nbytes, _CHUNK_BYTES)]


class _MPIComm(Comm):
    """Non-blocking sends and polled receives over mpi4py communicators.

    A message is ``(pickle, sizes)``, followed by one ``_TAG_BUFFER`` message
    per chunk of each array left out of the pickle (``sizes``). MPI keeps the
    messages of one sender in order, and a thread sends a message and its
    buffers under one lock, so a receiver that matched a message receives its
    buffers next.
    """

    def _setup(self, MPI):
        self.MPI = MPI
        self._requests = []
        self._lock = threading.Lock()
        self._status = MPI.Status()

    def _isend(self, comm, dest, tag, payload):
        data, buffers = _dumps(payload)
        with self._lock:
            requests = [comm.isend((data, [b.nbytes for b in buffers]), dest=dest,
                                   tag=tag)]
            for buffer in buffers:
                requests += [comm.Isend([chunk, self.MPI.BYTE], dest=dest,
                                        tag=_TAG_BUFFER) for chunk in _chunks(buffer)]
            # The buffers are the payload's arrays: keep them until sent.
            self._requests.append((requests, buffers))
            if len(self._requests) > 64:
                self._requests = self._pending()

    def _pending(self):
        return [(r, b) for r, b in self._requests if not self.MPI.Request.Testall(r)]

    def _recv_buffer(self, comm, source, nbytes):
        import numpy as np  # the worker imports it after saying hello
        buffer = np.empty(nbytes, dtype=np.uint8)
        view, done = memoryview(buffer), 0
        while done < nbytes:  # whatever the sender's chunk size
            comm.Recv([view[done:done + _MAX_COUNT], self.MPI.BYTE],
                      source=source, tag=_TAG_BUFFER, status=self._status)
            done += self._status.Get_count(self.MPI.BYTE)
        return buffer

    def _poll(self, comms):
        for comm, convert in comms:
            message = comm.improbe(source=self.MPI.ANY_SOURCE,
                                   tag=self.MPI.ANY_TAG, status=self._status)
            if message is not None:
                source, tag = self._status.Get_source(), self._status.Get_tag()
                data, sizes = message.recv()
                buffers = [self._recv_buffer(comm, source, n) for n in sizes]
                return convert(source), tag, pickle.loads(data, buffers=buffers)
        return None

    def _wait(self, comms, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 2e-5
        while True:
            msg = self._poll(comms)
            if msg is not None or timeout == 0:
                return msg
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(pause)
            pause = min(2 * pause, self.max_pause)

    def flush(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._requests:
            with self._lock:
                self._requests = self._pending()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(1e-4)
        return True


class SpawnRootComm(_MPIComm):
    """The root's end towards workers it spawned (an intercommunicator)."""

    def __init__(self, MPI, intercomm):
        self._setup(MPI)
        self.comm = intercomm
        self.n_workers = intercomm.Get_remote_size()
        self.pids, self.hosts = {}, {}
        self.host = socket.gethostname()

    def send(self, dest, tag, payload):
        self._isend(self.comm, dest, tag, payload)

    def recv(self, timeout=None):
        return self._wait([(self.comm, int)], timeout)

    def wait_hello(self, timeout):
        """Receive each worker's pid and host (sent as soon as it starts)."""
        deadline = time.monotonic() + timeout
        while len(self.pids) < self.n_workers:
            msg = self.recv(timeout=max(deadline - time.monotonic(), 0.))
            if msg is None:
                self.abort()
                raise WorkerError(f"The spawned DICOD workers did not start within "
                                  f"{timeout:.0f} s.")
            source, tag, payload = msg
            if tag == TAG_REPLY and payload[0] == "hello":
                self.pids[source] = payload[1]["pid"]
                self.hosts[source] = payload[1]["host"]

    def dead_workers(self):
        return [i for i, pid in self.pids.items()
                if self.hosts[i] == self.host and not _pid_alive(pid)]

    def abort(self, graceful=False):
        if graceful and self._leave(timeout=SHUTDOWN_WAIT):
            return
        # Workers are killed, not disconnected: a dead peer would hang
        # MPI_Comm_disconnect. MPI cannot spawn again in this process.
        _STATE["broken"] = True
        for i, pid in self.pids.items():
            if self.hosts[i] == self.host:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass

    def _leave(self, timeout):
        """Ask every worker to leave; disconnect once all said goodbye."""
        for i in range(self.n_workers):
            self.send(i, TAG_ABORT, None)
        deadline, gone = time.monotonic() + timeout, set()
        while len(gone) < self.n_workers and time.monotonic() < deadline:
            msg = self.recv(timeout=0.05)
            if msg is not None and msg[1] == TAG_REPLY and msg[2][0] == "bye":
                gone.add(msg[0])
            if self.dead_workers():
                return False
        if len(gone) < self.n_workers:
            return False
        self.close()
        return True

    def close(self):
        self.flush(timeout=SHUTDOWN_WAIT)
        self.comm.Disconnect()

    def describe(self, worker):
        pid = self.pids.get(worker)
        return f"worker {worker}" + (f" (pid {pid} on {self.hosts[worker]})"
                                     if pid else "")


def spawn_workers(n_workers, hostfile=None, start_timeout=120.):
    """Spawn ``n_workers`` worker processes; return the root's communicator.

    Raises
    ------
    WorkerError
        If an earlier worker crash broke MPI in this process, or if the
        workers do not start.
    """
    if _STATE["broken"]:
        raise WorkerError(
            "A DICOD worker crashed earlier in this Python process and MPI cannot "
            "start new workers in it. Restart Python (or use backend='local').")
    MPI = _import_mpi(spawning=True)
    info = MPI.Info.Create()
    if hostfile is not None:
        info.Set("hostfile", os.fspath(hostfile))
    args = [WORKER_SCRIPT, str(os.getpid()), socket.gethostname()]
    try:
        with _singleton_spawn(MPI):
            intercomm = MPI.COMM_SELF.Spawn(sys.executable, args=args,
                                            maxprocs=n_workers, info=info)
    except MPI.Exception as exc:
        raise WorkerError(f"MPI could not spawn {n_workers} DICOD workers: "
                          f"{exc}") from exc
    finally:
        info.Free()
    comm = SpawnRootComm(MPI, intercomm)
    comm.wait_hello(start_timeout)
    return comm


class SpawnWorkerComm(_MPIComm):
    """A spawned worker's end: the root through the parent, peers in its world."""

    def __init__(self, root_pid, root_host):
        MPI = _import_mpi()
        self._setup(MPI)
        self.parent = MPI.Comm.Get_parent()
        self.world = MPI.COMM_WORLD
        self.rank = self.world.Get_rank()
        self.n_workers = self.world.Get_size()
        self.root_pid = root_pid
        self.root_local = root_host == socket.gethostname()
        self._comms = [(self.parent, lambda s: ROOT), (self.world, int)]

    def hello(self):
        self.send(ROOT, TAG_REPLY, ("hello", dict(pid=os.getpid(),
                                                  host=socket.gethostname())))

    def send(self, dest, tag, payload):
        if dest == ROOT:
            self._isend(self.parent, 0, tag, payload)
        else:
            self._isend(self.world, dest, tag, payload)

    def recv(self, timeout=None):
        return self._wait(self._comms, timeout)

    def root_alive(self):
        return not self.root_local or _pid_alive(self.root_pid)

    def close(self, say_bye=False):
        """Disconnect from the root; ``say_bye`` after an abort (the root waits).

        Every message sent to the root must have been received before the
        disconnection: MPICH may hand an unreceived one to the next
        intercommunicator.
        """
        if self.root_alive():
            if say_bye:
                self.send(ROOT, TAG_REPLY, ("bye", None))
            if self._flush_while_root_alive(SHUTDOWN_WAIT):
                self.parent.Disconnect()
                return
        os._exit(1)  # orphaned: MPI_Finalize could hang

    def _flush_while_root_alive(self, timeout):
        """Flush, giving up at once if the root dies (a worker never outlives it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.root_alive():
            if self.flush(timeout=0.5):
                return True
        return False


class _WorldComm(_MPIComm):
    """Root (rank 0) or worker (rank i + 1) of an ``mpirun`` job."""

    def __init__(self):
        MPI = _import_mpi()
        self._setup(MPI)
        self.world = MPI.COMM_WORLD
        world_rank = self.world.Get_rank()
        self.rank = ROOT if world_rank == 0 else world_rank - 1
        self.n_workers = self.world.Get_size() - 1
        self._comms = [(self.world, lambda s: ROOT if s == 0 else s - 1)]

    def send(self, dest, tag, payload):
        self._isend(self.world, 0 if dest == ROOT else dest + 1, tag, payload)

    def recv(self, timeout=None):
        return self._wait(self._comms, timeout)

    def close(self):
        self.flush(timeout=SHUTDOWN_WAIT)

    def abort(self, graceful=False):
        # run_mpi aborts the whole job when the error reaches it.
        for i in range(self.n_workers):
            self.send(i, TAG_ABORT, None)

    def describe(self, worker):
        return f"worker {worker} (rank {worker + 1})"


def world_root_comm(n_workers):
    """The root's communicator in an ``mpirun`` job of ``n_workers + 1`` processes."""
    comm = _WorldComm()
    if comm.rank != ROOT:
        raise RuntimeError("world_root_comm must be called on rank 0.")
    if n_workers != comm.n_workers:
        raise ValueError(f"Under mpirun, n_workers must be the number of processes "
                         f"minus one ({comm.n_workers}), got {n_workers}.")
    return comm


def world_worker_comm():
    """A worker's communicator in an ``mpirun`` job (rank > 0)."""
    return _WorldComm()


def world_shutdown(timeout=30.):
    """From rank 0: end the worker ranks of the ``mpirun`` job."""
    comm = _WorldComm()
    for i in range(comm.n_workers):
        comm.send(i, TAG_CMD, ("shutdown", {}))
    deadline, done = time.monotonic() + timeout, set()
    while len(done) < comm.n_workers and time.monotonic() < deadline:
        msg = comm.recv(timeout=0.1)
        if msg is not None and msg[1] == TAG_REPLY and msg[2][0] == "shutdown":
            done.add(msg[0])
    comm.flush(timeout=5.)


def world_abort(code=1):
    """Abort the whole ``mpirun`` job."""
    _import_mpi().COMM_WORLD.Abort(code)
