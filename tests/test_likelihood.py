"""The likelihood protocol: the importance-weighted bound and dequantization, against closed forms."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

import genbench
from genbench.config import Config
from genbench.data import DataInfo, Split, ValueType
from genbench.data.splits import Data, subset_rows
from genbench.infra.rng import randn
from genbench.metrics.likelihood import (
    BOUND_TERMS,
    LikelihoodOptions,
    LogLikelihood,
    importance_sampled_log_likelihood,
    iw_bound,
)
from genbench.model import Capability, GenerativeModel
from genbench.service.evaluation import eval_context

F64 = torch.float64


@dataclasses.dataclass(frozen=True)
class LinearGaussianConfig(Config):
    inflate: float = 1.0
    shift: float = 0.0


class LinearGaussian(GenerativeModel):
    """z ~ N(0, I), x | z ~ N(W z + b, s² I), so p(x) = N(b, W Wᵀ + s² I) in closed form.

    The proposal is the exact posterior N(m, S) with its mean moved by ``shift`` and its
    standard deviation scaled by ``inflate``; (1, 0) makes every importance weight equal p(x).
    """

    name = "linear-gaussian"
    config_class = LinearGaussianConfig
    capabilities = frozenset({Capability.IMPORTANCE_SAMPLER})

    def _build(self, info):
        g = torch.Generator().manual_seed(0)
        self.register_buffer("w", torch.randn(info.dim, 2, generator=g, dtype=F64))
        self.register_buffer("b", torch.randn(info.dim, generator=g, dtype=F64))
        self.s2 = 0.5

    def _fit(self, x, x_val, generator):
        pass

    def marginal(self):
        return stats.multivariate_normal(self.b.numpy(), (self.w @ self.w.T).numpy() + self.s2 * np.eye(len(self.b)))

    def _posterior(self, x):
        precision = torch.eye(2, dtype=F64) + self.w.T @ self.w / self.s2
        cov = torch.linalg.inv(precision)
        mean = (x.double() - self.b) @ self.w @ cov.T / self.s2
        return mean + self.config.shift, cov * self.config.inflate**2

    def _propose(self, x, k, generator):
        mean, cov = self._posterior(x)
        q = torch.distributions.MultivariateNormal(mean, cov)
        chol = torch.linalg.cholesky(cov)
        z = mean + randn(k, len(x), 2, generator=generator, dtype=F64) @ chol.T
        return z, q.log_prob(z)

    def _log_joint(self, x, z):
        prior = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
        mean = z @ self.w.T + self.b
        lik = torch.distributions.Normal(mean, math.sqrt(self.s2)).log_prob(x.double()).sum(-1)
        return prior.log_prob(z) + lik


INFO = DataInfo("gaussian", (4,), ValueType.CONTINUOUS)


def fitted(**options) -> LinearGaussian:
    model = LinearGaussian(**options)
    model.build(INFO)
    return model


def test_iw_bound_kernel_is_log_mean_exp():
    log_w = torch.tensor([[0.0, -1.0], [math.log(3.0), -2.0]], dtype=F64)
    expected = [math.log((1 + 3) / 2), math.log((math.exp(-1) + math.exp(-2)) / 2)]
    assert torch.allclose(iw_bound(log_w), torch.tensor(expected, dtype=F64))


def test_with_the_exact_posterior_every_k_gives_the_exact_likelihood():
    model = fitted()
    x = torch.from_numpy(model.marginal().rvs(50, random_state=0))
    exact = model.marginal().logpdf(x.numpy())
    for k in (1, 7):
        estimate = importance_sampled_log_likelihood(model, x.float(), k, torch.Generator().manual_seed(k))
        np.testing.assert_allclose(estimate.numpy(), model.marginal().logpdf(x.float().double().numpy()), rtol=1e-9)
    assert np.isfinite(exact).all()


def test_bound_tightens_with_k_and_approaches_the_exact_likelihood():
    """Averaged over 2000 examples the Monte Carlo error is ~1e-3 nats, far below the gaps."""
    model = fitted(inflate=1.6, shift=0.4)
    x = torch.from_numpy(model.marginal().rvs(2000, random_state=1)).float()
    exact = model.marginal().logpdf(x.double().numpy()).mean()
    bounds = {k: importance_sampled_log_likelihood(model, x, k, torch.Generator().manual_seed(k)).mean().item()
              for k in (1, 10, 100, 2000)}
    elbo = bounds[1]
    assert elbo < bounds[10] < bounds[100] < bounds[2000] < exact + 1e-3
    assert exact - elbo > 0.1  # the proposal is poor enough for the test to mean something
    assert exact - bounds[2000] < 0.02 * (exact - elbo)


def test_iw_estimate_never_falls_below_the_elbo_on_average():
    model = fitted(inflate=0.7, shift=-0.3)
    x = torch.from_numpy(model.marginal().rvs(1000, random_state=2)).float()
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        k50 = importance_sampled_log_likelihood(model, x, 50, g).mean()
        assert k50 >= importance_sampled_log_likelihood(model, x, 1, g).mean()


def test_chunking_over_samples_does_not_change_the_estimate():
    model = fitted(inflate=1.3)
    x = torch.from_numpy(model.marginal().rvs(8, random_state=3)).float()
    whole = importance_sampled_log_likelihood(model, x, 64, torch.Generator().manual_seed(0))
    chunked = importance_sampled_log_likelihood(model, x, 64, torch.Generator().manual_seed(0),
                                                max_elements=8 * 5 * x[0].numel())  # 5 samples per chunk
    assert torch.allclose(whole, chunked, atol=1e-12)


class GridGaussian(GenerativeModel):
    """A 1-D N(μ, σ²) density, used on a 5-level grid: its exact bin masses come from the CDF."""

    name = "grid-gaussian"
    config_class = LinearGaussianConfig
    capabilities = frozenset({Capability.EXACT_LIKELIHOOD})
    mu, sigma = 0.4, 0.3
    likelihood_kind = "density"

    def _build(self, info):
        pass

    def _fit(self, x, x_val, generator):
        pass

    def _log_prob(self, x):
        return torch.distributions.Normal(self.mu, self.sigma).log_prob(x.double()).sum((1, 2))


def test_dequantized_density_is_a_bound_on_the_bin_mass():
    info = DataInfo("grid", (1, 1), ValueType.DISCRETE, levels=5)
    model = GridGaussian()
    model.build(info)
    value, half = 0.75, 0.125
    n = 20_000
    x = torch.full((n, 1, 1), value)
    log_values = LogLikelihood().per_example(model, x, info, torch.Generator().manual_seed(0))
    assert LogLikelihood().how(model, info) == ("bound+dequantized", {"likelihood": "dequantized bound",
                                                                      "dequantized": True, "estimator_name": "exact",
                                                                      "settings": {}})
    density = stats.norm(model.mu, model.sigma)
    exact_mass = math.log(density.cdf(value + half) - density.cdf(value - half))
    jensen, _ = integrate.quad(lambda y: density.logpdf(y), value - half, value + half)
    jensen /= 2 * half  # E_u log p(y) over the bin …
    jensen += math.log(2 * half)  # … + log Δ: what the estimator converges to
    stderr = log_values.std().item() / math.sqrt(n)
    assert log_values.mean().item() == pytest.approx(jensen, abs=4 * stderr)
    # Jensen's gap is positive and, for a bin narrower than σ, small (here 0.039 nats).
    assert 0 < exact_mass - jensen < 0.05


def test_metric_records_say_exact_or_bound(digits):
    nb = genbench.make_model("naive-bayes").fit(digits.train)
    pca = genbench.make_model("pca", latent_dim=4).fit(digits.train)
    metric = LogLikelihood()
    context = eval_context(seed=0)
    nb_records = {r.metric: r for r in metric.declared(metric.compute(nb, digits, context))}
    pca_records = {r.metric: r for r in metric.declared(metric.compute(pca, digits, context))}
    assert nb_records["log_likelihood"].estimator == "exact"
    assert pca_records["log_likelihood"].estimator == "bound+dequantized"
    record = nb_records["log_likelihood"]
    assert record.n == len(digits.test) and record.unit == "nats"
    expected = nb.log_prob(digits.test.x)
    assert record.value == pytest.approx(expected.mean().item())
    assert record.stderr == pytest.approx(expected.std().item() / math.sqrt(len(expected)))
    bits = nb_records["bits_per_dim"]
    assert bits.value == pytest.approx(-record.value / (64 * math.log(2)))


def test_iw_records_carry_k():
    model = fitted(inflate=1.2)
    x = torch.from_numpy(model.marginal().rvs(30, random_state=4)).float()
    data = Data(INFO, Split(x, INFO), Split(x, INFO, name="val"), Split(x, INFO, name="test"))
    records = LogLikelihood(k=25).compute(model, data, eval_context())
    assert records[0].estimator == "iw-bound(K=25)" and records[0].details["k"] == 25
    assert records[0].details["likelihood"] == "importance-weighted bound"


def test_metric_is_not_available_for_a_density_on_categories(wardrobe):
    model = genbench.make_model("pca")
    model.info_ = wardrobe.info
    assert "assigns no probability to categories" in LogLikelihood().unavailable_reason(model, wardrobe)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_a_many_term_bound_is_estimated_from_50_importance_sampled_terms_unless_told_otherwise(shape):
    """The protocol's default for the diffusion model's T = 1000 terms, whatever the size of an example: 50 terms at
    t drawn by importance. A count or a sampling given to the metric wins, and so does the model's own count
    (``bound_steps``, drawn uniformly); a bound of 50 terms or fewer is summed whole."""
    info = DataInfo("images", shape, ValueType.DISCRETE, levels=17)
    bound = genbench.make_model("diffusion").likelihood_estimator()
    assert BOUND_TERMS == 50
    assert LikelihoodOptions().protocol_settings(bound, info) == {"terms": BOUND_TERMS, "sampling": "importance"}
    assert LikelihoodOptions(terms=20).protocol_settings(bound, info) == {"terms": 20}
    assert LikelihoodOptions(sampling="uniform").protocol_settings(bound, info) == {"terms": BOUND_TERMS,
                                                                                    "sampling": "uniform"}
    own = genbench.make_model("diffusion", bound_steps=30).likelihood_estimator()
    assert LikelihoodOptions().protocol_settings(own, info) == {}
    short = genbench.make_model("diffusion", steps=BOUND_TERMS).likelihood_estimator()
    assert LikelihoodOptions().protocol_settings(short, info) == {}


def test_the_protocol_scales_its_monte_carlo_and_its_examples_with_the_size_of_an_example(digits):
    """K = 1000 and up to 2000 test examples at 8×8; monte_carlo_share of each on larger examples (28×28: 188, 376),
    the examples a fixed random subset of the split, the same for every model."""
    options = LikelihoodOptions()
    assert (options.importance_samples(digits.info), options.examples(digits.info)) == (1000, 2000)
    mnist = DataInfo("mnist-like", (1, 28, 28), ValueType.DISCRETE, levels=256)
    assert (options.importance_samples(mnist), options.examples(mnist)) == (188, 376)
    assert LikelihoodOptions(k=7, n=5).importance_samples(mnist) == 7 and LikelihoodOptions(n=5).examples(mnist) == 5
    nb = genbench.make_model("naive-bayes").fit(digits.train)
    record = LogLikelihood(n=100).compute(nb, digits, eval_context(seed=0))[0]
    assert record.n == 100
    assert record.value == pytest.approx(nb.log_prob(digits.test.x[subset_rows(digits.test, 100)]).mean().item())
