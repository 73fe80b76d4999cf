"""The ``cdl`` command line: argument parsing and printing; the work is in the API.

Commands: ``demo``, ``fit``, ``encode``, ``report``, ``dripp`` (see ``cdl
COMMAND --help``). Bad input ends with exit code 1 and one line on stderr;
``cdl --traceback COMMAND ...`` shows the full traceback instead.
"""
import argparse
import sys
import warnings
from pathlib import Path

from . import __version__



class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except the empty ones (None, False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


_FORMATTER = _Formatter


def main(argv=None):
    """Entry point of the ``cdl`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args.func(args)
    except KeyboardInterrupt:
        print("cdl: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for the user, not a traceback
        if args.traceback:
            raise
        print(f"cdl {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


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


# -- argument types --------------------------------------------------------------
def _optional_float(text):
    if text.strip().lower() in ("none", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got "
                                         f"{text!r}") from None


def _float_list(text):
    if text.strip().lower() in ("none", ""):
        return None
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas "
                                         f"or 'none', got {text!r}") from None


def _str_list(text):
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected at least one name")
    return items


def _picks(text):
    items = _str_list(text)
    return items[0] if len(items) == 1 else items


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# -- parser ----------------------------------------------------------------------
def build_parser():
    """The argument parser of the ``cdl`` command."""
    parser = argparse.ArgumentParser(
        prog="cdl", description="Convolutional dictionary learning for M/EEG: "
        "find recurring waveforms (atoms), when they occur, and how stimuli "
        "drive them.", formatter_class=_FORMATTER)
    parser.add_argument("--version", action="version", version=f"cdl {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
    _add_fit(commands)
    _add_encode(commands)
    _add_report(commands)
    _add_dripp(commands)
    return parser


def _add_demo(commands):
    demo = commands.add_parser(
        "demo", help="learn atoms on a simulated 64-channel EEG recording",
        formatter_class=_FORMATTER)
    demo.add_argument("--out", default="cdl_output/demo", help="output folder")
    demo.add_argument("--duration", type=float, default=60., help="seconds simulated")
    demo.add_argument("--sfreq", type=float, default=160., help="sampling rate (Hz)")
    demo.add_argument("--n-iter", type=_positive_int, default=30,
                      help="CDL iterations")
    demo.add_argument("--reg", type=float, default=0.2,
                      help="regularisation as a fraction of lambda_max")
    demo.add_argument("--random-state", type=int, default=0, help="seed")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_run_demo)


def _add_preprocessing(sub):
    group = sub.add_argument_group("preprocessing")
    group.add_argument("--picks", type=_picks, default="data", metavar="NAMES",
                       help="channel types or names, comma-separated "
                            "('data': all data channels)")
    group.add_argument("--l-freq", type=_optional_float, default=1., metavar="HZ",
                       help="high-pass edge in Hz ('none': no high-pass)")
    group.add_argument("--h-freq", type=_optional_float, default=None, metavar="HZ",
                       help="low-pass edge in Hz")
    group.add_argument("--notch", type=_float_list, default=None, metavar="HZ",
                       help="line-noise frequencies in Hz, comma-separated")
    group.add_argument("--sfreq", type=_optional_float, default=None, metavar="HZ",
                       help="resample to this rate in Hz")
    group.add_argument("--montage", default="auto", metavar="NAME",
                       help="electrode montage when the file has none: 'auto' "
                            "(match names to the 10-05 montage), 'none', or an "
                            "MNE montage name")


def _add_fit(commands):
    fit = commands.add_parser(
        "fit", help="learn atoms and their activations on a recording",
        description="Learn rank-1 atoms (spatial pattern x waveform) on a "
        "recording any MNE reader opens (EDF, BDF, FIF, BrainVision, EEGLAB); "
        "write model.npz, activations-annot.fif/.txt, activations-eve.fif and "
        "report.html.", formatter_class=_FORMATTER)
    fit.add_argument("recording", help="recording file")
    model = fit.add_argument_group("model")
    model.add_argument("--n-atoms", type=_positive_int, default=8, metavar="N",
                       help="number of atoms")
    model.add_argument("--atom-duration", type=float, default=0.5, metavar="SECONDS",
                       help="atom length in seconds")
    model.add_argument("--reg", type=float, default=0.2, metavar="FRACTION",
                       help="regularisation as a fraction of lambda_max")
    model.add_argument("--n-iter", type=_positive_int, default=30, metavar="N",
                       help="maximum number of iterations")
    model.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the initialisation")
    model.add_argument("--backend", choices=("local", "mpi"), default="local",
                       help="z-step in this process or distributed with DICOD "
                            "(MPI)")
    model.add_argument("--n-workers", type=_positive_int, default=None, metavar="N",
                       help="MPI workers of the 'mpi' backend")
    _add_preprocessing(fit)
    fit.add_argument("--out", default=None, metavar="DIR",
                     help="output folder (default: cdl_output/<recording name>)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(func=_run_fit)


def _add_encode(commands):
    encode = commands.add_parser(
        "encode", help="activations of a saved model on a new recording",
        description="Preprocess RECORDING as the model's recording was, "
        "compute the activations of the model's atoms and write them as "
        "annotations and events, with a report.", formatter_class=_FORMATTER)
    encode.add_argument("model", help="model file (model.npz from cdl fit)")
    encode.add_argument("recording", help="recording file")
    encode.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: encode-<recording name> "
                             "next to the model)")
    encode.add_argument("--quiet", action="store_true", help="no log messages")
    encode.set_defaults(func=_run_encode)


def _add_report(commands):
    report = commands.add_parser(
        "report", help="HTML report of a saved model",
        description="Write report.html for a model; with RECORDING, add the "
        "signal averaged on atom occurrences (the recording is encoded if it "
        "is not the one the model was fitted on).", formatter_class=_FORMATTER)
    report.add_argument("model", help="model file")
    report.add_argument("recording", nargs="?", default=None,
                        help="recording file (optional)")
    report.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: the model's folder)")
    report.add_argument("--quiet", action="store_true", help="no log messages")
    report.set_defaults(func=_run_report)


def _add_dripp(commands):
    dripp = commands.add_parser(
        "dripp", help="how the recording's annotations drive each atom (DriPP)",
        description="Fit a driven point process (Allain et al. 2022) of every "
        "atom's occurrences against every annotation type (e.g. the T0/T1/T2 "
        "cues of EEGBCI): baseline, strength alpha, latency m and jitter sigma, "
        "with bootstrap confidence intervals and likelihood-ratio p-values; "
        "write dripp.csv and report.html with a DriPP section.",
        formatter_class=_FORMATTER)
    dripp.add_argument("model", help="model file")
    dripp.add_argument("recording", help="recording file with annotations")
    dripp.add_argument("--drivers", type=_str_list, default=None, metavar="NAMES",
                       help="annotation types to use, comma-separated "
                            "(default: all but BAD/EDGE)")
    dripp.add_argument("--lower", type=float, default=0.03, metavar="SECONDS",
                       help="kernel support start, s after each driver event")
    dripp.add_argument("--upper", type=float, default=0.8, metavar="SECONDS",
                       help="kernel support end, s after each driver event")
    dripp.add_argument("--percentile", type=float, default=0., metavar="Q",
                       help="keep activation peaks above this percentile")
    dripp.add_argument("--n-boot", type=int, default=100, metavar="N",
                       help="bootstrap replicates (0: no confidence intervals)")
    dripp.add_argument("--null", choices=("chi2", "chibar", "bootstrap"),
                       default="chi2",
                       help="null distribution of the likelihood-ratio tests: "
                            "chi2 is fast and slightly liberal, bootstrap is "
                            "calibrated and slower")
    dripp.add_argument("--n-null", type=_positive_int, default=99, metavar="N",
                       help="simulations of the bootstrap null")
    dripp.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the bootstraps")
    dripp.add_argument("--out", default=None, metavar="DIR",
                       help="output folder (default: the model's folder)")
    dripp.add_argument("--quiet", action="store_true", help="no log messages")
    dripp.set_defaults(func=_run_dripp)


# -- commands ----------------------------------------------------------------------
def _run_demo(args):
    from .demo import run_demo
    run_demo(out_dir=Path(args.out), duration=args.duration, sfreq=args.sfreq,
             n_iter=args.n_iter, reg=args.reg, random_state=args.random_state,
             verbose=not args.quiet)


def _load_options(args):
    montage = None if args.montage.lower() == "none" else args.montage
    return dict(picks=args.picks, l_freq=args.l_freq, h_freq=args.h_freq,
                notch=args.notch, sfreq=args.sfreq, montage=montage)


def _run_fit(args):
    import time

    from . import pipeline
    from ._logging import use_log_level

    path = Path(args.recording)
    out = Path(args.out) if args.out else Path("cdl_output") / path.stem
    options = _load_options(args)
    with use_log_level("WARNING" if args.quiet else "INFO"):
        pipeline.backend_kwargs(args.backend, args.n_workers)  # fail early
        with use_log_level("WARNING"):
            recording = pipeline.load_for_cdl(path, **options)
        pipeline.n_times_atom_of(args.atom_duration, recording)
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        model = pipeline.fit_recording(
            recording, n_atoms=args.n_atoms, atom_duration=args.atom_duration,
            reg=args.reg, n_iter=args.n_iter, random_state=args.random_state,
            backend=args.backend, n_workers=args.n_workers,
            verbose=not args.quiet)
        elapsed = time.perf_counter() - start
        metadata = pipeline.model_metadata(recording, options,
                                           atom_duration=args.atom_duration)
        written = [pipeline.save_fitted(model, out / "model.npz", metadata)]
        written += pipeline.write_outputs(out, model, recording,
                                          model.z_hat_).values()
        written.append(_save_report(model, recording, model.z_hat_, path, out,
                                    title=f"cdl fit: {path.name}"))
    print(f"Fitted {args.n_atoms} atoms of {args.atom_duration:g} s on "
          f"{path.name} ({recording.X.shape[1]} channels, "
          f"{recording.X.shape[0] * recording.X.shape[2] / recording.sfreq:g} s) "
          f"in {elapsed:.1f} s, {model.n_iter_} iterations")
    _print_atoms(model, recording.sfreq, model.z_hat_)
    _print_written(written)


def _save_report(model, recording, z, path, out, title, dripp=None):
    import matplotlib

    matplotlib.use("Agg")
    from . import pipeline
    from ._logging import logger
    from .report import add_dripp_section, make_report

    logger.info("Writing the report (%d atoms)", model.u_hat_.shape[0])
    report = make_report(model, title=title, info=recording.info, X=recording.X,
                         z=z, data_summary=pipeline.data_summary(recording, path),
                         preprocessing=recording.preprocessing)
    if dripp is not None:
        add_dripp_section(report, dripp["dripp"], dripp["driver_names"],
                          lrt=dripp["lrt"], ci=dripp["ci"])
    fname = out / "report.html"
    report.save(fname, overwrite=True, open_browser=False, verbose=False)
    return fname


def _model_and_recording(args):
    from . import pipeline

    model, metadata = pipeline.load_model(args.model)
    recording = pipeline.load_like_model(model, metadata, args.recording)
    z, encoded = pipeline.activations_of(model, metadata, recording)
    return model, recording, z, encoded


def _run_encode(args):
    from . import pipeline
    from ._logging import use_log_level

    path = Path(args.recording)
    out = Path(args.out) if args.out else \
        Path(args.model).parent / f"encode-{path.stem}"
    with use_log_level("WARNING" if args.quiet else "INFO"):
        model, metadata = pipeline.load_model(args.model)
        recording = pipeline.load_like_model(model, metadata, path)
        z = model.transform(recording.X)
        out.mkdir(parents=True, exist_ok=True)
        written = list(pipeline.write_outputs(out, model, recording, z).values())
        written.append(_save_report(model, recording, z, path, out,
                                    title=f"cdl encode: {path.name}"))
    print(f"Encoded {path.name} with the {model.u_hat_.shape[0]} atoms of "
          f"{args.model}")
    _print_atoms(model, recording.sfreq, z)
    _print_written(written)


def _run_report(args):
    from ._logging import use_log_level

    out = Path(args.out) if args.out else Path(args.model).parent
    with use_log_level("WARNING" if args.quiet else "INFO"):
        if args.recording is None:
            fname = _report_without_recording(args.model, out)
        else:
            model, recording, z, _ = _model_and_recording(args)
            out.mkdir(parents=True, exist_ok=True)
            fname = _save_report(model, recording, z, Path(args.recording), out,
                                 title=f"cdl report: {Path(args.recording).name}")
    _print_written([fname])


def _report_without_recording(model_fname, out):
    import matplotlib

    matplotlib.use("Agg")
    from . import pipeline
    from .report import make_report

    model, metadata = pipeline.load_model(model_fname)
    summary = {k: metadata[k] for k in ("recording", "sfreq", "n_trials",
                                        "n_times") if k in metadata}
    report = make_report(model, title=f"cdl report: {Path(model_fname).name}",
                         data_summary=summary or None,
                         preprocessing=metadata.get("load_options"))
    out.mkdir(parents=True, exist_ok=True)
    fname = out / "report.html"
    report.save(fname, overwrite=True, open_browser=False, verbose=False)
    return fname


def _run_dripp(args):
    import csv

    from . import pipeline
    from ._logging import use_log_level
    from .report import dripp_table

    out = Path(args.out) if args.out else Path(args.model).parent
    with use_log_level("WARNING" if args.quiet else "INFO"):
        model, recording, z, _ = _model_and_recording(args)
        pipeline.driver_names_of(recording.annotations, args.drivers)  # early
        result = pipeline.run_dripp(
            recording, z, drivers=args.drivers, lower=args.lower,
            upper=args.upper, percentile=args.percentile, n_boot=args.n_boot,
            null=args.null, n_null=args.n_null, random_state=args.random_state)
        rows = dripp_table(result["dripp"], result["driver_names"],
                           result["lrt"], result["ci"])
        out.mkdir(parents=True, exist_ok=True)
        table = out / "dripp.csv"
        with open(table, "w", newline="") as fid:
            writer = csv.DictWriter(fid, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        report = _save_report(model, recording, z, Path(args.recording), out,
                              title=f"cdl dripp: {Path(args.recording).name}",
                              dripp=result)
    _print_rows(rows)
    _print_written([table, report])


# -- printing ----------------------------------------------------------------------
def _print_atoms(model, sfreq, z):
    from .report import BANDS, activation_counts, atom_features

    rows = []
    for count, feature in zip(activation_counts(z, sfreq),
                              atom_features(model, sfreq=sfreq)):
        band = max(BANDS, key=lambda b: feature[b])
        rows.append(dict(atom=count["atom"], occurrences=count["occurrences"],
                         rate_per_s=count["rate_per_s"],
                         top_channels=feature["top_channels"],
                         peak_hz=feature["peak_hz"],
                         main_band=f"{band} ({feature[band]:.0%})"))
    _print_rows(rows)


def _print_rows(rows):
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(_cell(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.rjust(widths[k]) for k in keys))
    for row in rows:
        print("  ".join(_cell(row[k]).rjust(widths[k]) for k in keys))


def _cell(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _print_written(fnames):
    print("Wrote " + ", ".join(str(f) for f in fnames))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
