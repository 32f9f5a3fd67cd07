"""Your own data, given by its path: a folder of PNG/JPEG images or a .npy, .npz or .pt file.

What the files may hold is described in ``genbench.data.readers``. The value type is inferred
from the values as stored (images are uint8), unless the ``value_type`` option says otherwise:

===========================================  ==============  ==========================
values as stored                             value type      tensor
===========================================  ==============  ==========================
bool, or only 0 and 1                        binary          float 0/1
uint8 with only 0 and 255                    binary          float k/255 ∈ {0, 1}
uint8 otherwise (every image)                discrete, 256   float k/255
other integers                               categorical     int64 (feature d: 0 … max_d)
floats otherwise                             continuous      float32
===========================================  ==============  ==========================

Overrides: ``value_type=binary`` (values 0/1, or 0/255 in uint8); ``value_type=discrete`` with
``levels=L`` (integers k in 0 … L-1 become k/(L-1); L defaults to 256 for uint8 and to max+1
for other integers; floats must lie on the grid k/(L-1) in [0, 1] and need ``levels``);
``value_type=categorical`` (non-negative integer values); ``value_type=continuous`` (uint8
becomes k/255, anything else float32 as stored). ``levels`` alone implies ``discrete``.

Shapes: (N,) becomes (N, 1); (N, H, W) grey images become (N, 1, H, W); (N, H, W, C) with
C ∈ {1, 3} becomes (N, C, H, W). Labels (numbers or names) become class indices 0 … K-1 in
sorted order; the class names are kept in ``info.extra["class_names"]``.

Splits: data without splits of its own is split into train/val/test by ``split_seed`` with
``val_fraction`` and ``test_fraction``; data with its own train and test splits keeps them
(``val_fraction`` of the training pool becomes val unless a val split is given).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from genbench.config import Config, require
from genbench.data.info import DataInfo, ValueType, infer_info
from genbench.data.readers import IMAGE_SUFFIXES, Pool, read_pools
from genbench.data.source import DatasetSource
from genbench.data.splits import Data, Split, make_data
from genbench.errors import DataFormatError, DataMissingError
from genbench.specs import ARRAY_SUFFIXES

BYTE_LEVELS = 256
GRID_TOLERANCE = 1e-4  # floats within this many grid steps of k/(L-1) count as on the grid


@dataclasses.dataclass(frozen=True)
class PathOptions(Config):
    """Options of a dataset read from ``path``: value type overrides, resizing, splits, and its
    ``title`` in tables and metrics.csv (default: the file's or folder's name without suffix)."""

    path: str = ""
    value_type: str | None = None
    levels: int | None = None
    resize: tuple[int, ...] | None = None
    split_seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    title: str | None = None

    def validate(self) -> None:
        require(bool(self.path), "a dataset read from files needs their path")
        types = [t.value for t in ValueType]
        require(self.value_type in (None, *types),
                f"value_type must be one of {', '.join(types)}, got {self.value_type!r}")
        if self.levels is not None:
            require(self.levels >= 2, f"levels must be at least 2, got {self.levels}")
            require(self.value_type in (None, "discrete"),
                    f"levels goes with value_type=discrete, not value_type={self.value_type}")
        if self.resize is not None:
            require(len(self.resize) in (1, 2) and min(self.resize) > 0,
                    f"resize takes SIZE or HEIGHTxWIDTH with positive sizes, e.g. 32 or 28x28; got {self.resize}")
        require(self.split_seed >= 0, f"split_seed must be non-negative, got {self.split_seed}")
        require(0 < self.val_fraction and 0 < self.test_fraction and self.val_fraction + self.test_fraction < 1,
                f"val_fraction and test_fraction must be positive with a sum below 1, got {self.val_fraction} "
                f"and {self.test_fraction}")

    @property
    def size(self) -> tuple[int, int] | None:
        """(height, width) to resize images to, or None."""
        if self.resize is None:
            return None
        return (self.resize[0], self.resize[-1])

    @property
    def requested_type(self) -> ValueType | None:
        if self.value_type is None and self.levels is not None:
            return ValueType.DISCRETE
        return None if self.value_type is None else ValueType(self.value_type)


class PathDataset(DatasetSource):
    """Your own data: a folder of PNG/JPEG images (class subfolders are labels) or a .npy/.npz/.pt file."""

    name = "path"
    config_class = PathOptions
    _data: Data | None = None

    @property
    def path(self) -> Path:
        return Path(self.config.path).expanduser()

    def check_available(self, *, data_dir: Path | None = None, download: bool = False) -> None:
        """Read the files now: nothing short of reading them finds a corrupt image or a wrong
        layout. ``load`` then returns what was read here."""
        self.load()

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        """Read the files (once per source); ``data_dir`` and ``download`` do not apply to a path."""
        if self._data is None:
            self._data = self.read()
        return self._data

    def check_path(self) -> None:
        path = self.path
        if not path.exists():
            raise DataMissingError(f"there is no file or folder {path}")
        suffix = path.suffix.lower()
        if path.is_file() and suffix not in ARRAY_SUFFIXES:
            kind = "a single image" if suffix in IMAGE_SUFFIXES else f"a {path.suffix or 'suffix-less'} file"
            raise DataFormatError(f"{path} is {kind}; genbench reads a folder of PNG/JPEG images or an array file "
                                  f"({', '.join(ARRAY_SUFFIXES)})")

    def read(self) -> Data:
        o: PathOptions = self.config
        self.check_path()
        path = self.path.resolve()
        pools = read_pools(path, o.size)
        arrays = {pool: example_layout(p.x) for pool, p in pools.items()}
        shapes = {a.shape[1:] for a in arrays.values()}
        if len(shapes) > 1:
            raise DataFormatError(f"the splits in {path} hold examples of different shapes: "
                                  f"{', '.join(str(s) for s in sorted(shapes))}")
        value_type, levels, xs = encode(arrays, o.requested_type, o.levels, str(path))
        labels, class_names = encode_labels(pools, str(path))
        info = describe(o.title or path.stem, xs, value_type, levels, class_names)
        provenance = {"source": "path", "path": str(path),
                      "format": "image folder" if path.is_dir() else path.suffix.lower(), "resize": o.size}
        fractions = (1 - o.val_fraction - o.test_fraction, o.val_fraction, o.test_fraction)
        if "all" in xs:
            data = make_data(xs["all"], info, labels=labels["all"], fractions=fractions, split_seed=o.split_seed,
                             options=o.to_dict(), provenance=provenance)
        elif "val" not in xs:
            test = Split(xs["test"], info, labels=labels["test"], name="test")
            data = make_data(xs["train"], info, labels=labels["train"], fractions=(1 - o.val_fraction, o.val_fraction),
                             split_seed=o.split_seed, test=test, options=o.to_dict(), provenance=provenance)
        else:
            splits = [Split(xs[s], info, labels=labels[s], name=s) for s in ("train", "val", "test")]
            data = Data(info, *splits, options=o.to_dict(), provenance={**provenance, "splits": "given"})
        data.provenance["fingerprint"] = data.fingerprint
        return data


def example_layout(x: np.ndarray) -> np.ndarray:
    """(N,) → (N, 1); (N, H, W) → (N, 1, H, W); (N, H, W, C), C ∈ {1, 3} → (N, C, H, W)."""
    if x.ndim in (1, 3):
        return x[:, None]
    if x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[3] in (1, 3):
        return x.transpose(0, 3, 1, 2)
    return x


def encode(
    arrays: dict[str, np.ndarray], requested: ValueType | None, levels: int | None, what: str
) -> tuple[ValueType, int | None, dict[str, torch.Tensor]]:
    """Decide the value type of the values as stored (see the module docstring) and convert every
    pool to genbench's representation of it (``genbench.data.info``); one decision for all pools."""
    every = np.concatenate([a.reshape(len(a), -1) for a in arrays.values()])
    kind, is_bytes = every.dtype.kind, every.dtype == np.uint8
    if kind not in "buif":
        raise DataFormatError(f"{what} holds {every.dtype} values; genbench reads numbers")
    if kind == "f" and not np.isfinite(every).all():
        nan, inf = int(np.isnan(every).sum()), int(np.isinf(every).sum())
        raise DataFormatError(f"{what} holds {nan} NaN and {inf} infinite values (of {every.size}); genbench "
                              "trains on finite numbers only")
    zero_one = bool(np.isin(every, (0, 1)).all())
    zero_full = bool(is_bytes and np.isin(every, (0, BYTE_LEVELS - 1)).all())
    if requested is None:
        if zero_one or zero_full:
            requested = ValueType.BINARY
        elif is_bytes:
            requested, levels = ValueType.DISCRETE, BYTE_LEVELS
        else:
            requested = ValueType.CATEGORICAL if kind in "iu" else ValueType.CONTINUOUS

    if requested is ValueType.BINARY:
        require_values(zero_one or zero_full, every, what, "value_type=binary needs only 0 and 1 (or 0 and 255 "
                       "in uint8 data)")
        scale = 1 if zero_one else BYTE_LEVELS - 1
        return requested, None, {k: torch.from_numpy(a.astype(np.float32)) / scale for k, a in arrays.items()}
    if requested is ValueType.CONTINUOUS:
        scale = BYTE_LEVELS - 1 if is_bytes else 1
        return requested, None, {k: torch.from_numpy(a.astype(np.float32)) / scale for k, a in arrays.items()}
    if kind == "f":
        if requested is ValueType.DISCRETE and levels is None:
            raise DataFormatError(f"{what} holds floats: value_type=discrete needs levels=L (values k/(L-1))")
        step = 1 if requested is ValueType.CATEGORICAL else levels - 1
        k = every * step
        require_values(bool((np.abs(k - np.round(k)) <= GRID_TOLERANCE).all()), every, what,
                       f"value_type={requested.value} needs values on the grid k/{step}, k = 0, 1, …")
        indices = {key: np.round(a * step).astype(np.int64) for key, a in arrays.items()}
    else:
        indices = {key: a.astype(np.int64) for key, a in arrays.items()}
    low, high = min(int(a.min()) for a in indices.values()), max(int(a.max()) for a in indices.values())
    if requested is ValueType.CATEGORICAL:
        require_values(low >= 0, every, what, "value_type=categorical needs non-negative category indices")
        return requested, None, {key: torch.from_numpy(a) for key, a in indices.items()}
    levels = levels or (BYTE_LEVELS if is_bytes else max(high + 1, 2))
    require_values(0 <= low and high <= levels - 1, every, what, f"levels={levels} needs values 0 … {levels - 1}")
    return requested, levels, {key: torch.from_numpy(a.astype(np.float32)) / (levels - 1) for key, a in indices.items()}


