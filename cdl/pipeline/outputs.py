"""The files each ``cdl`` command writes, and the rule that protects them.

A command refuses to write into a folder that holds an earlier result of the
same kind unless told to overwrite it; it then removes the files of the
earlier result that the new one would make stale (a new model makes the old
activations, DriPP results and encodings meaningless), so that a folder never
mixes two results.
"""
import shutil
from pathlib import Path

#: Files (names or glob patterns) each command owns in its output folder.
#: ``fit`` owns everything derived from the model: a new model makes them
#: stale. ``dripp`` and ``report`` rebuild ``report.html`` from the folder.
OWNED = {
    "fit": ("model.npz", "activations-annot.fif", "activations-annot.txt",
            "activations-eve.fif", "report.html", "dripp.csv", "dripp.npz",
            "encode-*"),
    "encode": ("activations-annot.fif", "activations-annot.txt",
               "activations-eve.fif", "report.html"),
    "dripp": ("dripp.csv", "dripp.npz"),
    "report": ("report.html",),
}


def earlier_results(out_dir, command):
    """Files of an earlier result of ``command`` in ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
    command : 'fit' | 'encode' | 'dripp' | 'report'

    Returns
    -------
    paths : list of Path
        Sorted; empty when the folder does not exist.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    found = {p for pattern in OWNED[command] for p in out_dir.glob(pattern)}
    return sorted(found)


def check_output(out_dir, command, overwrite=False):
    """Raise if ``out_dir`` holds an earlier result and ``overwrite`` is False.

    Called before the work starts, so that a refusal comes at once and bad
    input leaves the folder untouched (see :func:`prepare_output`).

    Parameters
    ----------
    out_dir : path-like
    command : 'fit' | 'encode' | 'dripp' | 'report'
    overwrite : bool

    Returns
    -------
    earlier : list of Path
        The files of the earlier result (to be removed by
        :func:`prepare_output`).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"--out {out_dir} is a file, not a folder.")
    earlier = earlier_results(out_dir, command)
    if earlier and not overwrite:
        names = ", ".join(p.name for p in earlier[:4])
        more = f" and {len(earlier) - 4} more" if len(earlier) > 4 else ""
        raise FileExistsError(
            f"{out_dir} holds an earlier result ({names}{more}); give "
            f"--overwrite to replace it (its files are then removed), or "
            f"another --out folder.")
    return earlier


def prepare_output(out_dir, command, overwrite=False):
    """Create ``out_dir`` for ``command``, refusing or cleaning an earlier result.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created if needed).
    command : 'fit' | 'encode' | 'dripp' | 'report'
    overwrite : bool
        Remove the earlier result's files (:data:`OWNED`) instead of
        refusing.

    Returns
    -------
    removed : list of Path
        Files and folders removed.

    Raises
    ------
    FileExistsError
        If ``out_dir`` holds an earlier result and ``overwrite`` is False;
        the message names the files and the ``--overwrite`` option.
    """
    out_dir = Path(out_dir)
    earlier = check_output(out_dir, command, overwrite)
    for path in earlier:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    return earlier
