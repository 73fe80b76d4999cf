"""What the ``cdl`` commands do, given their parsed arguments (see :mod:`cdl.cli`).

Each ``run_<command>(args)`` calls :mod:`cdl.pipeline`, writes the outputs and
prints a short summary on stdout; errors propagate to :func:`cdl.cli.main`,
which prints them on one line.
"""
import csv
import time
from pathlib import Path

from cdl import pipeline
from cdl.pipeline.demo import run_demo as demo
from cdl.report.build import add_dripp_section, make_report
from cdl.report.tables import dripp_table
from cdl.utils.log import logger, use_log_level

from .printing import print_atoms, print_rows, print_written


def run_demo(args):
    """Run ``cdl demo``."""
    demo(out_dir=Path(args.out), duration=args.duration, sfreq=args.sfreq,
             n_iter=args.n_iter, reg=args.reg, random_state=args.random_state,
             verbose=not args.quiet)


def _load_options(args):
    montage = None if args.montage.lower() == "none" else args.montage
    return dict(picks=args.picks, l_freq=args.l_freq, h_freq=args.h_freq,
                notch=args.notch, sfreq=args.sfreq, montage=montage)


def run_fit(args):
    """Run ``cdl fit``."""


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
    print_atoms(model, recording.sfreq, model.z_hat_)
    print_written(written)


def _save_report(model, recording, z, path, out, title, dripp=None):
    import matplotlib

    matplotlib.use("Agg")

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

    model, metadata = pipeline.load_model(args.model)
    recording = pipeline.load_like_model(model, metadata, args.recording)
    z, encoded = pipeline.activations_of(model, metadata, recording)
    return model, recording, z, encoded


def run_encode(args):
    """Run ``cdl encode``."""

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
    print_atoms(model, recording.sfreq, z)
    print_written(written)


def run_report(args):
    """Run ``cdl report``."""

    out = Path(args.out) if args.out else Path(args.model).parent
    with use_log_level("WARNING" if args.quiet else "INFO"):
        if args.recording is None:
            fname = _report_without_recording(args.model, out)
        else:
            model, recording, z, _ = _model_and_recording(args)
            out.mkdir(parents=True, exist_ok=True)
            fname = _save_report(model, recording, z, Path(args.recording), out,
                                 title=f"cdl report: {Path(args.recording).name}")
    print_written([fname])


def _report_without_recording(model_fname, out):
    import matplotlib

    matplotlib.use("Agg")

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


def run_dripp(args):
    """Run ``cdl dripp``."""


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
    print_rows(rows)
    print_written([table, report])
