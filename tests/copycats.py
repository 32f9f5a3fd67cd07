"""Models that copy their training set, for the memorisation tests: every sample metric rewards them.

``Copycat`` returns training examples verbatim; ``NoisyCopycat`` adds Gaussian noise of standard deviation
``sigma`` (in the data's units) to them and puts the result back on the data's grid. Name them by import path
with this folder on ``sys.path``: ``genbench run --models gan,copycats:Copycat,copycats:NoisyCopycat:sigma=0.2``.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.config import Config
from genbench.infra.rng import randn
from genbench.model import Capability, GenerativeModel


@dataclasses.dataclass(frozen=True)
class NoiseConfig(Config):
    sigma: float = 0.1


class Copycat(GenerativeModel):
    """Samples are training examples drawn at random, verbatim."""

    name = "copycat"
    capabilities = frozenset({Capability.SAMPLE})

    def _build(self, info):
        self.register_buffer("examples_", torch.empty(0, *info.shape))

    def _fit(self, x, x_val, generator):
        self.examples_ = x.clone()

    def _sample(self, n, generator):
        rows = torch.randint(len(self.examples_), (n,), generator=generator)
        return self.examples_[rows].clone()


class NoisyCopycat(Copycat):
    """Training examples plus N(0, σ²) noise, put back on the data's grid (clipped to its range)."""

    name = "noisy-copycat"
    config_class = NoiseConfig

    def _sample(self, n, generator):
        x = super()._sample(n, generator)
        noisy = x + self.config.sigma * randn(*x.shape, generator=generator, device=x.device)
        return self._info.quantize(noisy)
