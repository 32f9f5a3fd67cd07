"""Naive Bayes as a density: every feature independent, p(x) = Π_d p(x_d).

Each feature gets a categorical distribution over its values; for binary data that is the
Bernoulli. With additive (Laplace/Lidstone) smoothing ``alpha``,

    θ_{d,c} = (count_{d,c} + α) / (N + α C_d),

and α = 0 is the maximum-likelihood estimate (Murphy, *Machine Learning: A Probabilistic
Perspective*, 2012, §3.5). There is no class variable: this is the fully factorised model of
the lecture's table, fit without labels.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.config import Config, require
from genbench.data.info import DataInfo, ValueType
from genbench.model import Capability, GenerativeModel


@dataclasses.dataclass(frozen=True)
class NaiveBayesConfig(Config):
    alpha: float = 1.0

    def validate(self) -> None:
        require(self.alpha >= 0, f"alpha must be 0 or more (0 is the maximum-likelihood estimate), got {self.alpha}")


class NaiveBayes(GenerativeModel):
    """Independent categorical (Bernoulli for binary) features with additive smoothing."""

    name = "naive-bayes"
    config_class = NaiveBayesConfig
    capabilities = frozenset({Capability.SAMPLE, Capability.EXACT_LIKELIHOOD})

    @classmethod
    def unsupported_reason(cls, info: DataInfo) -> str | None:
        if info.value_type is ValueType.CONTINUOUS:
            return f"naive Bayes models binary, discrete or categorical features; {info.name} is continuous"
        return None

    def _build(self, info: DataInfo) -> None:
        sizes = torch.tensor(info.n_categories)
        log_probs = torch.full((info.dim, int(sizes.max())), float("-inf"), dtype=torch.float64)
        self.register_buffer("log_probs_", log_probs)  # (D, Cmax), -inf beyond each C_d
        self.register_buffer("counts_", torch.zeros_like(log_probs))

    def _fit(self, x, x_val, generator) -> None:
        k = self._info.to_indices(x)  # (N, D)
        counts = torch.zeros_like(self.counts_).scatter_add_(
            1, k.T, torch.ones(k.shape[::-1], dtype=torch.float64, device=k.device)
        )
        sizes = torch.tensor(self._info.n_categories, dtype=torch.float64, device=k.device)
        valid = torch.arange(counts.shape[1], device=k.device)[None, :] < sizes[:, None]
        alpha = self.config.alpha
        probs = (counts + alpha) / (len(x) + alpha * sizes[:, None])
        self.counts_.copy_(counts)
        self.log_probs_.copy_(torch.where(valid, probs.log(), float("-inf")))

    def _log_prob(self, x):
        k = self._info.to_indices(x)  # (N, D)
        return self.log_probs_.gather(1, k.T).sum(0)

    def _sample(self, n, generator):
        probs = self.log_probs_.exp()  # (D, Cmax)
        k = torch.multinomial(probs.cpu(), n, replacement=True, generator=generator)  # (D, n)
        return self._info.from_indices(k.T).to(self.device)
    family = "classical"
