"""Sprites with known factors, rendered in-process: the dataset for disentanglement scores.

In the spirit of dSprites (Matthey et al. 2017) at a size a CPU trains on in minutes: binary
``size`` × ``size`` images (default 20 × 20) of one white shape on black, every combination of
five factors exactly once (the full factorial grid, 3 · 4 · 6 · 6 · 6 = 2592 images by default):

- ``shape``: square, ellipse (semi-axes 1.2 r and 0.6 r), heart (the curve
  (x² + y² − 1)³ = x² y³, scaled by 0.95 r); also the label, so that the domain classifier
  (FID, IS, the smoothness features) trains on it;
- ``scale``: the half-width r of the square, ``scales`` values evenly from 0.14 to 0.23 of the
  image side (2.8 to 4.6 pixels at 20 × 20);
- ``rotation``: ``rotations`` angles 90°·k/rotations, k = 0 … rotations − 1 (0°, 15°, …, 75°),
  counter-clockwise. The range stops short of 90° because a square turned by 90° is the same
  square: over [0°, 90°) no two angles give the same shape for any of the three (the ellipse
  repeats after 180°, the heart after 360°). At the smallest scale neighbouring angles differ
  by a few pixels only, as in dSprites;
- ``x``, ``y``: the centre, ``positions`` values each, evenly spaced so that the largest shape
  at any angle stays inside the image with a pixel to spare (x is the column, left to right; y
  the row, top to bottom; 1 pixel apart by default).

A pixel is 1 when at least half of it is covered, judged by 4 × 4 sub-pixel centres (no grey
levels): the same options give the same images bit for bit. On so coarse a grid two factor
combinations can still give the same pixels: the default grid has none (tests check), other
options may (``positions=7``: 1 image, ``positions=8``: 27), and ``load`` counts them in
``provenance["coinciding_images"]`` and warns. ``Split.factors`` holds each image's factor
indices (N, 5) in the order of ``info.factor_names``; the factors' physical values are in
``info.extra["factor_values"]``. Splits: 70 / 10 / 20 % of the grid (1814 / 259 / 519 by
default), fixed by ``split_seed``.

Why 20 × 20: the default budget trains the VAE for 4000 steps of 128 images, and a step costs
about 41 ms on 2 CPU cores at 20 × 20 (65 ms at 22 × 22, 83 ms at 24 × 24, where the decoder's
transposed convolutions work on larger grids), so the VAE trains in under three minutes.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from pathlib import Path

import torch

from genbench.config import Config, require
from genbench.data.info import DataInfo, ValueType
from genbench.data.source import DatasetSource
from genbench.data.splits import Data, make_data

log = logging.getLogger(__name__)

SHAPES = ("square", "ellipse", "heart")
FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y")
SCALE_RANGE = (0.14, 0.23)
"""Half-width of the square, as a fraction of the image side (smallest, largest)."""
SUPERSAMPLE = 4
"""Sub-pixels per pixel side: a pixel's coverage is the share of its 16 sub-pixel centres inside."""
REACH = math.sqrt(2)
"""The farthest any shape reaches from its centre, in units of r (the square's corner)."""


@dataclasses.dataclass(frozen=True)
class ShapesOptions(Config):
    size: int = 20
    """Image side in pixels."""
    scales: int = 4
    rotations: int = 6
    """Angles in [0°, 90°): 90°·k / rotations."""
    positions: int = 6
    """Values of x and of y each."""
    split_seed: int = 0

    def validate(self) -> None:
        require(self.size >= 16, f"size must be at least 16 pixels, got {self.size}")
        for name in ("scales", "rotations", "positions"):
            require(getattr(self, name) >= 2, f"{name} must be at least 2, got {getattr(self, name)}")


