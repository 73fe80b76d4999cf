"""The entry point of the ``cdl`` command: run a command, report errors.

Commands: ``demo``, ``fit``, ``encode``, ``report``, ``dripp`` (see ``cdl
COMMAND --help``). Bad input ends with exit code 1 and one line on stderr;
``cdl --traceback COMMAND ...`` shows the full traceback instead. Ctrl-C
ends with exit code 130; a fit cut short by it writes the model learned so
far and says so.
"""
import sys
import warnings

from .parser import (
    build_parser,
)


def main(argv=None):
    """Entry point of the ``cdl`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if _distributed_fit(args):
        # Under ``mpirun -n N cdl fit ... --backend mpi`` rank 0 fits and the
        # other ranks serve as DICOD workers until it is done.
        from dicod import run_mpi
        return run_mpi(_run, args)
    return _run(args)


def _distributed_fit(args):
    if args.command != "fit" or args.backend == "local":
        return False
    from dicod import world_size  # reads the environment; no MPI started
    return world_size() > 1


def _run(args):
    """Run the command; the exit code (one line on stderr on error)."""
    from cdl.utils.compiling import report_compilation
    try:
        with warnings.catch_warnings(), \
                report_compilation(enabled=not getattr(args, "quiet", False)):
            warnings.showwarning = _show_warning
            code = args.func(args)
    except KeyboardInterrupt:
        print("cdl: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for the user, not a traceback
        if args.traceback:
            raise
        print(f"cdl {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    return code or 0


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Print warnings on one line, without the source line."""
    text = " ".join(str(message).split())
    print(f"cdl: {category.__name__}: {text}", file=sys.stderr)


def _one_line(err):
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    message = lines[0] if lines else ""
    if not isinstance(err, (ValueError, TypeError, OSError)):
        # not an anticipated input problem: name it and say how to see more
        message = f"{type(err).__name__}: {message} (details: cdl --traceback ...)"
    return message or type(err).__name__
