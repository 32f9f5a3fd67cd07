"""The diffusion process and its formulas: noise schedules, q(x_t | x_0), the posterior, the reverse
process's variances, the bound's Gaussian terms and the sampling steps (DDIM, ancestral, DPM-Solver++(2M));
pure tensor code, no network.

The forward process adds Gaussian noise over T steps, q(x_t | x_{t-1}) = N(√(1 - β_t) x_{t-1}, β_t I),
so that with α_t = 1 - β_t and ᾱ_t = Π_{s ≤ t} α_s (Ho et al. eq. 4)

    q(x_t | x_0) = N(√ᾱ_t x_0, (1 - ᾱ_t) I),

and its posterior is q(x_{t-1} | x_t, x_0) = N(μ̃_t, β̃_t I) (eqs. 6-7):

    μ̃_t = √ᾱ_{t-1} β_t / (1 - ᾱ_t) · x_0 + √α_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t) · x_t,
    β̃_t = (1 - ᾱ_{t-1}) / (1 - ᾱ_t) · β_t.

Schedules: ``linear``, β from 10⁻⁴ to 0.02 over T = 1000 (Ho et al. §4), both ends scaled by 1000 / T for
other T (as Nichol & Dhariwal 2021's code does); ``cosine``, ᾱ_t = f(t) / f(0), f(t) = cos²((t/T + s) / (1 + s) · π/2),
s = 0.008 (Nichol & Dhariwal eq. 17). Either way each β_t is at most 0.999 (T < 50 scales linear ones past 1).

**Sampling.** DDIM (Song et al. eq. 12) over S of the T steps τ_S > … > τ_1 (``sample_steps``, evenly spaced):

    x_{τ_{i-1}} = √ᾱ_{τ_{i-1}} x̂_0 + √(1 - ᾱ_{τ_{i-1}} - σ_i²) ε_θ + σ_i z,
    σ_i = η √((1 - ᾱ_{τ_{i-1}}) / (1 - ᾱ_{τ_i})) √(1 - ᾱ_{τ_i} / ᾱ_{τ_{i-1}}),

with ᾱ_{τ_0} = ᾱ_0 = 1, so the last step returns x̂_0. η = 0 is deterministic (η = 1 with S = T is the
reverse process with σ_t² = β̃_t). ``sampler=ddpm`` is the ancestral sampler of the reverse process above,
every T step: x_{t-1} = μ̃_t(x̂_0, x_t) + √β_t z, the mean at t = 1 (Ho et al. Algorithm 2). ``sampler=dpm2m`` is
DPM-Solver++(2M) over the same S steps (Lu et al. 2022, Algorithm 2: DDIM's step made second order by the previous
step's x̂_0; ``Process.multistep``), which reaches at S steps what DDIM needs more for. On bounded data x̂_0 is
clipped to [-1, 1] while generating (as Ho et al.'s code does).
"""

from __future__ import annotations

import math

import torch
from torch import nn

SCHEDULES = ("linear", "cosine")
COSINE_OFFSET = 0.008
MAX_BETA = 0.999


def noise_schedule(name: str, steps: int) -> torch.Tensor:
    """β_1 … β_T (float64) of the ``linear`` or ``cosine`` schedule."""
    if name == "linear":
        scale = 1000 / steps
        return torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64).clamp(max=MAX_BETA)
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=MAX_BETA)


def gaussian_kl(mean_1, var_1, mean_2, var_2) -> torch.Tensor:
    """KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) per value: ½ (log σ₂²/σ₁² + (σ₁² + (μ₁ - μ₂)²) / σ₂² - 1)."""
    return 0.5 * (torch.log(var_2 / var_1) + (var_1 + (mean_1 - mean_2) ** 2) / var_2 - 1)


