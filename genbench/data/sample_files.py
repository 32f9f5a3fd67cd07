"""Samples of a model trained anywhere, read from a folder of images or a .npy/.npz/.pt file by the
readers of your own data (``genbench.data.readers``) and put into a dataset's representation.

What a file holds is taken as samples of ``info``'s data, never guessed anew: its example shape must
be the dataset's (after the readers' layout rules: (N, H, W) grey, (N, H, W, C) channels-last), and

- binary and discrete data: uint8 pixels are k/255, bool 0/1, floats as they are; every value must
  lie in [0, 1], and is then put on the dataset's grid (``info.quantize``: 8-bit PNGs of 17-level
  digits come back exactly; a model's continuous outputs are rounded as its own samples would be);
- continuous data: floats (or integers) as they are, uint8 pixels as k/255;
- categorical data: integer category indices within each feature's categories.

Labels (class folders, a ``y`` array) are ignored; a file with its own train/test splits is refused.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genbench.data.from_path import example_layout
from genbench.data.info import DataInfo, ValueType
from genbench.data.readers import IMAGE_SUFFIXES, read_pools
from genbench.errors import DataFormatError, DataMissingError
from genbench.specs import ARRAY_SUFFIXES

log = logging.getLogger(__name__)

OFF_GRID = 0.25
"""A value more than this many bins off the grid counts as rounded (a continuous output), and is reported."""


def read_samples(path: str | Path, info: DataInfo) -> tuple[torch.Tensor, dict[str, Any]]:
    """Samples (N, *info.shape) in the data's representation, and a description of the file for records."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataMissingError(f"there is no file or folder {path} (SAMPLES is a folder of PNG/JPEG images or a "
                               f"{', '.join(ARRAY_SUFFIXES)} file)")
    if path.is_file() and path.suffix.lower() not in ARRAY_SUFFIXES:
        kind = "a single image" if path.suffix.lower() in IMAGE_SUFFIXES else f"a {path.suffix or 'suffix-less'} file"
        raise DataFormatError(f"{path} is {kind}; samples are a folder of PNG/JPEG images or an array file "
                              f"({', '.join(ARRAY_SUFFIXES)})")
    pools = read_pools(path.resolve())
    if set(pools) != {"all"}:
        raise DataFormatError(f"{path} holds {', '.join(sorted(pools))} splits; samples are one set of examples")
    raw = example_layout(pools["all"].x)
    if tuple(raw.shape[1:]) != info.shape:
        raise DataFormatError(f"{path} holds samples of shape {tuple(raw.shape[1:])}; {info.name} has examples of "
                              f"shape {info.shape}")
    x, rounded = to_representation(raw, info, str(path))
    source = {"path": str(path.resolve()), "format": "image folder" if path.is_dir() else path.suffix.lower(),
              "rows": len(x), "dtype": str(raw.dtype), "sha256": tensor_sha256(x)}
    if rounded:
        source["rounded_onto_grid"] = rounded
        log.warning("%s: %.1f%% of the sample values were off %s's %s-level grid by more than a quarter bin and "
                    "were rounded onto it", path, 100 * rounded, info.name, info.levels or 2)
    return x, source


def to_representation(raw: np.ndarray, info: DataInfo, what: str) -> tuple[torch.Tensor, float]:
    """``raw`` (N, *shape) as ``info``'s data holds it, and the share of values rounded by more than
    ``OFF_GRID`` bins (0 for continuous and categorical data)."""
    kind = raw.dtype.kind
    if kind not in "buif":
        raise DataFormatError(f"{what} holds {raw.dtype} values; samples are numbers")
    if kind == "f" and not np.isfinite(raw).all():
        raise DataFormatError(f"{what} holds {int((~np.isfinite(raw)).sum())} NaN or infinite values")
    if info.value_type is ValueType.CATEGORICAL:
        if kind not in "iu":
            raise DataFormatError(f"{what} holds {raw.dtype} values; {info.name} is categorical: samples are integer "
                                  "category indices")
        x = torch.from_numpy(raw.astype(np.int64))
        sizes = torch.tensor(info.n_categories).reshape(info.shape)
        if bool(((x < 0) | (x >= sizes)).any()):
            raise DataFormatError(f"{what} holds category indices outside each feature's 0 … C_d - 1")
        return x, 0.0
    values = raw.astype(np.float32) / (255 if raw.dtype == np.uint8 else 1)
    x = torch.from_numpy(np.ascontiguousarray(values))
    if info.value_type is ValueType.CONTINUOUS:
        return x, 0.0
    low, high = float(x.min()), float(x.max())
    if low < -1e-6 or high > 1 + 1e-6:
        hint = (" (images in [-1, 1]: save (x + 1) / 2)" if low < 0 else
                " (8-bit images: save them as uint8, or divide by 255)" if high <= 255 else "")
        raise DataFormatError(f"{what} holds values in [{low:g}, {high:g}]; {info.name}'s lie in [0, 1]{hint}")
    on_grid = info.quantize(x)
    rounded = float(((on_grid - x).abs() > OFF_GRID * info.bin_width).float().mean())
    return on_grid, rounded


def tensor_sha256(x: torch.Tensor) -> str:
    """SHA-256 of a tensor's bytes: samples read from PNGs and from an array file hash alike when equal."""
    return hashlib.sha256(x.contiguous().numpy().tobytes()).hexdigest()
