"""Ctrl-C inside compiled code.

A Ctrl-C received while a Numba function runs is raised when that function
returns; if it returns arrays, the KeyboardInterrupt fires inside Numba's
conversion of the result and reaches the caller as a SystemError whose cause
is the KeyboardInterrupt. These helpers give it back its real name.
"""
import contextlib


def is_interrupt(err):
    """Whether ``err`` is a Ctrl-C, possibly wrapped by Numba in a SystemError."""
    if isinstance(err, KeyboardInterrupt):
        return True
    return isinstance(err, SystemError) and isinstance(
        err.__cause__ or err.__context__, KeyboardInterrupt)


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt():
    """Re-raise a Ctrl-C wrapped in a SystemError as KeyboardInterrupt."""
    try:
        yield
    except SystemError as err:
        if is_interrupt(err):
            raise KeyboardInterrupt from None
        raise


def stop_process_workers():
    """Kill the workers of joblib's reusable loky executor, if it has any.

    joblib does so itself when Ctrl-C lands inside ``Parallel``; a Ctrl-C
    between two parallel z-steps (e.g. in the d-step) would otherwise leave
    the idle workers alive until loky's timeout.
    """
    from joblib.externals.loky import reusable_executor
    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None and not executor._flags.shutdown:
        executor.shutdown(wait=True, kill_workers=True)
