"""Figures a person would rather look at than read: sample grids (PNG), written atomically.

Matplotlib runs on its non-interactive Agg backend; nothing here opens a window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data
from genbench.errors import InvalidSamples
from genbench.infra.atomic import write_bytes
from genbench.infra.drawing import figure_png, pyplot
from genbench.infra.images import image_grid_png
from genbench.infra.rng import make_generator
from genbench.model import Capability, GenerativeModel
from genbench.sample_set import FixedSamples

GRID_SIZE = 64
"""Samples in a grid (8 × 8 images, or the number of rows of a categorical table / 1000 points)."""
def over_data_png(data: Data, points: torch.Tensor, title: str, draw: Callable[[Any], None],
                  what: str = "samples") -> bytes:
    """A 2-D plot of the training data (grey) and the true modes where the data has them, in one
    window for every model; ``draw(ax)`` adds what is shown over them, and the title says how many
    of ``points`` (M, 2) fall outside the window."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    train = data.train.x[:2000].cpu()
    ax.scatter(train[:, 0], train[:, 1], s=3, c="0.8", label="data")
    draw(ax)
    means = getattr(data.true_distribution, "means", None)
    if means is not None:
        ax.scatter(means[:, 0], means[:, 1], s=30, marker="x", c="tab:red", label="modes")
    # Same window for every model: the data's extent with a margin; say how many points fall outside.
    low, high = train.min(0).values, train.max(0).values
    margin = 0.25 * (high - low)
    low, high = low - margin, high + margin
    outside = ((points < low) | (points > high)).any(1).sum().item()
    ax.set_xlim(low[0].item(), high[0].item())
    ax.set_ylim(low[1].item(), high[1].item())
    ax.set_aspect("equal")
    ax.set_title(title + (f"\n{outside} of {len(points)} {what} outside the window" if outside else ""), fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    return figure_png(fig)


def points_png(samples: torch.Tensor, data: Data, title: str) -> bytes:
    """2-D samples over the training data (grey), with the true modes where the data has them."""
    points = samples.detach().float().cpu()
    return over_data_png(data, points, title,
                         lambda ax: ax.scatter(points[:, 0], points[:, 1], s=3, c="tab:blue", label="samples"))


def paths_png(paths: torch.Tensor, data: Data, title: str, labels: Sequence[str] | None = None) -> bytes:
    """2-D paths (P, L, 2) over the training data: each a line through its L points, its ends ringed."""
    points = paths.detach().float().cpu()

    def draw(ax) -> None:
        for i, path in enumerate(points):
            line, = ax.plot(path[:, 0], path[:, 1], "-o", ms=2.5, lw=1, label=labels[i] if labels else None)
            ax.scatter(path[[0, -1], 0], path[[0, -1], 1], s=28, facecolors="none", edgecolors=line.get_color())

    return over_data_png(data, points.reshape(-1, 2), title, draw, what="decoded points")


def categories_png(samples: torch.Tensor, info: DataInfo, title: str, rows: int = 16) -> bytes:
    """Categorical samples as a table of category names."""
    plt = pyplot()
    names = info.feature_names or tuple(f"x{i}" for i in range(info.dim))
    cells = [[info.categories[d][int(k)] for d, k in enumerate(row)] for row in samples[:rows].cpu().tolist()]
    fig, ax = plt.subplots(figsize=(1.9 * len(names), 0.28 * (len(cells) + 2)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=list(names), loc="center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    ax.set_title(title, fontsize=9)
    return figure_png(fig)


def samples_needed(info: DataInfo) -> int:
    """How many samples the figure for ``info`` shows: a grid of images or rows, or a cloud of points."""
    return GRID_SIZE * 16 if not info.is_image and info.value_type is not ValueType.CATEGORICAL else GRID_SIZE


def samples_png(samples: torch.Tensor, data: Data, title: str) -> bytes:
    """The figure that suits the data: an image grid, a scatter plot, or a table."""
    info = data.info
    if info.is_image:
        return image_grid_png(samples[:GRID_SIZE])
    if info.value_type is ValueType.CATEGORICAL:
        return categories_png(samples, info, title)
    if info.dim == 2:
        return points_png(samples, data, title)
    side = int(info.dim**0.5)  # a square-able vector: show it as a picture
    if side * side == info.dim:
        return image_grid_png(info.clip(samples[:GRID_SIZE]).reshape(-1, 1, side, side))
    return points_png(samples[:, :2], data, f"{title} (first two coordinates)")


def save_samples(path: Path, samples: torch.Tensor, data: Data, title: str) -> None:
    """A figure of ``samples``; ``InvalidSamples`` (no figure) when they are not values of the data."""
    problem = data.info.value_problem(samples.detach().cpu())
    if problem:
        raise InvalidSamples(f"{title}: {problem}")
    write_bytes(path, samples_png(samples, data, title))


def save_sample_figures(model: GenerativeModel, data: Data, stem: Path, label: str, seed: int) -> None:
    """STEM.png: the model's samples; STEM-decoded.png: the decoder's means at latent draws (no
    observation noise), for models with a decoder, as papers show VAE samples."""
    generator = make_generator(seed)
    n = samples_needed(data.info)
    if model.has(Capability.SAMPLE):
        samples = model.sample(min(n, len(model)) if isinstance(model, FixedSamples) else n, generator)
        save_samples(stem.with_name(stem.name + ".png"), samples, data, f"{label} (seed {seed})")
    if model.has(Capability.DECODER) and data.info.value_type is not ValueType.CATEGORICAL:
        decoded = model.decode(model.sample_latent(n, generator))
        save_samples(stem.with_name(stem.name + "-decoded.png"), decoded, data, f"{label}: decoded latent draws")
