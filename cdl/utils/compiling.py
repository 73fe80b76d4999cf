"""Say when Numba compiles the kernels, and how long it took.

The compiled kernels are cached next to their sources (``__pycache__``): the
first run after an install (or a change of the kernels) compiles those it
uses, later runs load them in milliseconds. Without a word, that first run
just looks slow. :func:`report_compilation` prints one line when the first
kernel of ``cdl`` or ``dicod`` starts compiling and one with the time spent
when the block ends; nothing when everything came from the cache.
"""
import contextlib
import sys
import time

PACKAGES = ("cdl.", "dicod.")


def _write(message, file):
    try:
        from tqdm import tqdm
        tqdm.write(message, file=file)  # keeps a progress bar intact
    except ImportError:  # pragma: no cover (tqdm is a dependency)
        print(message, file=file, flush=True)


class _Listener:
    """Times the outermost Numba compilations (nested ones are inside)."""

    def __init__(self, file, prefix):
        self.file = file
        self.prefix = prefix
        self.depth = 0
        self.start = None
        self.seconds = 0.
        self.announced = False

    def on_start(self, event):
        if self.depth == 0:
            self.start = time.perf_counter()
            name = event.data["dispatcher"].py_func.__module__ + "."
            if not self.announced and name.startswith(PACKAGES):
                self.announced = True
                _write(f"{self.prefix}compiling kernels (first run only, cached "
                       f"for the next runs)...", self.file)
        self.depth += 1

    def on_end(self, event):
        self.depth -= 1
        if self.depth == 0 and self.start is not None:
            self.seconds += time.perf_counter() - self.start
            self.start = None


@contextlib.contextmanager
def report_compilation(enabled=True, file=None, prefix="cdl: "):
    """Report the compilation of kernels that happens inside the block.

    Parameters
    ----------
    enabled : bool
        False: do nothing (e.g. ``--quiet``).
    file : file-like | None
        Where to write (default: standard error).
    prefix : str
        Start of each line.

    Yields
    ------
    listener : object | None
        Its ``seconds`` attribute is the compile time so far (None if not
        enabled).
    """
    if not enabled:
        yield None
        return
    from numba.core import event

    listener = _Listener(sys.stderr if file is None else file, prefix)
    handler = type("_Handler", (event.Listener,), dict(
        on_start=lambda self, ev: listener.on_start(ev),
        on_end=lambda self, ev: listener.on_end(ev)))()
    event.register("numba:compile", handler)
    try:
        yield listener
    finally:
        event.unregister("numba:compile", handler)
        if listener.announced:
            _write(f"{prefix}compiled kernels in {listener.seconds:.1f} s (first "
                   f"run only)", listener.file)
