"""The true distribution of a synthetic dataset, behind the model contract: the reference row."""

from __future__ import annotations

import dataclasses

from genbench.config import Config
from genbench.data.info import DataInfo
from genbench.data.splits import TrueDistribution
from genbench.model import Capability, GenerativeModel

TRUE_DISTRIBUTION = "true-density"
REFERENCES = (TRUE_DISTRIBUTION,)
"""Columns that are references, not models: never the best model, never marked against themselves."""


@dataclasses.dataclass(frozen=True)
class _NoOptions(Config):
    pass


class TrueModel(GenerativeModel):
    """The data's generating distribution (known in closed form): samples and exact likelihood."""

    name = TRUE_DISTRIBUTION
    config_class = _NoOptions
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
