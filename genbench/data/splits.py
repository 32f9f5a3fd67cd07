"""Splits of a dataset (a torch ``Dataset`` that knows its ``DataInfo``) and the bundle of three."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import torch
from torch.utils.data import Dataset

from genbench.data.info import DataInfo, infer_info
from genbench.errors import UsageError


class Split(Dataset):
    """One split: examples ``x`` (N, *shape), optional ``labels`` (N,) and ``factors`` (N, F).

    Indexing yields examples only; ``labels`` and ``factors`` are read as attributes.
    ``redraw(generator)``, where given, returns a fresh draw of the whole split (same shape as
    ``x``): trainers call it once per epoch, which is how dynamic binarization works.
    """

    def __init__(
        self,
        x: torch.Tensor,
        info: DataInfo,
        *,
        labels: torch.Tensor | None = None,
        factors: torch.Tensor | None = None,
        name: str = "train",
        redraw: Callable[[torch.Generator | None], torch.Tensor] | None = None,
    ):
        info.check(x, f"{info.name}/{name}")
        for extra, what in ((labels, "labels"), (factors, "factors")):
            if extra is not None and len(extra) != len(x):
                raise UsageError(f"{what} has {len(extra)} rows for {len(x)} examples")
        self.x, self.info, self.labels, self.factors, self.name = x, info, labels, factors, name
        self.redraw = redraw

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.x[index]

    def __repr__(self) -> str:
        return f"Split({self.info.name}/{self.name}, n={len(self)}, shape={self.info.shape})"


def fingerprint(info: DataInfo, tensors: Iterable[torch.Tensor | None]) -> str:
    """SHA-256 (hex) of the data's description and the bytes of ``tensors`` (None skipped)."""
    digest = hashlib.sha256(repr(sorted(info.to_dict().items())).encode())
    for tensor in tensors:
        if tensor is not None:
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class TrueDistribution(Protocol):
    """The generating distribution of a synthetic dataset, where it is known in closed form."""

    kind: str  # "density" or "mass"

    def log_prob(self, x: torch.Tensor) -> torch.Tensor: ...

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...


@dataclass(frozen=True)
class Data:
    """A loaded dataset: fixed ``train``/``val``/``test`` splits and what they hold."""

    info: DataInfo
    train: Split
    val: Split
    test: Split
    options: dict[str, Any] = field(default_factory=dict)
    true_distribution: TrueDistribution | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over every split's bytes: a changed dataset gets a new fingerprint."""
        return fingerprint(self.info, (t for split in (self.train, self.val, self.test)
                                       for t in (split.x, split.labels, split.factors)))

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise UsageError(f"unknown split {name!r}; valid: train, val, test")
        return getattr(self, name)


SUBSET_SEED = 0
"""The seed of every fixed subset of a split that a metric measures (``subset_rows``)."""


def subset_rows(split: Split, n: int) -> torch.Tensor:
    """The rows a metric measures of ``split``: all of them, or a fixed random subset of n (seed 0, in order)
    when the split holds more."""
    if n >= len(split):
        return torch.arange(len(split))
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(SUBSET_SEED))
    return order[:n].sort().values


def split_indices(n: int, fractions: Sequence[float], seed: int = 0) -> list[torch.Tensor]:
    """A fixed random partition of range(n) into parts of the given fractions (the last gets the rest)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    sizes = [int(round(f * n)) for f in fractions[:-1]]
    sizes.append(n - sum(sizes))
    if min(sizes) <= 0:
        raise UsageError(f"{n} examples are too few to split into {len(sizes)} non-empty parts")
    return list(torch.split(order, sizes))


def make_data(
    x: torch.Tensor,
    info: DataInfo,
    *,
    labels: torch.Tensor | None = None,
    factors: torch.Tensor | None = None,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    split_seed: int = 0,
    test: Split | None = None,
    **kwargs: Any,
) -> Data:
    """Split one pool of examples into train/val/test by a fixed seed (recorded in provenance).

    Given a fixed ``test`` split (an official test set), the pool is split into train and val
    only, and ``fractions`` has two parts.
    """
    names = ("train", "val") if test is not None else ("train", "val", "test")
    if len(fractions) != len(names):
        raise ValueError(f"splitting into {', '.join(names)} needs {len(names)} fractions, got {list(fractions)}")
    parts = split_indices(len(x), fractions, split_seed)

    def take(t: torch.Tensor | None, idx: torch.Tensor) -> torch.Tensor | None:
        return None if t is None else t[idx]

    splits = [
        Split(x[idx], info, labels=take(labels, idx), factors=take(factors, idx), name=name)
        for idx, name in zip(parts, names)
    ]
    provenance = {"split_seed": split_seed, "split_fractions": list(fractions)}
    if test is not None:
        splits.append(test)
        provenance["test_split"] = "fixed"
    provenance.update(kwargs.pop("provenance", {}))
    return Data(info, *splits, provenance=provenance, **kwargs)


def as_examples(data: torch.Tensor | Dataset, what: str = "data") -> tuple[torch.Tensor, DataInfo]:
    """Accept a Tensor (N, ...), a ``Split`` or any torch Dataset; return (examples, info).

    Items of a plain Dataset may be tensors or tuples whose first element is the example
    (torchvision style ``(image, label)``); the value type is then inferred (``infer_info``).
    """
    if isinstance(data, Split):
        return data.x, data.info
    if isinstance(data, torch.Tensor):
        return data, infer_info(data)
    if isinstance(data, Dataset):
        try:
            items = [data[i] for i in range(len(data))]  # type: ignore[arg-type]
        except TypeError:
            raise UsageError(f"{what} must support len() and indexing") from None
        if not items:
            raise UsageError(f"{what} is empty")
        x = torch.stack([torch.as_tensor(item[0] if isinstance(item, tuple | list) else item) for item in items])
        return x, infer_info(x)
    raise UsageError(f"{what} must be a torch.Tensor or a torch Dataset, got {type(data).__name__}")
