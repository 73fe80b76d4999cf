"""Child processes of the tests: interrupting them, finding those left behind.

A shell without job control starts background commands with SIGINT ignored
(e.g. ``make test &`` in a script, or under ``nohup``), children inherit that,
and Python then never raises KeyboardInterrupt. The tests that send SIGINT
start their children with the default disposition, as a terminal would.

The MPI tests tag every process they start with an environment variable and
scan ``/proc`` for it to check that nothing outlives a run.
"""
import os
import signal
import time


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: ``subprocess.Popen`` keyword arguments for a child a test interrupts.
INTERRUPTIBLE = dict(preexec_fn=_default_sigint)


def tagged_processes(name, value):
    """Live processes (zombies and this one excluded) whose environment holds
    ``name=value``."""
    found = []
    needle = f"{name}={value}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in env:
            found.append(int(entry))
    return found


def kill(pids):
    """SIGKILL each process of ``pids`` that still exists."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def assert_none_left(name, value, wait):
    """Give the processes tagged ``name=value`` ``wait`` seconds to end (a busy
    machine may reap them late), then kill the ones left and fail."""
    deadline = time.monotonic() + wait
    while tagged_processes(name, value) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = tagged_processes(name, value)
    kill(left)
    assert not left, f"processes left behind after {wait:g} s: {left}"
