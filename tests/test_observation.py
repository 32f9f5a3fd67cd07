"""Decoder likelihoods against scipy.stats, and their samplers against their own masses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import special, stats

from genbench.baselines.observation import Bernoulli, Categorical, DiscretizedLogistic, Gaussian
from genbench.data import DataInfo, ValueType

LEVELS = 17
GRID = DataInfo("grid", (1,), ValueType.DISCRETE, levels=LEVELS)
VALUES = torch.arange(LEVELS, dtype=torch.float32)[:, None] / (LEVELS - 1)


def logistic_params(mu: float, scale: float, n: int) -> torch.Tensor:
    return torch.tensor([[mu, np.log(scale)]], dtype=torch.float32).expand(n, 2)


def scipy_discretized_logistic(mu: float, scale: float) -> np.ndarray:
    """log mass of each grid value: interior bins by CDF differences, edge bins take the tails."""
    half = 0.5 / (LEVELS - 1)
    x = VALUES[:, 0].double().numpy()
    dist = stats.logistic(loc=mu, scale=scale)
    upper, lower = dist.logcdf(x + half), dist.logcdf(x - half)
    # Right of the mode the CDFs are both near 1: difference the survival functions instead.
    sf_lower, sf_upper = dist.logsf(x - half), dist.logsf(x + half)
    sign = np.array([[1.0], [-1.0]])
    log_mass = np.where(x < mu, special.logsumexp(np.stack([upper, lower]), axis=0, b=sign),
                        special.logsumexp(np.stack([sf_lower, sf_upper]), axis=0, b=sign))
    log_mass[0] = upper[0]
    log_mass[-1] = dist.logsf(x[-1] - half)
    return log_mass


@pytest.mark.parametrize("mu, scale", [(0.4, 0.1), (0.0, 0.02), (1.3, 0.05), (0.5, 3.0)])
def test_discretized_logistic_equals_scipy_and_sums_to_one(mu, scale):
    model = DiscretizedLogistic(GRID)
    log_mass = model.log_prob(logistic_params(mu, scale, LEVELS), VALUES).double()
    expected = scipy_discretized_logistic(mu, scale)
    # float32 arithmetic: 1e-4 absolute in log space where the mass is not negligible;
    # far tails (mass < 1e-30) are compared relative to their size.
    np.testing.assert_allclose(log_mass.numpy(), expected, rtol=1e-3, atol=1e-4)
    assert log_mass.exp().sum().item() == pytest.approx(1.0, abs=1e-5)


def test_discretized_logistic_samples_follow_its_mass():
    model = DiscretizedLogistic(GRID)
    n = 50_000
    samples = model.sample(logistic_params(0.3, 0.15, n), torch.Generator().manual_seed(0))
    counts = np.bincount(GRID.to_indices(samples)[:, 0].numpy(), minlength=LEVELS)
    expected = np.exp(scipy_discretized_logistic(0.3, 0.15)) * n
    keep = expected > 5  # the chi-square approximation needs expected counts above ~5
    assert stats.chisquare(counts[keep], expected[keep] * counts[keep].sum() / expected[keep].sum()).pvalue > 1e-3


def test_bernoulli_equals_scipy():
    info = DataInfo("bits", (3,), ValueType.BINARY)
    logits = torch.tensor([[0.3, -2.0, 4.0]])
    x = torch.tensor([[1.0, 0.0, 0.0]])
    p = special.expit(logits.double().numpy())
    expected = stats.bernoulli.logpmf(x.numpy(), p).sum()
    assert Bernoulli(info).log_prob(logits, x).item() == pytest.approx(expected, rel=1e-6)


def test_categorical_sums_to_one_and_samples_match():
    info = DataInfo("cats", (2,), ValueType.CATEGORICAL, categories=(("a", "b", "c"), ("u", "v")))
    model = Categorical(info)
    params = torch.randn(1, model.n_params, generator=torch.Generator().manual_seed(0))
    everything = torch.tensor([[a, b] for a in range(3) for b in range(2)])
    mass = model.log_prob(params.expand(6, -1), everything).exp()
    assert mass.sum().item() == pytest.approx(1.0, abs=1e-6)
    samples = model.sample(params.expand(60_000, -1), torch.Generator().manual_seed(1))
    counts = np.bincount((samples[:, 0] * 2 + samples[:, 1]).numpy(), minlength=6)
    expected = mass.double().numpy()
    assert stats.chisquare(counts, expected / expected.sum() * 60_000).pvalue > 1e-3


def test_gaussian_equals_scipy():
    info = DataInfo("real", (2,), ValueType.CONTINUOUS)
    params = torch.tensor([[0.5, -1.0, np.log(0.3), np.log(2.0)]], dtype=torch.float32)
    x = torch.tensor([[0.1, 0.7]])
    expected = stats.norm(loc=[0.5, -1.0], scale=[0.3, 2.0]).logpdf(x.numpy()).sum()
    assert Gaussian(info).log_prob(params, x).item() == pytest.approx(expected, rel=1e-6)
