"""Matplotlib, imported lazily, non-interactive when there is no display."""
import os


def pyplot():
    """``matplotlib.pyplot``, switched to Agg when no display is available."""
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps") \
            and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _has_display():
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def maybe_show(fig, show):
    """Show ``fig`` when asked; return it."""
    if show:
        pyplot().show()
    return fig


def fixed_layout(fig, n_rows, n_cols, left=0.8, right=0.2, top=0.45, bottom=0.6,
                 hspace=0.95, wspace=0.6):
    """Margins and gaps given in inches, for a grid of axes of known labels.

    ``fig.tight_layout()`` measures every tick label of every axes, which
    took most of the time of the report's large figures; a grid whose
    labels are known in advance (a title and an x label per row, y tick
    labels on the left) fits in fixed margins.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    n_rows, n_cols : int
        Shape of the grid of subplots.
    left, right, top, bottom : float
        Figure margins in inches.
    hspace, wspace : float
        Gaps between rows and between columns in inches.
    """
    width, height = fig.get_size_inches()
    axes_height = (height - top - bottom - (n_rows - 1) * hspace) / n_rows
    axes_width = (width - left - right - (n_cols - 1) * wspace) / n_cols
    fig.subplots_adjust(left=left / width, right=1 - right / width,
                        bottom=bottom / height, top=1 - top / height,
                        hspace=hspace / max(axes_height, 1e-3),
                        wspace=wspace / max(axes_width, 1e-3))
