"""The references every model is compared with, behind the model contract: the true distribution
of a synthetic dataset, or, where none is known, the real data itself."""

from __future__ import annotations

import torch

from genbench.config import NoOptions
from genbench.data.info import DataInfo
from genbench.data.splits import Split, TrueDistribution
from genbench.errors import UsageError
from genbench.model import Capability, GenerativeModel

TRUE_DISTRIBUTION = "true-density"
REAL_DATA = "real-data"
REFERENCES = (TRUE_DISTRIBUTION, REAL_DATA)
"""Labels of the reference columns in metrics.csv (the marks' real-vs-real figures): never the
best model, never marked against themselves."""


class TrueModel(GenerativeModel):
    """The data's generating distribution (known in closed form): samples and exact likelihood."""

    name = TRUE_DISTRIBUTION
    config_class = NoOptions
    capabilities = frozenset({Capability.SAMPLE, Capability.EXACT_LIKELIHOOD})

    def __init__(self, distribution: TrueDistribution, info: DataInfo):
        super().__init__()
        self.distribution = distribution
        self.build(info)

    @property
    def likelihood_kind(self) -> str:
        return self.distribution.kind

    def _build(self, info: DataInfo) -> None:
        pass

    def _fit(self, x, x_val, generator) -> None:
        pass

    def _log_prob(self, x):
        return self.distribution.log_prob(x)

    def _sample(self, n, generator):
        return self.distribution.sample(n, generator)


class RealData(GenerativeModel):
    """Held-out real data as a sampler: ``sample(n)`` draws n distinct training examples.

    Sample-based metrics compare samples with the test split, so this gives their real-vs-real
    figures (training examples vs test examples, two disjoint draws from one distribution): what
    a perfect model would score at the same n. It has no likelihood.
    """

    name = REAL_DATA
    config_class = NoOptions
    capabilities = frozenset({Capability.SAMPLE})

    def __init__(self, pool: Split):
        super().__init__()
        self.pool = pool
        self.build(pool.info)

    def _build(self, info: DataInfo) -> None:
        pass

    def _fit(self, x, x_val, generator) -> None:
        pass

    def _sample(self, n, generator):
        if n > len(self.pool):
            raise UsageError(f"{self.name} holds {len(self.pool)} {self.pool.name} examples and cannot draw "
                             f"{n} distinct ones; ask for n ≤ {len(self.pool)}")
        return self.pool.x[torch.randperm(len(self.pool), generator=generator)[:n]].clone()