def require_values(condition: bool, values: np.ndarray, what: str, need: str) -> None:
    """Raise ``DataFormatError`` naming the data, what was needed and a few values it holds."""
    if not condition:
        shown = ", ".join(f"{v:g}" for v in np.unique(values)[:6].tolist())
        raise DataFormatError(f"{what}: {need}; its values include {shown}")


def encode_labels(pools: dict[str, Pool], what: str) -> tuple[dict[str, torch.Tensor | None], list[str] | None]:
    """Raw labels → class indices 0 … K-1 (classes in sorted order) per pool, and the class names."""
    labelled = [p.labels is not None for p in pools.values()]
    if not any(labelled):
        return {pool: None for pool in pools}, None
    if not all(labelled):
        raise DataFormatError(f"{what} has labels for some splits only; label all of them (y_… arrays, class "
                              "folders), or none")
    every = np.concatenate([p.labels for p in pools.values()])
    if every.dtype.kind == "f":
        if not np.isfinite(every).all() or not (every == np.round(every)).all():
            raise DataFormatError(f"{what}: labels must be integers or names, got values such as "
                                  f"{every[~(every == np.round(every))][:3]}")
        every = every.astype(np.int64)
    if every.dtype.kind not in "buiU":
        raise DataFormatError(f"{what}: labels must be integers or names, got {every.dtype}")
    classes = np.unique(every)
    labels = {pool: torch.from_numpy(np.searchsorted(classes, p.labels.astype(every.dtype)).astype(np.int64))
              for pool, p in pools.items()}
    return labels, [str(c) for c in classes.tolist()]


def describe(
    name: str, xs: dict[str, torch.Tensor], value_type: ValueType, levels: int | None, class_names: list[str] | None
) -> DataInfo:
    """The ``DataInfo``; latent_dim_hint: 16 for grey images, 64 for colour, min(16, D) otherwise."""
    some = next(iter(xs.values()))
    shape = tuple(some.shape[1:])
    if len(shape) == 3:
        hint = 16 if shape[0] == 1 else 64
    else:
        hint = min(16, int(np.prod(shape)))
    extra = {"class_names": class_names} if class_names is not None else {}
    n_classes = len(class_names) if class_names is not None else None
    if value_type is ValueType.CATEGORICAL:
        categories = infer_info(torch.cat(list(xs.values()))).categories
        return DataInfo(name, shape, value_type, categories=categories, n_classes=n_classes, latent_dim_hint=hint,
                        extra=extra)
    return DataInfo(name, shape, value_type, levels=levels, n_classes=n_classes, latent_dim_hint=hint, extra=extra)
