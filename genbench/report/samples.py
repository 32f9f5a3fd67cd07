"""Figures a person would rather look at than read, laid out from arrays that the cell computed
(``genbench.service.cell_figures`` runs the model): 2-D points and paths over the training data, and
tables of categorical samples (PNG bytes). Image grids are ``genbench.infra.images``'.

Matplotlib runs on its non-interactive Agg backend; nothing here opens a window, imports torch or runs a model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from genbench.infra.drawing import figure_png, pyplot


@dataclasses.dataclass(frozen=True)
class Backdrop:
    """What a 2-D figure draws under what it shows, in one window for every model: the training data's first
    points (M, 2) and, where the data has them, its true modes (K, 2)."""

    points: np.ndarray
    modes: np.ndarray | None = None


def over_data_png(backdrop: Backdrop, points: np.ndarray, title: str, draw: Callable[[Any], None],
                  what: str = "samples") -> bytes:
    """A 2-D plot of the training data (grey) and the true modes where the data has them, in one
    window for every model; ``draw(ax)`` adds what is shown over them, and the title says how many
    of ``points`` (M, 2) fall outside the window."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    train = backdrop.points
    ax.scatter(train[:, 0], train[:, 1], s=3, c="0.8", label="data")
    draw(ax)
    if backdrop.modes is not None:
        ax.scatter(backdrop.modes[:, 0], backdrop.modes[:, 1], s=30, marker="x", c="tab:red", label="modes")
    # Same window for every model: the data's extent with a margin; say how many points fall outside.
    low, high = train.min(0), train.max(0)
    margin = 0.25 * (high - low)
    low, high = low - margin, high + margin
    outside = int(((points < low) | (points > high)).any(1).sum())
    ax.set_xlim(float(low[0]), float(high[0]))
    ax.set_ylim(float(low[1]), float(high[1]))
    ax.set_aspect("equal")
    ax.set_title(title + (f"\n{outside} of {len(points)} {what} outside the window" if outside else ""), fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    return figure_png(fig)


def points_png(points: np.ndarray, backdrop: Backdrop, title: str) -> bytes:
    """2-D samples (M, 2) over the training data (grey), with the true modes where the data has them."""
    return over_data_png(backdrop, points, title,
                         lambda ax: ax.scatter(points[:, 0], points[:, 1], s=3, c="tab:blue", label="samples"))


def paths_png(paths: np.ndarray, backdrop: Backdrop, title: str, labels: Sequence[str] | None = None) -> bytes:
    """2-D paths (P, L, 2) over the training data: each a line through its L points, its ends ringed."""

    def draw(ax) -> None:
        for i, path in enumerate(paths):
            line, = ax.plot(path[:, 0], path[:, 1], "-o", ms=2.5, lw=1, label=labels[i] if labels else None)
            ax.scatter(path[[0, -1], 0], path[[0, -1], 1], s=28, facecolors="none", edgecolors=line.get_color())

    return over_data_png(backdrop, paths.reshape(-1, 2), title, draw, what="decoded points")


def categories_png(rows: Sequence[Sequence[str]], names: Sequence[str], title: str) -> bytes:
    """Categorical samples as a table: one row of category names per sample, ``names`` over the columns."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.9 * len(names), 0.28 * (len(rows) + 2)))
    ax.axis("off")
    table = ax.table(cellText=[list(row) for row in rows], colLabels=list(names), loc="center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    ax.set_title(title, fontsize=9)
    return figure_png(fig)
