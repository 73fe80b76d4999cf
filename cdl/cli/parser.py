"""The argument parser of the ``cdl`` command."""
import argparse

from cdl._version import __version__


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except the empty ones (None, False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False \
                or isinstance(action, argparse._StoreFalseAction):
            return action.help
        return super()._get_help_string(action)


_FORMATTER = _Formatter


# -- argument types --------------------------------------------------------------
def _optional_float(text):
    if text.strip().lower() in ("none", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got "
                                         f"{text!r}") from None


def _l_freq(text):
    if text.strip().lower() == "auto":
        return "auto"
    return _optional_float(text)


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


def _reference(text):
    if text.lower() == "none":
        return None
    if text.lower() == "average":
        return "average"
    return _str_list(text)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _command(name):
    """The runner of command ``name``, imported only when it runs (it imports
    MNE, the estimators and matplotlib: ``cdl --help`` stays fast)."""
    def run(args):
        from . import commands
        return getattr(commands, f"run_{name}")(args)
    return run


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
    demo.set_defaults(func=_command("demo"))


def _add_preprocessing(sub):
    group = sub.add_argument_group("preprocessing")
    group.add_argument("--picks", type=_picks, default="data", metavar="NAMES",
                       help="channel types or names, comma-separated, e.g. "
                            "'grad' or 'mag,grad' ('data': the MEG and EEG "
                            "data channels, never reference, stim, EOG, ECG "
                            "or misc channels)")
    group.add_argument("--reference", type=_reference, default="average",
                       metavar="REF",
                       help="EEG reference: 'average' (the mean of the EEG "
                            "channels; MEG is not changed), 'none' (as "
                            "recorded) or channel names, comma-separated. "
                            "Without it, the reference electrode's activity "
                            "(about 2/3 of the variance of the EEGBCI runs) "
                            "gives every atom the same spatial pattern")
    group.add_argument("--no-proj", action="store_true",
                       help="leave the recording's SSP projectors (e.g. "
                            "Neuromag's empty-room projectors) unapplied; by "
                            "default they are applied, as mne.Epochs does")
    group.add_argument("--l-freq", type=_l_freq, default="auto", metavar="HZ",
                       help="high-pass edge in Hz ('none': no high-pass; "
                            "'auto': 3 Hz, none for an epochs file). With "
                            "3-40 Hz, 16 atoms of 0.5 s, reg 0.1 and the "
                            "average reference, fits of EEGBCI runs found "
                            "blink and alpha atoms in each run, where 1 Hz and "
                            "no low-pass gave slow frontal waves only")
    group.add_argument("--h-freq", type=_optional_float, default=40.,
                       metavar="HZ", help="low-pass edge in Hz ('none': no "
                                          "low-pass)")
    group.add_argument("--notch", type=_float_list, default=None, metavar="HZ",
                       help="line-noise frequencies in Hz, comma-separated")
    group.add_argument("--sfreq", type=_optional_float, default=None, metavar="HZ",
                       help="resample to this rate in Hz")
    group.add_argument("--montage", default="auto", metavar="NAME",
                       help="electrode montage when the file has none: 'auto' "
                            "(match names to the 10-05 montage), 'none', or an "
                            "MNE montage name")
    group.add_argument("--scaling", choices=("std", "noise", "global"),
                       default="std",
                       help="how channel types (mag, grad, EEG) are put on a "
                            "common footing: each divided by its std, or by "
                            "its noise level (median absolute deviation), or "
                            "one factor for all; stored in the model")


def _add_overwrite(sub, what):
    sub.add_argument("--overwrite", action="store_true",
                     help=f"write into a folder holding an earlier {what}, "
                          f"removing its files (otherwise refused)")


def _add_fit(commands):
    fit = commands.add_parser(
        "fit", help="learn atoms and their activations on a recording",
        description="Learn rank-1 atoms (spatial pattern x waveform) on a "
        "recording any MNE reader opens (EDF, BDF, FIF, BrainVision, EEGLAB, "
        "CTF, KIT, BTi) or on an epochs FIF file (its epochs are the trials); "
        "write model.npz, activations-annot.fif/.txt, activations-eve.fif (one "
        "event per occurrence: a local maximum of the activations, at the "
        "largest absolute value of the atom's waveform) and report.html. "
        "Exit code 130 when interrupted (Ctrl-C): the model learned so far is written.",
        formatter_class=_FORMATTER)
    fit.add_argument("recording", help="recording file")
    model = fit.add_argument_group("model")
    model.add_argument("--n-atoms", type=_positive_int, default=16, metavar="N",
                       help="number of atoms")
    model.add_argument("--atom-duration", type=float, default=0.5, metavar="SECONDS",
                       help="atom length in seconds")
    model.add_argument("--reg", type=float, default=0.1, metavar="FRACTION",
                       help="regularisation as a fraction of lambda_max, in "
                            "(0, 1)")
    model.add_argument("--n-iter", type=_positive_int, default=30, metavar="N",
                       help="maximum number of iterations")
    model.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the initialisation")
    model.add_argument("--no-revival", dest="revive_atoms", action="store_false",
                       help="keep unused and duplicated atoms (by default they "
                            "are replaced during learning, see the user guide)")
    model.add_argument("--backend", choices=("local", "mpi"), default=None,
                       help="z-step in this process, or distributed with DICOD "
                            "over MPI workers: spawned, or the other ranks "
                            "under 'mpirun -n N cdl fit ... --backend mpi' "
                            "(default: mpi with --n-workers or under mpirun, "
                            "else local)")
    model.add_argument("--n-workers", type=_positive_int, default=None, metavar="N",
                       help="MPI workers of the 'mpi' backend (default: the "
                            "other ranks under mpirun, else one per CPU core)")
    _add_preprocessing(fit)
    fit.add_argument("--out", default=None, metavar="DIR",
                     help="output folder (default: cdl_output/<recording name>)")
    _add_overwrite(fit, "result (model, activations, DriPP, encodings)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(func=_command("fit"))


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
    _add_overwrite(encode, "encoding")
    encode.add_argument("--quiet", action="store_true", help="no log messages")
    encode.set_defaults(func=_command("encode"))


def _add_report(commands):
    report = commands.add_parser(
        "report", help="HTML report of a saved model",
        description="Rebuild report.html from what the model's folder holds: "
        "the model, its DriPP result (dripp.npz) and the signal averaged on "
        "atom occurrences of RECORDING (default: the fitted recording if it is "
        "still on disk; another recording is encoded).",
        formatter_class=_FORMATTER)
    report.add_argument("model", help="model file")
    report.add_argument("recording", nargs="?", default=None,
                        help="recording file (optional)")
    report.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: the model's folder)")
    _add_overwrite(report, "report")
    report.add_argument("--quiet", action="store_true", help="no log messages")
    report.set_defaults(func=_command("report"))


def _add_dripp(commands):
    dripp = commands.add_parser(
        "dripp", help="how the recording's annotations drive each atom (DriPP)",
        description="Fit a driven point process (Allain et al. 2022) of every "
        "atom's occurrences against every annotation type (e.g. the T0/T1/T2 "
        "cues of EEGBCI): baseline, strength alpha, latency m (from the "
        "stimulus to the largest absolute value of the atom's waveform, "
        "inside [lower, upper]) "
        "and jitter sigma, with bootstrap confidence intervals, "
        "likelihood-ratio p-values and flags on collapsed fits; write "
        "dripp.csv (numbers), dripp.npz and report.html with a DriPP section.",
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
    dripp.add_argument("--null", choices=("shift", "chi2", "chibar", "bootstrap"),
                       default="shift",
                       help="null distribution of the likelihood-ratio tests: "
                            "shift (each atom's occurrences shifted in time, "
                            "calibrated), chi2 (fast, liberal for atoms with "
                            "few occurrences), bootstrap (Poisson simulations)")
    dripp.add_argument("--n-null", type=_positive_int, default=99, metavar="N",
                       help="shifts or simulations of the shift and bootstrap "
                            "nulls")
    dripp.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the bootstraps")
    dripp.add_argument("--out", default=None, metavar="DIR",
                       help="output folder (default: the model's folder)")
    _add_overwrite(dripp, "DriPP result (dripp.csv, dripp.npz)")
    dripp.add_argument("--quiet", action="store_true", help="no log messages")
    dripp.set_defaults(func=_command("dripp"))
