"""The diffusion process's formulas alone (``genbench.baselines.diffusion.process``), against closed forms: the
marginal q(x_t | x_0) against iterated steps, the schedules against their papers' definitions, the posterior
against Bayes' rule on a grid, the discretized decoder's bin masses against scipy's normal distribution, and DDIM
at η = 1 over every step against the posterior step. No network is involved."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from genbench.baselines.diffusion.process import Process, discretized_gaussian_log_mass, noise_schedule


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_the_closed_form_marginal_equals_iterating_the_forward_steps(schedule):
    """q(x_t | x_0) = N(√ᾱ_t x_0, 1 - ᾱ_t): the mean's factor and the variance of t one-step transitions
    x_t = √(1 - β_t) x_{t-1} + √β_t ε, iterated, for every t (float64; agreement to 1e-12)."""
    process = Process(schedule, 1000)
    factor, variance = 1.0, 0.0
    for t in range(1, 1001):
        beta = process.beta[t].item()
        factor, variance = factor * math.sqrt(1 - beta), (1 - beta) * variance + beta
        assert factor == pytest.approx(process.alpha_bar[t].sqrt().item(), rel=1e-12, abs=1e-12)
        assert variance == pytest.approx(1 - process.alpha_bar[t].item(), rel=1e-12)


def test_the_linear_schedule_is_ho_et_al_s_and_the_cosine_nichol_and_dhariwal_s():
    linear = noise_schedule("linear", 1000)
    assert (linear[0].item(), linear[-1].item()) == pytest.approx((1e-4, 0.02))
    cosine = noise_schedule("cosine", 1000)
    alpha_bar = torch.cumprod(1 - cosine, 0)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert alpha_bar[499].item() == pytest.approx(f(500) / f(0), rel=1e-9)
    assert cosine.max().item() <= 0.999


@pytest.mark.parametrize("schedule,t", [("linear", 2), ("linear", 7), ("cosine", 5)])
def test_the_posterior_equals_bayes_rule_computed_on_a_grid(schedule, t):
    """q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0), normalised numerically on a fine grid
    (10⁶ points over ±12 posterior-ish widths); its mean and variance match μ̃_t and β̃_t to 1e-6."""
    process = Process(schedule, 10)
    x0, x_t = torch.tensor([[0.3]], dtype=torch.float64), torch.tensor([[-0.4]], dtype=torch.float64)
    a_prev, beta = process.alpha_bar[t - 1].item(), process.beta[t].item()
    grid = torch.linspace(-12, 12, 1_000_001, dtype=torch.float64)
    log_p = (stats.norm.logpdf(x_t.item(), math.sqrt(1 - beta) * grid.numpy(), math.sqrt(beta))
             + stats.norm.logpdf(grid.numpy(), math.sqrt(a_prev) * x0.item(), math.sqrt(1 - a_prev)))
    weights = torch.from_numpy(log_p - log_p.max()).exp()
    weights = weights / weights.sum()
    mean = (weights * grid).sum().item()
    variance = (weights * (grid - mean) ** 2).sum().item()
    expected_mean, expected_variance = process.posterior(x0, x_t, torch.tensor([t]))
    assert mean == pytest.approx(expected_mean.item(), abs=1e-6)
    assert variance == pytest.approx(expected_variance.item(), rel=1e-5)


@pytest.mark.parametrize("levels", [2, 17, 256])
@pytest.mark.parametrize("mean,std", [(0.0, 0.01), (0.37, 0.2), (-1.3, 0.05), (0.9, 3.0)])
def test_the_discretized_gaussian_sums_to_one_over_the_bins(levels, mean, std):
    grid = torch.linspace(-1, 1, levels, dtype=torch.float64)
    log_mass = discretized_gaussian_log_mass(grid, torch.tensor(mean, dtype=torch.float64),
                                             torch.tensor(std, dtype=torch.float64), levels)
    assert log_mass.exp().sum().item() == pytest.approx(1.0, abs=1e-9)
    assert bool(torch.isfinite(log_mass).all() | (log_mass.exp() == 0).any())


def test_the_discretized_gaussian_is_the_normal_mass_of_a_bin_far_in_a_tail():
    """Both edges 40σ above the mean: Φ differences underflow to 0, the log mass does not (scipy's logsf)."""
    x = torch.tensor([0.0], dtype=torch.float64)
    mean, std = torch.tensor(-0.5, dtype=torch.float64), torch.tensor(0.01, dtype=torch.float64)
    half = 1 / 16
    expected = stats.norm.logsf((0 - half + 0.5) / 0.01) + math.log1p(
        -math.exp(stats.norm.logsf((0 + half + 0.5) / 0.01) - stats.norm.logsf((0 - half + 0.5) / 0.01)))
    assert discretized_gaussian_log_mass(x, mean, std, 17).item() == pytest.approx(expected, rel=1e-9)


def test_ddim_with_eta_one_and_every_step_is_the_posterior_step():
    """σ² = β̃_t and the mean is μ̃_t(x̂_0, x_t) (Song et al. §4.1): checked at every t of a T = 100 process;
    the ancestral step has the same mean."""
    process = Process("linear", 100)
    x_t = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    eps = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for t in range(2, 101):
        mean, sigma = process.ddim_step(x_t, eps, t, t - 1, eta=1.0)
        x0_hat = process.predicted_x0(x_t, torch.tensor([t]), eps)
        posterior_mean, posterior_variance = process.posterior(x0_hat, x_t, torch.tensor([t]))
        torch.testing.assert_close(mean, posterior_mean, rtol=1e-9, atol=1e-9)
        assert sigma**2 == pytest.approx(posterior_variance.item(), rel=1e-9)
        torch.testing.assert_close(process.ancestral_step(x_t, eps, t)[0], posterior_mean, rtol=1e-9, atol=1e-9)
