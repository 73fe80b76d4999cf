"""Child processes that a test interrupts with SIGINT (a Ctrl-C).

A shell without job control starts background commands with SIGINT ignored
(e.g. ``make test &`` in a script, or under ``nohup``), children inherit that,
and Python then never raises KeyboardInterrupt. The tests that send SIGINT
start their children with the default disposition, as a terminal would.
"""
import signal


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: ``subprocess.Popen`` keyword arguments for a child a test interrupts.
INTERRUPTIBLE = dict(preexec_fn=_default_sigint)
