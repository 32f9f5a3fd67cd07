"""A fixed set of examples behind the model contract: real data drawn as a reference, or the samples of
a model trained anywhere, read from a file (``genbench score``).

``sample(n, generator)`` draws n distinct rows (for sample grids; the real-data reference's draws).
``draw(n, ...)``, what sample-based metrics compare with the data, is where the two differ: the
real-data reference draws its rows at random like any sampler, while a ``SampleSet`` gives its first
n rows in the file's order, so that scoring a model's saved samples reproduces, to every digit, what
``genbench run`` measured on the same samples.
"""

from __future__ import annotations

from typing import Any

import torch

from genbench.data.info import DataInfo
from genbench.errors import UsageError
from genbench.model import Capability, FixedModel


class FixedSamples(FixedModel):
    """Examples ``x`` (N, *info.shape) as a sampler without replacement; no likelihood, no latent space."""

    capabilities = frozenset({Capability.SAMPLE})

    def __init__(self, x: torch.Tensor, info: DataInfo, what: str, split: str | None = None):
        super().__init__()
        self.build(info)
        info.check(x, what)
        self.x, self.what = x, what
        self.split = split
        """The dataset split the examples are rows of (``"train"`` for the real-data reference; None: a file)."""

    def __len__(self) -> int:
        return len(self.x)


    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        if n > len(self.x):
            raise UsageError(f"{self.name} holds {len(self.x)} {self.what} and cannot draw {n} distinct ones; "
                             f"ask for n ≤ {len(self.x)}")
        return self.x[torch.randperm(len(self.x), generator=generator)[:n]].clone()


SAMPLE_SET = "samples"


class SampleSet(FixedSamples):
    """The samples of a model trained anywhere, read from a file or folder (``genbench score``).

    Only metrics computed from samples alone measure it (``Metric.from_samples``); the others say
    "samples only". ``source`` describes the file (path, format, rows, content hash) for the records.
    """

    name = SAMPLE_SET
    samples_only = True

    def __init__(self, x: torch.Tensor, info: DataInfo, source: dict[str, Any]):
        super().__init__(x, info, "samples")
        self.source = source

    def draw(self, n: int, generator: torch.Generator | None, batch_size: int = 500) -> torch.Tensor:
        """The first n samples, in the file's order (``generator`` is not used: nothing is drawn)."""
        if n > len(self.x):
            raise UsageError(f"the samples file holds {len(self.x)} samples; the protocol compares {n}")
        return self.x[:n].clone()
