"""Decoder likelihoods p(x | params) that fit each value type.

``params`` is a flat (B, P) network output; ``x`` is a batch in the data's representation.

- binary → Bernoulli (logits);
- discrete (L levels) → discretized logistic (Salimans et al. 2017, PixelCNN++, eq. 2): the
  logistic's mass over the bin of each grid value, the edge bins taking the tails;
- categorical → one categorical per feature (logits);
- continuous → diagonal Gaussian (mean and log standard deviation).

All but the Gaussian give probability mass, so a VAE's bound on them is a bound on a discrete
probability without dequantization.
"""

from __future__ import annotations

import abc
import math

import torch
import torch.nn.functional as F

from genbench.data.info import DataInfo, ValueType
from genbench.infra.rng import rand, randn

LOG_SCALE_MIN, LOG_SCALE_MAX = -7.0, 5.0
LOG_2PI = math.log(2 * math.pi)


class ObservationModel(abc.ABC):
    """p(x | params) for one value type; ``n_params`` outputs feed it per example."""

    def __init__(self, info: DataInfo):
        self.info = info

    @property
    @abc.abstractmethod
    def n_params(self) -> int:
        """Number of decoder outputs per example."""

    @abc.abstractmethod
    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(B,) log p(x | params), summed over features."""

    @abc.abstractmethod
    def sample(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """(B, *shape) draws in the data's representation."""

    @abc.abstractmethod
    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """(B, *shape): the mean (the mode for categories), in the data's value range."""

    def point(self, params: torch.Tensor) -> torch.Tensor:
        """(B, *shape): the deterministic output in the data's value set (the mean on the grid,
        the mode for categories), for models that generate without observation noise."""
        mean = self.mean(params)
        return mean if self.info.value_type is ValueType.CATEGORICAL else self.info.quantize(mean)

    def _shape(self, flat: torch.Tensor) -> torch.Tensor:
        return flat.reshape(flat.shape[0], *self.info.shape)


class Bernoulli(ObservationModel):
    @property
    def n_params(self) -> int:
        return self.info.dim

    def log_prob(self, params, x):
        return -F.binary_cross_entropy_with_logits(params, x.reshape(len(x), -1), reduction="none").sum(1)

    def sample(self, params, generator):
        u = rand(*params.shape, generator=generator, device=params.device)
        return self._shape((u < torch.sigmoid(params)).float())

    def mean(self, params):
        return self._shape(torch.sigmoid(params))


class LocationScale(ObservationModel):
    """A location μ and a log-scale per feature (the scale clamped for numerical safety)."""

    @property
    def n_params(self) -> int:
        return 2 * self.info.dim

    def _split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        location, log_scale = params.chunk(2, dim=1)
        return location, log_scale.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)


class DiscretizedLogistic(LocationScale):
    """Per-feature logistic(μ, s) integrated over the bin [x - Δ/2, x + Δ/2]; edges take the tails."""

    def log_prob(self, params, x):
        mu, log_s = self._split(params)
        x = x.reshape(len(x), -1)
        half_bin = self.info.bin_width / 2
        inv_s = torch.exp(-log_s)
        upper = inv_s * (x - mu + half_bin)
        lower = inv_s * (x - mu - half_bin)
        log_cdf_upper = upper - F.softplus(upper)  # log σ(upper)
        log_cdf_lower = lower - F.softplus(lower)  # log σ(lower)
        log_sf_upper = -F.softplus(upper)  # log (1 - σ(upper))
        log_sf_lower = -F.softplus(lower)  # log (1 - σ(lower))
        # The bin's mass is σ(upper) - σ(lower) = (1 - σ(lower)) - (1 - σ(upper)). Left of μ the
        # CDFs are small and accurate in log space, right of μ the survival functions are: take
        # log a + log(1 - exp(log b - log a)) from the accurate pair so neither tail rounds to 0.
        left = x < mu
        log_a = torch.where(left, log_cdf_upper, log_sf_lower)
        log_b = torch.where(left, log_cdf_lower, log_sf_upper)
        log_mass = log_a + torch.log(-torch.expm1((log_b - log_a).clamp(max=-1e-12)))
        eps = self.info.bin_width / 4
        log_mass = torch.where(x < eps, log_cdf_upper, log_mass)
        log_mass = torch.where(x > 1 - eps, log_sf_lower, log_mass)
        return log_mass.sum(1)

    def sample(self, params, generator):
        mu, log_s = self._split(params)
        u = rand(*mu.shape, generator=generator, device=mu.device).clamp(1e-6, 1 - 1e-6)
        y = mu + torch.exp(log_s) * (torch.log(u) - torch.log1p(-u))
        return self.info.quantize(self._shape(y))

    def mean(self, params):
        return self._shape(self._split(params)[0].clamp(0, 1))


class Categorical(ObservationModel):
    """One categorical per feature; logits padded to the largest category count."""

    def __init__(self, info: DataInfo):
        super().__init__(info)
        self.sizes = torch.tensor(info.n_categories)
        self.max_categories = int(self.sizes.max())
        self.valid = torch.arange(self.max_categories)[None, :] < self.sizes[:, None]  # (D, Cmax)

    @property
    def n_params(self) -> int:
        return self.info.dim * self.max_categories

    def log_softmax(self, params):
        logits = params.reshape(len(params), self.info.dim, self.max_categories)
        logits = logits.masked_fill(~self.valid.to(params.device), float("-inf"))
        return torch.log_softmax(logits, dim=-1)

    def log_prob(self, params, x):
        log_p = self.log_softmax(params)
        return log_p.gather(2, x.reshape(len(x), -1, 1).long()).squeeze(2).sum(1)

    def sample(self, params, generator):
        probs = self.log_softmax(params).exp()
        u = rand(*probs.shape[:2], 1, generator=generator, device=params.device)
        k = (probs.cumsum(-1) < u).sum(-1)  # inverse CDF; rounding may step past the last category
        k = torch.minimum(k, self.sizes.to(k.device) - 1)
        return self._shape(k.long())

    def mean(self, params):
        return self._shape(self.log_softmax(params).argmax(-1))


class Gaussian(LocationScale):
    """Diagonal Gaussian N(μ, diag σ²), log σ clamped for numerical safety."""

    def log_prob(self, params, x):
        mu, log_sigma = self._split(params)
        z = (x.reshape(len(x), -1) - mu) * torch.exp(-log_sigma)
        return (-0.5 * z.pow(2) - log_sigma - 0.5 * LOG_2PI).sum(1)

    def sample(self, params, generator):
        mu, log_sigma = self._split(params)
        return self._shape(mu + torch.exp(log_sigma) * randn(*mu.shape, generator=generator, device=mu.device))

    def mean(self, params):
        return self._shape(self._split(params)[0])


def observation_model(info: DataInfo) -> ObservationModel:
    return {
        ValueType.BINARY: Bernoulli,
        ValueType.DISCRETE: DiscretizedLogistic,
        ValueType.CATEGORICAL: Categorical,
        ValueType.CONTINUOUS: Gaussian,
    }[info.value_type](info)


def network_input(x: torch.Tensor, info: DataInfo) -> torch.Tensor:
    """What an encoder sees: categories one-hot (B, Σ C_d); other types as float, shape kept."""
    if info.value_type is ValueType.CATEGORICAL:
        flat = x.reshape(len(x), -1).long()
        return torch.cat([F.one_hot(flat[:, d], c) for d, c in enumerate(info.n_categories)], 1).float()
    return x.float()


def network_input_size(info: DataInfo) -> int:
    return sum(info.n_categories) if info.value_type is ValueType.CATEGORICAL else info.dim
