"""Tables and file lists printed by the ``cdl`` commands."""
from cdl.report.tables import BANDS, activation_counts, atom_features


# -- printing ----------------------------------------------------------------------
def print_atoms(model, sfreq, z):

    rows = []
    for count, feature in zip(activation_counts(z, sfreq),
                              atom_features(model, sfreq=sfreq)):
        band = max(BANDS, key=lambda b: feature[b])
        rows.append(dict(atom=count["atom"], occurrences=count["occurrences"],
                         rate_per_s=count["rate_per_s"],
                         top_channels=feature["top_channels"],
                         peak_hz=feature["peak_hz"],
                         main_band=f"{band} ({feature[band]:.0%})"))
    print_rows(rows)


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
