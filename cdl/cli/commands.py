"""What the ``cdl`` commands do, given their parsed arguments (see :mod:`cdl.cli`).

Each ``run_<command>(args)`` calls :mod:`cdl.pipeline`, writes the outputs and
prints a short summary on stdout; it returns the exit code (None: 0). Errors
propagate to :func:`cdl.cli.main`, which prints them on one line. No command
writes into a folder holding an earlier result unless ``--overwrite`` is
given (:mod:`cdl.pipeline.outputs`).
"""
import csv
import time
from pathlib import Path

from cdl import pipeline
from cdl.pipeline.demo import run_demo as demo
from cdl.report.tables import dripp_display, dripp_table
from cdl.utils.log import use_log_level

from .printing import print_atoms, print_notes, print_rows, print_written

#: Exit code of a fit cut short by Ctrl-C (its model is written).
EXIT_INTERRUPTED = 130


def run_demo(args):
    """Run ``cdl demo``."""
    demo(out_dir=Path(args.out), duration=args.duration, sfreq=args.sfreq,
         n_iter=args.n_iter, reg=args.reg, random_state=args.random_state,
         verbose=not args.quiet)


def _load_options(args):
    montage = None if args.montage.lower() == "none" else args.montage
    return dict(picks=args.picks, reference=args.reference, proj=not args.no_proj,
                l_freq=args.l_freq, h_freq=args.h_freq, notch=args.notch,
                sfreq=args.sfreq, montage=montage, scaling=args.scaling)


def _log_level(args):
    return use_log_level("WARNING" if args.quiet else "INFO")


def run_fit(args):
    """Run ``cdl fit``; 130 when the fit was interrupted."""
    path = Path(args.recording)
    out = Path(args.out) if args.out else Path("cdl_output") / path.stem
    options = _load_options(args)
    with _log_level(args):
        pipeline.check_output(out, "fit", args.overwrite)  # fail early
        pipeline.backend_kwargs(args.backend, args.n_workers)
        with use_log_level("WARNING"):
            recording = pipeline.load_for_cdl(path, **options)
        pipeline.check_fit_settings(recording, args.n_atoms, args.atom_duration,
                                    args.reg)
        pipeline.prepare_output(out, "fit", args.overwrite)
        start = time.perf_counter()
        model = pipeline.fit_recording(
            recording, n_atoms=args.n_atoms, atom_duration=args.atom_duration,
            reg=args.reg, n_iter=args.n_iter, random_state=args.random_state,
            backend=args.backend, n_workers=args.n_workers,
            revive_atoms=args.revive_atoms, verbose=not args.quiet)
        elapsed = time.perf_counter() - start
        metadata = pipeline.model_metadata(recording, options,
                                           atom_duration=args.atom_duration,
                                           interrupted=model.interrupted_)
        written = _write_fit(model, metadata, recording, path, out)
    _print_fit(args, path, recording, model, elapsed)
    print_written(written)
    return _fit_exit(model)


def _write_fit(model, metadata, recording, path, out):
    written = [pipeline.save_fitted(model, out / "model.npz", metadata)]
    written += pipeline.write_outputs(out, model, recording, model.z_hat_).values()
    written.append(pipeline.folder_report(model, metadata, out,
                                          f"cdl fit: {path.name}", recording,
                                          model.z_hat_, path))
    return written


def _print_fit(args, path, recording, model, elapsed):
    n_trials, _, n_times = recording.X.shape
    print(f"Fitted {args.n_atoms} atoms of {args.atom_duration:g} s on "
          f"{path.name} ({pipeline.channel_counts(recording.info)}; "
          f"{n_trials * n_times / recording.sfreq:g} s) in {elapsed:.1f} s, "
          f"{model.n_iter_} iterations")
    print_atoms(model, recording.sfreq, model.z_hat_, info=recording.info)


def _fit_exit(model):
    if not model.interrupted_:
        return None
    print(f"Interrupted (Ctrl-C) after {model.n_iter_} of {model.n_iter} "
          f"iterations: the model learned so far is written; the report says "
          f"so.")
    return EXIT_INTERRUPTED


def run_encode(args):
    """Run ``cdl encode``."""
    path = Path(args.recording)
    out = Path(args.out) if args.out else \
        Path(args.model).parent / f"encode-{path.stem}"
    with _log_level(args):
        pipeline.check_output(out, "encode", args.overwrite)
        model, metadata = pipeline.load_model(args.model)
        recording = pipeline.load_like_model(model, metadata, path)
        z = model.transform(recording.X)
        pipeline.prepare_output(out, "encode", args.overwrite)
        written = list(pipeline.write_outputs(out, model, recording, z).values())
        written.append(pipeline.folder_report(
            model, metadata, out, f"cdl encode: {path.name}", recording, z,
            path))
    print(f"Encoded {path.name} with the {model.u_hat_.shape[0]} atoms of "
          f"{args.model}")
    print_atoms(model, recording.sfreq, z, info=recording.info)
    print_written(written)


def _model_and_recording(model_file, recording_file):
    model, metadata = pipeline.load_model(model_file)
    recording = pipeline.load_like_model(model, metadata, recording_file)
    z, _ = pipeline.activations_of(model, metadata, recording)
    return model, metadata, recording, z


def run_report(args):
    """Run ``cdl report``: the full report of what the folder holds."""
    out = Path(args.out) if args.out else Path(args.model).parent
    with _log_level(args):
        pipeline.check_output(out, "report", args.overwrite)
        model, metadata = pipeline.load_model(args.model)
        path = _report_recording(args.recording, metadata)
        recording = z = None
        if path is not None:
            model, metadata, recording, z = _model_and_recording(args.model, path)
        pipeline.prepare_output(out, "report", args.overwrite)
        name = Path(path).name if path else Path(args.model).name
        fname = pipeline.folder_report(model, metadata, out,
                                       f"cdl report: {name}", recording, z, path,
                                       source_dir=Path(args.model).parent)
    print_written([fname])


def _report_recording(given, metadata):
    """The recording of the report: the one given, else the fitted one if it
    is still on disk, else None."""
    if given is not None:
        return Path(given)
    fitted = metadata.get("recording")
    return Path(fitted) if fitted and Path(fitted).is_file() else None


def run_dripp(args):
    """Run ``cdl dripp``."""
    out = Path(args.out) if args.out else Path(args.model).parent
    with _log_level(args):
        pipeline.check_output(out, "dripp", args.overwrite)
        model, metadata, recording, z = _model_and_recording(args.model,
                                                             args.recording)
        pipeline.driver_names_of(recording.annotations, args.drivers)  # early
        result = pipeline.run_dripp(
            recording, z, v=model.v_hat_, drivers=args.drivers, lower=args.lower,
            upper=args.upper, percentile=args.percentile, n_boot=args.n_boot,
            null=args.null, n_null=args.n_null, random_state=args.random_state)
        rows = dripp_table(result["dripp"], result["driver_names"],
                           result["lrt"], result["ci"])
        pipeline.prepare_output(out, "dripp", args.overwrite)
        written = [_write_csv(out / "dripp.csv", rows),
                   pipeline.save_dripp(out / pipeline.DRIPP_FILE, result,
                                       str(args.recording))]
        written.append(pipeline.folder_report(
            model, metadata, out, f"cdl dripp: {Path(args.recording).name}",
            recording, z, Path(args.recording), dripp=result))
    print_rows(dripp_display(rows))
    print_notes(result["support"]["notes"], rows)
    print_written(written)


def _write_csv(fname, rows):
    with open(fname, "w", newline="") as fid:
        writer = csv.DictWriter(fid, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return fname
