"""The ``cdl`` command line: argument parsing only, the work is in the API."""
import argparse
import sys
from pathlib import Path

from . import __version__


def main(argv=None):
    """Entry point of the ``cdl`` console script; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("cdl: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"cdl {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="cdl", description="Convolutional dictionary learning for M/EEG.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cdl {__version__}")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser(
        "demo", help="learn atoms on a simulated 64-channel EEG recording",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo.add_argument("--out", default="cdl_output/demo", help="output folder")
    demo.add_argument("--duration", type=float, default=60., help="seconds simulated")
    demo.add_argument("--sfreq", type=float, default=160., help="sampling rate (Hz)")
    demo.add_argument("--n-iter", type=int, default=30, help="CDL iterations")
    demo.add_argument("--reg", type=float, default=0.2,
                      help="regularisation as a fraction of lambda_max")
    demo.add_argument("--random-state", type=int, default=0, help="seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_run_demo)
    return parser


def _run_demo(args):
    from .demo import run_demo
    run_demo(out_dir=Path(args.out), duration=args.duration, sfreq=args.sfreq,
             n_iter=args.n_iter, reg=args.reg, random_state=args.random_state,
             verbose=not args.quiet)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