def log_normal_mass(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """log (Φ(upper) - Φ(lower)) for standardised bin edges (±∞ allowed), computed on the side of the
    distribution's centre so that neither tail cancels: log Φ(b) + log(1 - Φ(a)/Φ(b)), mirrored above 0."""
    mirror = (lower + upper) > 0
    a = torch.where(mirror, -upper, lower)
    b = torch.where(mirror, -lower, upper)
    log_b = torch.special.log_ndtr(b)
    return log_b + torch.log1p(-torch.exp(torch.special.log_ndtr(a) - log_b).clamp(max=1 - 1e-15))


def discretized_gaussian_log_mass(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, levels: int) -> torch.Tensor:
    """log of N(mean, std²)'s mass over the bin of each grid value x in [-1, 1] (``levels`` values,
    bins of width 2 / (levels - 1), the outermost reaching to ±∞): Ho et al. eq. 13, per value."""
    half = 1.0 / (levels - 1)
    lower = torch.where(x <= -1 + half / 2, -math.inf, (x - half - mean) / std)
    upper = torch.where(x >= 1 - half / 2, math.inf, (x + half - mean) / std)
    return log_normal_mass(lower, upper)


class Process(nn.Module):
    """The schedule's constants as float64 buffers, indexed by t = 0 … T (ᾱ_0 = 1, β_0 = 0)."""

    def __init__(self, schedule: str, steps: int):
        super().__init__()
        beta = torch.cat([torch.zeros(1, dtype=torch.float64), noise_schedule(schedule, steps)])
        self.steps = steps
        self.register_buffer("beta", beta, persistent=False)
        self.register_buffer("alpha_bar", torch.cumprod(1 - beta, 0), persistent=False)
        alpha_bar = self.alpha_bar
        tilde = torch.cat([beta[:1], (1 - alpha_bar[:-1]) / (1 - alpha_bar[1:]) * beta[1:]])
        tilde[1] = tilde[2] if steps > 1 else beta[1]  # β̃_1 = 0: Nichol & Dhariwal's code uses β̃_2 there
        self.register_buffer("log_tilde_beta", tilde.clamp(min=1e-300).log(), persistent=False)

    def at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t] shaped to broadcast over a batch like ``like``, in its dtype."""
        return values[t].to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))

    def noised(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε: a draw of q(x_t | x_0)."""
        alpha_bar = self.at(self.alpha_bar, t, x0)
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise

    def predicted_x0(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        alpha_bar = self.at(self.alpha_bar, t, x_t)
        return (x_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()

    def posterior(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ̃_t, β̃_t) of q(x_{t-1} | x_t, x_0), t ≥ 1."""
        beta, alpha_bar = self.at(self.beta, t, x_t), self.at(self.alpha_bar, t, x_t)
        alpha_bar_prev = self.at(self.alpha_bar, t - 1, x_t)
        mean = (alpha_bar_prev.sqrt() * beta * x0 + (1 - beta).sqrt() * (1 - alpha_bar_prev) * x_t) / (1 - alpha_bar)
        return mean, (1 - alpha_bar_prev) / (1 - alpha_bar) * beta

    def reverse_variance(self, t: torch.Tensor, like: torch.Tensor, v: torch.Tensor | None = None) -> torch.Tensor:
        """σ_t² of the reverse process p(x_{t-1} | x_t): β_t, or with the network's v (shaped like ``like``) the
        interpolation exp(v log β_t + (1 - v) log β̃_t) (Nichol & Dhariwal eq. 15; β̃_2 in place of β̃_1 = 0)."""
        if v is None:
            return self.at(self.beta, t, like)
        log_beta, log_tilde = self.at(self.beta, t, like).log(), self.at(self.log_tilde_beta, t, like)
        return (v * log_beta + (1 - v) * log_tilde).exp()

    def ancestral_step(self, x_t: torch.Tensor, eps: torch.Tensor, step: int) -> tuple[torch.Tensor, float]:
        """The mean μ̃_t(x̂_0, x_t) of p(x_{t-1} | x_t) and the σ of the noise to add: √β_t, none at t = 1
        (Ho et al. Algorithm 2 returns the mean there)."""
        t = torch.tensor([step], device=x_t.device)
        mean, _ = self.posterior(self.predicted_x0(x_t, t, eps), x_t, t)
        return mean, math.sqrt(self.beta[step].item()) if step > 1 else 0.0

    def implied_noise(self, x_t: torch.Tensor, step: int, x0: torch.Tensor) -> torch.Tensor:
        """The ε with x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε."""
        a = self.alpha_bar[step].item()
        return (x_t - math.sqrt(a) * x0) / math.sqrt(1 - a)

    def ddim_step(self, x_t: torch.Tensor, eps: torch.Tensor, step: int, prev: int, eta: float,
                  ) -> tuple[torch.Tensor, float]:
        """The mean of x at ``prev`` given x_t at ``step`` and ε_θ, and the σ of the noise to add (Song et al. eq. 12);
        run upwards (``prev`` > ``step``, η = 0) it is a step of DDIM inversion."""
        a, a_prev = self.alpha_bar[step].item(), self.alpha_bar[prev].item()
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev)) if eta > 0 else 0.0
        x0_hat = (x_t - math.sqrt(1 - a) * eps) / math.sqrt(a)
        return math.sqrt(a_prev) * x0_hat + math.sqrt(max(1 - a_prev - sigma**2, 0.0)) * eps, sigma

    def multistep(self, x_t: torch.Tensor, x0: torch.Tensor, step: int, next_step: int,
                  previous: tuple[torch.Tensor, int] | None) -> torch.Tensor:
        """One DPM-Solver++(2M) step from ``step`` down to ``next_step`` (Lu et al. 2022, Algorithm 2): with
        α = √ᾱ, σ = √(1 - ᾱ), λ = log(α/σ) and h = λ_next − λ_step,

            x_next = (σ_next / σ_step) x_t − α_next (e^{−h} − 1) D,

        D = x̂_0 at the first step (then it is DDIM's step), else (1 + 1/2r) x̂_0 − (1/2r) x̂_0' with x̂_0' the
        previous step's prediction and r = h' / h the ratio of the previous step's h to this one's."""
        def lam(t: int) -> float:
            a = self.alpha_bar[t].item()
            return 0.5 * math.log(a / (1 - a))

        a_next = self.alpha_bar[next_step].item()
        a_step = self.alpha_bar[step].item()
        h = lam(next_step) - lam(step)
        d = x0
        if previous is not None:
            x0_before, step_before = previous
            r = (lam(step) - lam(step_before)) / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * x0_before
        return math.sqrt((1 - a_next) / (1 - a_step)) * x_t - math.sqrt(a_next) * math.expm1(-h) * d

    def ddim_times(self, sample_steps: int) -> list[int]:
        """τ_S > … > τ_1: ``sample_steps`` of 1 … T, evenly spaced, T first."""
        times = torch.linspace(1, self.steps, sample_steps, dtype=torch.float64).round().long().unique()
        return times.flip(0).tolist()
