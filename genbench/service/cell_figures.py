"""The figures a cell draws from its model, computed here and laid out by the report (``genbench.report.samples``,
``genbench.infra.images``), which only receives arrays.

- ``STEM.png``: the model's samples; ``STEM-decoded.png``: the decoder's means at latent draws (no observation
  noise), for models with a decoder, as papers show VAE samples. Images as a grid, 2-D data as points over the
  training data, categories as a table, a square-able vector as a picture.
- ``STEM-interpolation.png``: decoded straight lines between latent codes, built exactly as the
  ``latent-smoothness`` metric builds them (``genbench.metrics.smoothness``): the codes of test
  pairs for a model with an encoder, prior draws for a decoder-only model. Images: one row per
  pair, T + 1 columns from one end to the other; 2-D data: the paths over the training data.
- ``STEM-traversal.png``: for each shown latent dimension j, a base code with z_j moved from
  m_j − 2σ_j to m_j + 2σ_j (m_j, σ_j: the dimension's mean and standard deviation over the codes
  of the test split, or over prior draws for a decoder-only model), every other dimension held at
  the base's value. The base is the code of one test example (a prior draw for a decoder-only
  model). With more than ``TRAVERSED`` dimensions, the ``TRAVERSED`` of largest variance are
  shown, most active first: for a VAE the variance of its posterior means, the "active units"
  measure of Burda et al. (2016), under which dimensions collapsed to the prior score near 0.

Everything is drawn from a generator seeded by the cell's seed, so the same seed gives the same
figures. Categorical data get no latent figures (decoded means of categories are not examples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data
from genbench.errors import InvalidSamples
from genbench.infra.atomic import write_bytes
from genbench.infra.images import image_grid_png, image_rows_png
from genbench.infra.rng import make_generator
from genbench.metrics.samples import encode_all
from genbench.metrics.smoothness import decoded_paths, endpoint_codes
from genbench.model import Capability, GenerativeModel
from genbench.report.samples import Backdrop, categories_png, paths_png, points_png
from genbench.sample_set import FixedSamples

GRID_SIZE = 64
"""Samples in a grid (8 × 8 images, or the number of rows of a categorical table / 1000 points)."""
CATEGORY_ROWS = 16
"""Rows of a categorical table."""
BACKDROP_POINTS = 2000
"""Training examples drawn under a 2-D figure."""
PAIRS, STEPS = 8, 10
"""Rows and steps of the interpolation strip."""
TRAVERSED, COLUMNS, SPAN = 10, 9, 2.0
"""Dimensions shown at most, points per traversal, and its half-width in standard deviations."""
ACTIVITY_EXAMPLES = 500
"""Codes (of test examples, or prior draws) the dimensions' mean, spread and ranking come from: enough for a
figure (a variance from 500 draws is within 6 % of its value, one standard error), and a diffusion model's encoder
spends 10 network passes per code (2 000 codes cost it 5 s a cell on MNIST)."""


def array(x: torch.Tensor) -> np.ndarray:
    """A tensor as the report takes it: float32 on the CPU."""
    return x.detach().float().cpu().numpy()


def backdrop(data: Data) -> Backdrop:
    """The training data's first points and its true modes, under every model's 2-D figure."""
    means = getattr(data.true_distribution, "means", None)
    return Backdrop(array(data.train.x[:BACKDROP_POINTS]), None if means is None else array(torch.as_tensor(means)))


def samples_needed(info: DataInfo) -> int:
    """How many samples the figure for ``info`` shows: a grid of images or rows, or a cloud of points."""
    return GRID_SIZE * 16 if not info.is_image and info.value_type is not ValueType.CATEGORICAL else GRID_SIZE


def samples_png(samples: torch.Tensor, data: Data, title: str) -> bytes:
    """The figure that suits the data: an image grid, a scatter plot, or a table."""
    info = data.info
    if info.is_image:
        return image_grid_png(array(samples[:GRID_SIZE]))
    if info.value_type is ValueType.CATEGORICAL:
        names = info.feature_names or tuple(f"x{i}" for i in range(info.dim))
        rows = [[info.categories[d][int(k)] for d, k in enumerate(row)]
                for row in samples[:CATEGORY_ROWS].cpu().tolist()]
        return categories_png(rows, names, title)
    if info.dim == 2:
        return points_png(array(samples), backdrop(data), title)
    side = int(info.dim**0.5)  # a square-able vector: show it as a picture
    if side * side == info.dim:
        return image_grid_png(array(info.clip(samples[:GRID_SIZE]).reshape(-1, 1, side, side)))
    return points_png(array(samples[:, :2]), backdrop(data), f"{title} (first two coordinates)")


def save_samples(path: Path, samples: torch.Tensor, data: Data, title: str) -> None:
    """A figure of ``samples``; ``InvalidSamples`` (no figure) when they are not values of the data."""
    problem = data.info.value_problem(samples.detach().cpu())
    if problem:
        raise InvalidSamples(f"{title}: {problem}")
    write_bytes(path, samples_png(samples, data, title))


def save_sample_figures(model: GenerativeModel, data: Data, stem: Path, label: str, seed: int) -> None:
    """STEM.png and, for a model with a decoder, STEM-decoded.png (module docstring)."""
    generator = make_generator(seed)
    n = samples_needed(data.info)
    if model.has(Capability.SAMPLE):
        samples = model.sample(min(n, len(model)) if isinstance(model, FixedSamples) else n, generator)
        save_samples(stem.with_name(stem.name + ".png"), samples, data, f"{label} (seed {seed})")
    if model.has(Capability.DECODER) and data.info.value_type is not ValueType.CATEGORICAL:
        decoded = model.decode(model.sample_latent(n, generator))
        save_samples(stem.with_name(stem.name + "-decoded.png"), decoded, data, f"{label}: decoded latent draws")


def save_latent_figures(model: GenerativeModel, data: Data, stem: Path, label: str, seed: int) -> None:
    """Write STEM-interpolation.png and STEM-traversal.png for a model with a decoder (else nothing)."""
    if not model.has(Capability.DECODER) or data.info.value_type is ValueType.CATEGORICAL:
        return
    generator = make_generator(seed)
    z0, z1, source = endpoint_codes(model, data.test, min(PAIRS, len(data.test) // 2), generator)
    paths = decoded_paths(model, z0, z1, STEPS)
    title = f"{label}: decoded straight lines between {source}"
    write_bytes(stem.with_name(stem.name + "-interpolation.png"), pictures(paths, data, title))
    codes = activity_codes(model, data, generator)
    variance = codes.var(dim=0)
    shown = variance.argsort(descending=True)[:TRAVERSED]
    mean, spread = codes.mean(dim=0), codes.std(dim=0)
    base = codes[0]
    start = base.repeat(len(shown), 1)
    start[torch.arange(len(shown)), shown] = mean[shown] - SPAN * spread[shown]
    end = start.clone()
    end[torch.arange(len(shown)), shown] = mean[shown] + SPAN * spread[shown]
    traversals = decoded_paths(model, start, end, COLUMNS - 1)
    rows = [f"z{j} (var {v:.2g})" for j, v in zip(shown.tolist(), variance[shown].tolist())]
    ranked = "" if len(shown) == codes.shape[1] else f", the {len(shown)} of {codes.shape[1]} with largest variance"
    title = f"{label}: traversals, z_j from m_j − {SPAN:g}σ_j to m_j + {SPAN:g}σ_j{ranked}"
    write_bytes(stem.with_name(stem.name + "-traversal.png"), pictures(traversals, data, title, rows))


def activity_codes(model: GenerativeModel, data: Data, generator: torch.Generator) -> torch.Tensor:
    """Codes the traversal ranges come from, (M, d) float: the encoded test split (a random subset of
    ``ACTIVITY_EXAMPLES``), its first row a random test example; prior draws for a decoder-only model."""
    if model.has(Capability.ENCODER):
        rows = torch.randperm(len(data.test), generator=generator)[:ACTIVITY_EXAMPLES]
        return encode_all(model, data.test.x[rows]).float()
    return model.sample_latent(ACTIVITY_EXAMPLES, generator).float().cpu()


def pictures(paths: torch.Tensor, data: Data, title: str, row_labels: list[str] | None = None) -> bytes:
    """Decoded paths (P, L, *shape) as rows of images, or as lines over the data for vectors
    (the first two coordinates when there are more)."""
    info = data.info
    if info.is_image:
        return image_rows_png(array(info.clip(paths.flatten(0, 1))), paths.shape[1], title, row_labels)
    flat = paths.flatten(2)
    if flat.shape[2] != 2:
        title += " (first two coordinates)"
    return paths_png(array(flat[..., :2]), backdrop(data), title, row_labels)
