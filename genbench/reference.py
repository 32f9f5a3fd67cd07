"""The references every model is compared with, behind the model contract: the true distribution
of a synthetic dataset, or, where none is known, the real data itself."""

from __future__ import annotations

from genbench.config import NoOptions
from genbench.data.info import DataInfo
from genbench.data.splits import Split, TrueDistribution
from genbench.model import Capability, FixedModel
from genbench.records import REAL_DATA, REFERENCE_FAMILY, TRUE_DISTRIBUTION
from genbench.sample_set import FixedSamples


class TrueModel(FixedModel):
    """The data's generating distribution (known in closed form): samples and exact likelihood."""

    name = TRUE_DISTRIBUTION
    family = REFERENCE_FAMILY
    config_class = NoOptions
    capabilities = frozenset({Capability.SAMPLE, Capability.EXACT_LIKELIHOOD})

    def __init__(self, distribution: TrueDistribution, info: DataInfo):
        super().__init__()
        self.distribution = distribution
        self.build(info)

    @property
    def likelihood_kind(self) -> str:
        return self.distribution.kind


    def _log_prob(self, x):
        return self.distribution.log_prob(x)

    def _sample(self, n, generator):
        return self.distribution.sample(n, generator)


class RealData(FixedSamples):
    """Held-out real data as a sampler: ``sample(n)`` draws n distinct training examples.

    Sample-based metrics compare samples with the test split, so this gives their real-vs-real
    figures (training examples vs test examples, two disjoint draws from one distribution): what
    a perfect model would score at the same n. It has no likelihood.
    """

    name = REAL_DATA
    family = REFERENCE_FAMILY

    def __init__(self, pool: Split):
        super().__init__(pool.x, pool.info, f"{pool.name} examples", split=pool.name)
