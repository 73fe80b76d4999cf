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
