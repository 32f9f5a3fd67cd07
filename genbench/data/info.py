"""What a dataset is: its example shape, value type and the discrete grid it lives on.

Representation of one example as a tensor, by value type:

- ``binary``: float in {0, 1};
- ``discrete``: float on the grid k / (L - 1), k = 0 … L - 1 (8-bit images: L = 256);
- ``categorical``: int64 category indices, one per feature;
- ``continuous``: float, unbounded.

The likelihood protocol needs the grid: a discrete value x owns the bin
[x - Δ/2, x + Δ/2) with Δ = 1 / (L - 1) (Δ = 1 for binary data).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import torch

from genbench.errors import UsageError
from genbench.infra.rng import rand


class ValueType(str, Enum):
    BINARY = "binary"
    DISCRETE = "discrete"
    CONTINUOUS = "continuous"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class DataInfo:
    """Shape, value type and labels of a dataset; JSON round-trips through ``to_dict``."""

    name: str
    shape: tuple[int, ...]
    value_type: ValueType
    levels: int | None = None
    categories: tuple[tuple[str, ...], ...] | None = None
    feature_names: tuple[str, ...] | None = None
    n_classes: int | None = None
    factor_names: tuple[str, ...] | None = None
    latent_dim_hint: int = 16
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_type", ValueType(self.value_type))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        if self.value_type is ValueType.DISCRETE and (self.levels is None or self.levels < 2):
            raise ValueError("discrete data needs levels >= 2")
        if self.value_type is ValueType.CATEGORICAL:
            if not self.categories or len(self.categories) != self.dim:
                raise ValueError("categorical data needs one category list per feature")
            object.__setattr__(self, "categories", tuple(tuple(c) for c in self.categories))

    @property
    def dim(self) -> int:
        """Number of scalar values per example (D in nats → bits/dim)."""
        return math.prod(self.shape)

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def is_discrete(self) -> bool:
        """Binary, discrete and categorical data assign probability mass to points."""
        return self.value_type is not ValueType.CONTINUOUS

    @property
    def n_categories(self) -> list[int]:
        """Number of values each flattened feature can take (binary: 2, discrete: L)."""
        if self.value_type is ValueType.CATEGORICAL:
            return [len(c) for c in self.categories]
        if self.value_type is ValueType.BINARY:
            return [2] * self.dim
        if self.value_type is ValueType.DISCRETE:
            return [self.levels] * self.dim
        raise UsageError(f"{self.name} is continuous and has no categories")

    @property
    def bin_width(self) -> float:
        """Δ: the width of the bin each grid value owns (binary 1, discrete 1/(L-1))."""
        if self.value_type is ValueType.BINARY:
            return 1.0
        if self.value_type is ValueType.DISCRETE:
            return 1.0 / (self.levels - 1)
        raise UsageError(f"{self.name} is {self.value_type.value} and has no quantization grid")

    def to_indices(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, *shape) → (N, D) int64 value indices in 0 … n_categories - 1."""
        flat = x.reshape(x.shape[0], -1)
        if self.value_type is ValueType.CATEGORICAL:
            return flat.long()
        return torch.round(flat.double() / self.bin_width).long()

    def from_indices(self, k: torch.Tensor) -> torch.Tensor:
        """(N, D) int64 value indices → examples (N, *shape) in the data's representation."""
        k = k.reshape(k.shape[0], *self.shape)
        if self.value_type is ValueType.CATEGORICAL:
            return k.long()
        return k.float() * self.bin_width

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """Project real values into the data's value set: clamp to [0, 1] and round to the grid."""
        if self.value_type is ValueType.CONTINUOUS:
            return x
        if self.value_type is ValueType.CATEGORICAL:
            raise UsageError(f"{self.name} is categorical: real values cannot be rounded into it")
        return torch.round(x.clamp(0, 1) / self.bin_width) * self.bin_width

    def dequantize(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """y = x + (u - ½) Δ, u ~ U[0, 1): a uniform point in the bin the grid value x owns."""
        u = rand(*x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + (u - 0.5) * self.bin_width

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        """Clamp real values to the data's range ([0, 1] for binary and discrete data)."""
        if self.value_type in (ValueType.BINARY, ValueType.DISCRETE):
            return x.clamp(0, 1)
        return x

    def check(self, x: torch.Tensor, what: str = "x") -> None:
        """Raise ``UsageError`` unless ``x`` is a batch of examples of this dataset."""
        if not isinstance(x, torch.Tensor):
            raise UsageError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
        if tuple(x.shape[1:]) != self.shape:
            raise UsageError(f"{what} has example shape {tuple(x.shape[1:])}; {self.name} has {self.shape}")
        if (self.value_type is ValueType.CATEGORICAL) != (not x.is_floating_point()):
            kind = "integer category indices" if self.value_type is ValueType.CATEGORICAL else "floats"
            raise UsageError(f"{what} must hold {kind} for {self.name}, got dtype {x.dtype}")

    def value_problem(self, x: torch.Tensor) -> str | None:
        """Why the values of ``x`` (examples of this dataset's shape and type) are not this dataset's values:
        NaN or infinite, outside [0, 1] (binary, discrete) or outside the categories; None when they are."""
        if x.is_floating_point():
            bad = int((~torch.isfinite(x)).sum())
            if bad:
                return f"{bad} of {x.numel()} values are NaN or infinite"
        if self.value_type in (ValueType.BINARY, ValueType.DISCRETE):
            outside = int(((x < 0) | (x > 1)).sum())
            if outside:
                return (f"{outside} of {x.numel()} values lie outside [0, 1] (from {float(x.min()):.4g} to "
                        f"{float(x.max()):.4g})")
        if self.value_type is ValueType.CATEGORICAL:
            sizes = torch.tensor(self.n_categories).reshape(self.shape)
            outside = int(((x < 0) | (x >= sizes)).sum())
            if outside:
                return f"{outside} of {x.numel()} values are not category indices"
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value_type"] = self.value_type.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataInfo:
        data = dict(data)
        for key in ("shape", "feature_names", "factor_names"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        if data.get("categories") is not None:
            data["categories"] = tuple(tuple(c) for c in data["categories"])
        return cls(**data)


def infer_info(x: torch.Tensor, name: str = "tensor") -> DataInfo:
    """Describe a bare tensor: int64 → categorical, all values in {0, 1} → binary, else continuous.

    Discrete grids cannot be told apart from continuous values reliably: describe such data with a
    ``DataInfo(value_type=ValueType.DISCRETE, levels=L, ...)`` and ``make_data(x, info)`` instead, or load
    it from a file with ``value_type=discrete:levels=L``.
    """
    if x.ndim < 2:
        raise UsageError(f"expected a batch of examples (N, ...), got shape {tuple(x.shape)}")
    shape = tuple(x.shape[1:])
    if not x.is_floating_point():
        flat = x.reshape(x.shape[0], -1)
        if flat.min() < 0:
            raise UsageError("integer data must hold non-negative category indices")
        sizes = (flat.max(dim=0).values + 1).tolist()
        categories = tuple(tuple(str(v) for v in range(int(s))) for s in sizes)
        return DataInfo(name, shape, ValueType.CATEGORICAL, categories=categories)
    if bool(((x == 0) | (x == 1)).all()):
        return DataInfo(name, shape, ValueType.BINARY)
    return DataInfo(name, shape, ValueType.CONTINUOUS)
