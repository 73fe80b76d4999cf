"""Package logger, ``verbose`` decorator and user-facing warnings (MNE style)."""
import contextlib
import functools
import inspect
import logging
import warnings

from .docs import fill_doc

logger = logging.getLogger("cdl")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False

_LEVELS = dict(DEBUG=logging.DEBUG, INFO=logging.INFO, WARNING=logging.WARNING,
               ERROR=logging.ERROR, CRITICAL=logging.CRITICAL)


def _to_level(verbose):
    if verbose is None:
        return logger.level
    if isinstance(verbose, bool):
        return logging.INFO if verbose else logging.WARNING
    if isinstance(verbose, str):
        try:
            return _LEVELS[verbose.upper()]
        except KeyError:
            raise ValueError(
                f"verbose must be a bool, an int or one of {sorted(_LEVELS)}, "
                f"got {verbose!r}") from None
    if isinstance(verbose, int):
        # alphacsc-style integers: > 0 means informative output.
        if verbose <= 0:
            return logging.WARNING
        return logging.DEBUG if verbose > 10 else logging.INFO
    raise TypeError(f"verbose must be None, bool, int or str, got {type(verbose)}")


def set_log_level(verbose=None):
    """Set the level of the ``cdl`` logger.

    Parameters
    ----------
    verbose : bool | int | str | None
        ``True``/``'INFO'`` shows progress, ``False``/``'WARNING'`` hides it.
    """
    logger.setLevel(_to_level(verbose))


@contextlib.contextmanager
def use_log_level(verbose):
    """Set the level of the ``cdl`` logger for the duration of a ``with`` block.

    Parameters
    ----------
    verbose : bool | int | str | None
        Level inside the block, as in :func:`set_log_level`: ``True`` or
        ``'INFO'`` shows progress, ``False`` or ``'WARNING'`` hides it;
        None keeps the current level. The previous level comes back when
        the block ends, even on an exception.

    Yields
    ------
    None
        Nothing: use it as ``with use_log_level(False): ...``.
    """
    old = logger.level
    logger.setLevel(_to_level(verbose))
    try:
        yield
    finally:
        logger.setLevel(old)


def verbose(func):
    """Decorate ``func`` so that its ``verbose`` argument sets the log level."""
    signature = inspect.signature(func)

    fill_doc(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = signature.bind_partial(*args, **kwargs)
        level = bound.arguments.get("verbose")
        if level is None:
            return func(*args, **kwargs)
        with use_log_level(level):
            return func(*args, **kwargs)

    return wrapper


def show_progress():
    """Whether progress bars should be drawn at the current log level."""
    return logger.isEnabledFor(logging.INFO)


def warn(message, category=RuntimeWarning):
    """Warn so that the warning points at the user's line, and log it."""
    frame = inspect.currentframe()
    stacklevel = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not (module.startswith("cdl") or module.startswith("dicod")):
            break
        stacklevel += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=stacklevel)
