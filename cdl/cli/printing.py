"""Tables and file lists printed by the ``cdl`` commands."""
from cdl.dripp.checks import FLAGS
from cdl.report.tables import (
    BANDS,
    activation_counts,
    atom_diagnostics,
    atom_features,
)


# -- printing ----------------------------------------------------------------------
def print_atoms(model, sfreq, z, info=None):
    """One line per atom: its label and flags, occurrences (as in the events
    files), where it is strongest (by channel type), its spectrum, its part
    of the model (``model_share``)."""
    rows = []
    for count, feature, diagnostic in zip(
            activation_counts(z, sfreq), atom_features(model, sfreq=sfreq),
            atom_diagnostics(model, z=z, info=info)):
        band = max(BANDS, key=lambda b: feature[b])
        row = dict(atom=count["atom"], occurrences=count["occurrences"],
                   rate_per_s=count["rate_per_s"])
        if "types" in feature:
            row["types"] = feature["types"]
        row.update(top_channels=feature["top_channels"],
                   peak_hz=feature["peak_hz"],
                   main_band=f"{band} ({feature[band]:.0%})",
                   model_share=diagnostic["model_share"],
                   flags=diagnostic["flags"] or "-", label=diagnostic["label"])
        rows.append(row)
    print_rows(rows)


def print_notes(notes, rows):
    """The support notes of a DriPP fit and the meaning of the flags used."""
    used = sorted({f for row in rows for f in row["flags"].split(";") if f})
    for note in list(notes) + [f"flag {name}: {FLAGS[name]}" for name in used]:
        print(f"Note: {note}")


def print_rows(rows):
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(_cell(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.rjust(widths[k]) for k in keys))
    for row in rows:
        print("  ".join(_cell(row[k]).rjust(widths[k]) for k in keys))


def _cell(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def print_written(fnames):
    print("Wrote " + ", ".join(str(f) for f in fnames))
