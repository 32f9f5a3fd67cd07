"""matplotlib on its non-interactive Agg backend, and figures as PNG bytes: what every figure of a
report shares. Nothing here imports torch, nothing opens a window."""

from __future__ import annotations

import io

DPI = 110
"""Resolution of every matplotlib figure genbench writes."""


def pyplot():
    import matplotlib  # defers matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt  # defers matplotlib

    return plt


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    pyplot().close(fig)
    return buffer.getvalue()