def factor_values(o: ShapesOptions) -> dict[str, list[float]]:
    """Physical values of every factor index: scale and position in pixels, rotation in degrees."""
    low, high = SCALE_RANGE
    scales = torch.linspace(low, high, o.scales, dtype=torch.float64)
    margin = REACH * high + 1.0 / o.size  # the largest shape at 45° plus a pixel
    positions = torch.linspace(margin, 1 - margin, o.positions, dtype=torch.float64)
    return {
        "shape": list(range(len(SHAPES))),
        "scale": (scales * o.size).tolist(),
        "rotation": [90.0 * k / o.rotations for k in range(o.rotations)],
        "x": (positions * o.size).tolist(),
        "y": (positions * o.size).tolist(),
    }


def inside(shape: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Whether points (u, v), in the shape's own frame (units of r, v pointing up), lie inside it.

    shape: (N, 1, 1) indices into ``SHAPES``; u, v: (N, H, W) → (N, H, W) bool."""
    square = (u.abs() <= 1) & (v.abs() <= 1)
    ellipse = (u / 1.2) ** 2 + (v / 0.6) ** 2 <= 1
    hu, hv = u / 0.95, v / 0.95
    heart = (hu**2 + hv**2 - 1) ** 3 - hu**2 * hv**3 <= 0
    return torch.where(shape == 0, square, torch.where(shape == 1, ellipse, heart))


def render(factors: torch.Tensor, o: ShapesOptions) -> torch.Tensor:
    """Factor indices (N, 5) → binary images (N, 1, size, size) as float {0, 1}: a pixel is 1 when
    at least half of its ``SUPERSAMPLE``² sub-pixel centres lie inside the shape."""
    values = {name: torch.tensor(v, dtype=torch.float64) for name, v in factor_values(o).items()}
    shape, scale, rotation, x, y = factors.long().unbind(1)
    r = values["scale"][scale].view(-1, 1, 1)
    angle = torch.deg2rad(values["rotation"][rotation]).view(-1, 1, 1)
    fine = (torch.arange(o.size * SUPERSAMPLE, dtype=torch.float64) + 0.5) / SUPERSAMPLE  # sub-pixel centres
    dx = (fine.view(1, -1) - values["x"][x].view(-1, 1)).unsqueeze(1)  # (N, 1, W'): columns
    dy = (values["y"][y].view(-1, 1) - fine.view(1, -1)).unsqueeze(2)  # (N, H', 1): rows, pointing up
    cos, sin = angle.cos(), angle.sin()
    u = (cos * dx + sin * dy) / r  # rotate the point by -angle into the shape's frame
    v = (-sin * dx + cos * dy) / r
    covered = inside(shape.view(-1, 1, 1), u, v).unsqueeze(1).float()
    return (torch.nn.functional.avg_pool2d(covered, SUPERSAMPLE) >= 0.5).float()


def factor_grid(o: ShapesOptions) -> torch.Tensor:
    """Every combination of factor indices once, (3 · scales · rotations · positions², 5) int64."""
    counts = (len(SHAPES), o.scales, o.rotations, o.positions, o.positions)
    return torch.tensor(list(itertools.product(*(range(c) for c in counts))), dtype=torch.long)


class Shapes(DatasetSource):
    """Binary 20×20 sprites (square, ellipse, heart) over the full grid of five known factors."""

    name = "shapes"
    config_class = ShapesOptions

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        o: ShapesOptions = self.config
        factors = factor_grid(o)
        x = torch.cat([render(chunk, o) for chunk in factors.split(1024)])
        coinciding = len(x) - len(torch.unique(x.flatten(1), dim=0))
        if coinciding:
            log.warning("shapes %s: %d images have the same pixels as another with different factors",
                        o.to_dict(), coinciding)
        info = DataInfo("shapes", (1, o.size, o.size), ValueType.BINARY, n_classes=len(SHAPES),
                        factor_names=FACTOR_NAMES, latent_dim_hint=10,
                        extra={"class_names": list(SHAPES), "factor_values": factor_values(o)})
        return make_data(x, info, labels=factors[:, 0].clone(), factors=factors, split_seed=o.split_seed,
                         options=o.to_dict(), provenance={"source": "rendered in-process (genbench.data.shapes)",
                                                           "coinciding_images": coinciding})
