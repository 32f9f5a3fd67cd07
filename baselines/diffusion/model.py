"""DDPM: a denoising diffusion model (Ho, Jain & Abbeel 2020), sampled by DDIM (Song, Meng & Ermon 2021).

The process and its formulas are ``genbench.baselines.diffusion.process``, the networks
``genbench.baselines.diffusion.networks``; this module is the model: its configuration, training, likelihood
estimators, sampling loop and latent space.

A network ε_θ(x_t, t) predicts the noise; trained on L_simple = E_{t, x_0, ε} ‖ε - ε_θ(√ᾱ_t x_0 + √(1 - ᾱ_t) ε, t)‖²
(eq. 14; here the mean over values), t uniform on 1 … T. Its prediction of x_0 is
x̂_0 = (x_t - √(1 - ᾱ_t) ε_θ) / √ᾱ_t, and the reverse process is p(x_{t-1} | x_t) = N(μ̃_t(x̂_0, x_t), σ_t² I)
with σ_t² = β_t: Ho et al.'s choice that is optimal for x_0 ~ N(0, I), and with an oracle network on Gaussian
data a bound within Monte Carlo error of log p(x) at T = 1000, where β̃_t leaves 1.35 nats over three values
(tests/test_diffusion.py).

**Learned variances** (``variance=learned``; Nichol & Dhariwal 2021 §3.1): the network's second output v sets
σ_t² = exp(v log β_t + (1 - v) log β̃_t) per value (their eq. 15, β̃_2 standing in for β̃_1 = 0), trained on the hybrid
loss L_simple + λ L_vlb (λ = ``hybrid_weight``, 0.001), L_vlb the bound's term at the training step's t, times T,
per value in nats, its gradient reaching v only. The mean is still the ε-prediction's; L_0 is the same discretized
decoder with the learned σ_1, and v = 1 everywhere is the fixed model (tests/test_diffusion.py).

**Likelihood.** The variational bound (Ho et al. eq. 5; Sohl-Dickstein et al. 2015):

    -log p(x_0) ≤ L_T + Σ_{t=2..T} L_{t-1} + L_0,
    L_T = KL(q(x_T | x_0) ‖ N(0, I)),  L_{t-1} = KL(q(x_{t-1} | x_t, x_0) ‖ p(x_{t-1} | x_t)),  L_0 = -log p(x_0 | x_1),

each KL between Gaussians in closed form, at one draw x_t ~ q(x_t | x_0) per term, all T terms (Nichol & Dhariwal
§2.1 compute it the same way). On discrete data p(x_0 | x_1) is the discretized Gaussian of Ho et al. eq. 13: the
mass of N(μ_θ(x_1, 1), σ_1²) over each value's bin on the grid scaled to [-1, 1], the outermost bins reaching to
±∞, so the bound is on the probability of the grid values (17 levels on digits, 2 on binary data). On continuous
data it is the Gaussian density, in the data's own units (the standardisation's Jacobian counted). With
``bound_steps=K`` each example's sum over t is estimated from K terms at t drawn uniformly: T/K Σ_k L_{t_k - 1},
unbiased, and the spread of those draws is in the per-example values the standard error is taken over. With
``sampling="importance"`` the K terms' t are drawn from p_t ∝ √E[L_{t-1}²] (Nichol & Dhariwal 2021 §3.3, E from
a pilot of every term on a few examples of the first batch of a random stream) and weighed by 1/(K p_t): unbiased
too, and with far less spread, since the first terms hold most of the bound.

**The probability-flow ODE** (Song et al. 2021, App. D.2; the ``ode`` estimator): the deterministic map from the
data to noise whose marginals are the diffusion's, dx̄/dρ = σ̄ ε_θ in DDIM's variables (``probability_flow``),
carries the data's density by the instantaneous change of variables, log p(x) = log p_T(x_T) + ∫ div dρ
(``genbench.infra.ode``). It is the exact density of the model the ODE defines (the prior pushed through the map), up to
the solver's tolerance, and costs one adaptive solve: its function evaluations, each with D vector–Jacobian
products for the exact divergence or one for Hutchinson's, are in the records.

**Latent space.** x_T, of the data's size: ``decode`` is deterministic DDIM (η = 0) from x_T over ``latent_steps``
steps (20), whatever the sampler, ``encode`` the same steps run backwards (DDIM inversion: each step from τ_{i-1} up to
τ_i evaluates ε_θ(x_{τ_{i-1}}, τ_i), exact as S grows), ``sample_latent`` draws N(0, I).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import weakref
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from genbench.baselines import nets, standardization
from genbench.baselines.diffusion.networks import TimeMLP, UNet
from genbench.baselines.diffusion.process import SCHEDULES, Process, discretized_gaussian_log_mass, gaussian_kl
from genbench.baselines.training import EarlyStoppingConfig, train, update_average
from genbench.config import require, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.errors import UsageError
from genbench.estimators import ODE, Estimate, LikelihoodEstimator
from genbench.infra.ode import exact_divergence, gaussian_log_density, hutchinson_divergence, rademacher, solve
from genbench.infra.rng import rand, randn
from genbench.model import Capability, GenerativeModel
from genbench.records import MODEL_BOUND

SAMPLERS = ("ddim", "ddpm", "dpm2m")
VARIANCES = ("fixed", "learned")
DEFAULT_SAMPLE_STEPS = 10
PILOT = 16
"""Examples whose every bound term sets the importance weights of t (``Diffusion.importance_weights``)."""
UNIFORM_SHARE = 0.01
ODE_TOLERANCE = 1e-3
"""The probability-flow solver's rtol and atol. Song et al. 2021 report likelihoods at 1e-5; on digits (default
budget, 16 test examples, exact divergence) 1e-3 gives the 1e-5 figure within 0.1 nats (−100.38 against −100.27,
standard error 2.4) at a sixth of the evaluations (145 against 871 per example)."""


@dataclasses.dataclass(frozen=True)
class DiffusionConfig(EarlyStoppingConfig):
    """T = ``steps`` noise levels; samples by ``sampler`` (``ddim``: ``sample_steps`` steps with ``eta``;
    ``dpm2m``: DPM-Solver++(2M) over ``sample_steps`` steps; ``ddpm``: ancestral, all T steps); the bound over all T
    terms, or ``bound_steps`` random ones.

    **The recipe** (the defaults), chosen on the whole of MNIST at the default budget (2.9·10¹³ FLOPs, seed 0,
    FID of 2 000 samples in the domain classifier's features against 2 000 test images, coverage beside it;
    ``Diffusion``'s docstring has every step of the search)."""

    steps: int = 1000
    schedule: str = "linear"
    sampler: str = "dpm2m"
    """DPM-Solver++(2M) at 10 steps: FID 18.9 where DDIM at 20 steps gave 21.4 (and 17.2 at 20 steps), at half
    the network passes of every sample the metrics draw."""
    sample_steps: int | None = None
    """S for sampling; None: 10, or T when T is smaller."""
    latent_steps: int = 20
    """S of the latent space's decode (DDIM, η = 0) and encode (DDIM inversion), whatever the sampler: one ODE
    discretised the same way both ways. At 10 steps of DPM-Solver++ decoded paths jumped on digits (p99 step
    5.4 against 2.9 for DDIM at 20)."""
    eta: float = 0.0
    bound_steps: int | None = None
    variance: str = "fixed"
    """σ_t² of the reverse process: ``fixed`` at β_t, or ``learned``, interpolated between β_t and β̃_t by a second
    output of the network and trained on the hybrid loss (Nichol & Dhariwal 2021 §3.1; module docstring)."""
    hybrid_weight: float = 0.001
    """λ of the hybrid loss L_simple + λ L_vlb with learned variances."""
    min_snr: float | None = 5.0
    """γ of the Min-SNR-γ weighting of the loss (Hang et al. 2023; ``Diffusion.snr_weights``); None: unweighted.
    γ = 5 (theirs): FID 27.5 → 21.4 at equal compute (DDIM, 20 steps); the bound, whose terms at low noise it
    weighs less, went from 2.59 to 3.62 bits/dim."""
    ema: float = 0.999
    """Decay of the moving average of the weights used for evaluation (0: the trained weights)."""
    width: int | None = None
    """Channels of the U-Net's first resolution (2·width below it, 4·width from the third): None, 16 × ``patch``
    (16 on digits' pixels, 32 on MNIST's 2×2 patches)."""
    levels: int = 2
    patch: int | None = None
    """p: the U-Net works on p×p patches folded into channels (``UNet``); None: 2 on large images
    (``nets.large_image``: 16 pixels a side or more, even-sized), 1 below."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layers of the MLP on vectors."""
    patience: int = 0
    """No early stopping by default (L_simple at random t is noisy, and the moving average smooths instead); as for
    every model, the weights of the epoch with the best validation loss, with their moving average, are kept."""
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 100
    lr_schedule: str = "cosine"

    def validate(self) -> None:
        super().validate()
        require_positive(steps=self.steps, sample_steps=self.sample_steps, width=self.width, levels=self.levels,
                         bound_steps=self.bound_steps, patch=self.patch)
        require_positive(**{f"hidden[{i}]": h for i, h in enumerate(self.hidden)})
        require(self.schedule in SCHEDULES,
                f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        require(self.sampler in SAMPLERS, f"unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}")
        require(self.variance in VARIANCES,
                f"unknown variance {self.variance!r}; choose one of {', '.join(VARIANCES)}")
        require(self.hybrid_weight >= 0, f"hybrid_weight must be 0 or more, got {self.hybrid_weight}")
        require_positive(min_snr=self.min_snr)
        require_positive(latent_steps=self.latent_steps)
        require(self.sample_steps is None or self.sample_steps <= self.steps,
                f"sample_steps ({self.sample_steps}) cannot exceed the diffusion's steps ({self.steps})")
        require(self.bound_steps is None or self.bound_steps <= self.steps,
                f"bound_steps ({self.bound_steps}) cannot exceed the diffusion's steps ({self.steps})")
        require(self.eta >= 0, f"eta must be 0 or more, got {self.eta}")
        require(0 <= self.ema < 1, f"ema must be in [0, 1), got {self.ema}")

    @property
    def ddim_steps(self) -> int:
        return self.sample_steps if self.sample_steps is not None else min(DEFAULT_SAMPLE_STEPS, self.steps)

    def patch_for(self, info: DataInfo) -> int:
        """``patch``, or 2 on large images (``nets.large_image``: MNIST's, not digits'), else 1."""
        if self.patch is not None:
            return self.patch
        return 2 if nets.large_image(info) else 1

    def width_for(self, info: DataInfo) -> int:
        """``width``, or 16 × the patch."""
        return self.width if self.width is not None else 16 * self.patch_for(info)


class Diffusion(GenerativeModel):
    """DDPM trained on L_simple (Min-SNR weighted); DPM-Solver++ or DDIM sampling; the variational bound; DDIM
    inversion as its latent space.

    **The recipe**, searched on the whole of MNIST at the default budget (2.9·10¹³ training FLOPs, seed 0; FID of
    2 000 samples against 2 000 test images in the domain classifier's features, then coverage; DDIM at 20 steps
    unless said), one change at a time from the best so far:

    - the U-Net on pixels, width 16, 2 levels, batch 128, lr 10⁻³ (at 3.6·10¹³ FLOPs, 1 814 steps): FID 38.7,
      coverage 0.33; scribbles in grey noise;
    - 3 levels (28, 14, 7), lr 2·10⁻³ warmed up over 100 steps and decayed along a cosine, a moving average of 0.999
      (974 steps): 29.0, 0.49;
    - then batch 32, the cosine noise schedule, DPM-Solver++ at 20 steps (5 807 steps): 36.6, 0.36 (dropped);
    - 2×2 patches folded into channels (``patch``), width 32, at batch 128 (1 439 steps): 34.3, 0.44; at batch 64
      (2 878 steps): 27.5, 0.51; the same weights sampled by DDIM at 50 steps: 24.7, by DDIM at 20 with η = 1:
      25.0 and coverage 0.64, by DPM-Solver++(2M) at 10 steps: 24.4;
    - Min-SNR-5 weighting of the loss (``min_snr``): 21.4, 0.56; sampled by DPM-Solver++(2M) at 10 steps (the
      default): 18.9, 0.57 (at 20 steps 17.2; DDIM at 20 with η = 1: 21.5 and coverage 0.68). Readable digits on a
      clean background.

    Min-SNR weighting buys its FID with the variational bound, whose terms at low noise it down-weights (Hang et al.
    say as much): on digits −175.7 nats against −139.1 without it; on MNIST, the default run, 3.63 bits/dim (the
    flow's exact figure is 1.30). ``min_snr=None`` trains for the bound instead."""

    name = "diffusion"
    config_class = DiffusionConfig
    capabilities = frozenset({Capability.SAMPLE, Capability.LIKELIHOOD_BOUND, Capability.ENCODER,
                              Capability.DECODER})

    @classmethod
    def unsupported_reason(cls, info: DataInfo) -> str | None:
        if info.value_type is ValueType.CATEGORICAL:
            return f"diffusion adds Gaussian noise to real values; {info.name} holds categories"
        return None

    def _build(self, info: DataInfo) -> None:
        c = self.config
        self.process = Process(c.schedule, c.steps)
        outputs = 2 if c.variance == "learned" else 1  # ε, and v for learned variances
        self.net = (UNet(info.shape, c.width_for(info), c.levels, outputs, c.patch_for(info)) if info.is_image
                    else TimeMLP(info.dim, c.hidden, outputs))
        self.ema_net = copy.deepcopy(self.net).requires_grad_(False)
        self.register_buffer("ema_updates_", torch.zeros((), dtype=torch.long))
        standardization.register(self, info)  # used on continuous data

    @property
    def network(self) -> nn.Module:
        """The network evaluations use: the moving average, unless ``ema`` is 0."""
        return self.ema_net if self.config.ema > 0 else self.net

    # ------------------------------------------------------------------------ the network's units
    @property
    def bounded(self) -> bool:
        return self._info.value_type is not ValueType.CONTINUOUS

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        """Data → the units the process runs in: [0, 1] → [-1, 1]; continuous data standardised."""
        if self.bounded:
            return 2 * x - 1
        return (x - self.shift_) * (-self.log_scale_).exp()

    def from_network(self, u: torch.Tensor, on_grid: bool = True) -> torch.Tensor:
        """The inverse of ``to_network``: onto the data's grid (``on_grid`` False: only into its range)."""
        if self.bounded:
            return self._info.quantize((u + 1) / 2) if on_grid else self._info.clip((u + 1) / 2)
        return u * self.log_scale_.exp() + self.shift_

    def eps(self, x_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        return self.predict(x_t, t)[0]

    def predict(self, x_t: torch.Tensor, t: int | torch.Tensor, network: nn.Module | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(ε_θ, v_θ) at x_t and t, v None with fixed variances; by ``network`` (default: the evaluation one)."""
        t = torch.full((len(x_t),), t, device=x_t.device) if isinstance(t, int) else t
        out = (network or self.network)(x_t, t)
        if self.config.variance == "fixed":
            return out, None
        eps, v = out.chunk(2, dim=1)
        return eps, v

    # --------------------------------------------------------------------------------- training
    def loss(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """L_simple: the mean squared error of the predicted noise at a uniform t, each example's weighed by
        ``snr_weights`` (1 unless ``min_snr`` is set). With learned variances the hybrid L_simple + λ L_vlb,
        L_vlb = T · L_{t-1} per value at the same t and x_t (an unbiased estimate of the bound over t, in nats per
        value: Nichol & Dhariwal's is in bits), its gradient reaching v alone (ε stopped)."""
        x0 = self.to_network(x)
        t = self.random_steps(len(x0), generator, x0.device)
        noise = randn(*x0.shape, generator=generator, device=x0.device)
        x_t = self.process.noised(x0, t, noise)
        eps, v = self.predict(x_t, t, self.net)
        errors = (eps - noise).pow(2).flatten(1).mean(1)
        simple = (errors * self.snr_weights(t).to(errors.dtype)).mean()
        if v is None:
            return simple
        terms = self.term_values(x0.double(), x_t.double(), t, eps.detach().double(), v.double())
        return simple + self.config.hybrid_weight * self.process.steps * terms.mean().to(simple.dtype)

    def snr_weights(self, t: torch.Tensor) -> torch.Tensor:
        """Min-SNR-γ weights of the ε-prediction loss at steps t (Hang et al. 2023, eq. 5 for ε): min(SNR_t, γ) /
        SNR_t, SNR_t = ᾱ_t / (1 - ᾱ_t), γ = ``min_snr``; all 1 without it. Low-noise steps, where ε is hard to see
        and x̂_0 nearly given, weigh less, and the steps that shape the image's whole count for more."""
        if self.config.min_snr is None:
            return torch.ones(len(t), device=t.device)
        alpha_bar = self.process.alpha_bar[t]
        snr = alpha_bar / (1 - alpha_bar)
        return snr.clamp(max=self.config.min_snr) / snr

    def random_steps(self, n: int, generator: torch.Generator | None, device) -> torch.Tensor:
        """n steps uniform on 1 … T."""
        u = rand(n, generator=generator, device=device, dtype=torch.float64)
        return (u * self.process.steps).long().clamp(max=self.process.steps - 1) + 1

    @torch.no_grad()
    def update_ema(self) -> None:
        update_average(self.ema_net, self.net, self.ema_updates_, self.config.ema)

    def _fit(self, x, x_val, generator) -> None:
        self._pilot = None  # the importance weights belong to the weights before this fit
        if not self.bounded:
            standardization.fit(self, x)
        self.history_ = train(self, self.loss, x, x_val, self.config, generator,
                              desc=f"train {self.name}", epoch_examples=self.epoch_examples,
                              after_step=self.update_ema if self.config.ema > 0 else None)

    # ------------------------------------------------------------------------------ likelihood
    def bound_term(self, x0: torch.Tensor, t: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Per example, in nats: L_{t-1} at x_t ~ q(x_t | x_0) for t ≥ 2, L_0 = -log p(x_0 | x_1) at t = 1."""
        noise = randn(*x0.shape, generator=generator, device=x0.device)
        x_t = self.process.noised(x0, t, noise)
        eps, v = self.predict(x_t, t)
        return self.term_values(x0.double(), x_t.double(), t, eps.double(),
                                None if v is None else v.double()).flatten(1).sum(1)

    def term_values(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
                    v: torch.Tensor | None) -> torch.Tensor:
        """Per value, in nats: KL(q(x_{t-1} | x_t, x_0) ‖ p(x_{t-1} | x_t)) for t ≥ 2, -log p(x_0 | x_1) at t = 1,
        with p's mean μ̃_t(x̂_0(ε), x_t) and variance σ_t² (β_t, or interpolated by v)."""
        mean, _ = self.process.posterior(self.process.predicted_x0(x_t, t, eps), x_t, t)
        sigma2 = self.process.reverse_variance(t, x_t, v)
        true_mean, true_variance = self.process.posterior(x0, x_t, t)
        kl = gaussian_kl(true_mean, true_variance.clamp(min=1e-300), mean, sigma2)
        if self.bounded:
            nll = -discretized_gaussian_log_mass(x0, mean, sigma2.sqrt(), self._levels)
        else:
            nll = 0.5 * ((x0 - mean) ** 2 / sigma2 + torch.log(2 * math.pi * sigma2))
        return torch.where(t.reshape(-1, *([1] * (x0.dim() - 1))) == 1, nll, kl)

    @property
    def _levels(self) -> int:
        return 2 if self._info.value_type is ValueType.BINARY else self._info.levels

    def prior_term(self, x0: torch.Tensor) -> torch.Tensor:
        """L_T = KL(q(x_T | x_0) ‖ N(0, I)) per example."""
        t = torch.full((len(x0),), self.process.steps, device=x0.device)
        x0 = x0.double()
        alpha_bar = self.process.at(self.process.alpha_bar, t, x0)
        return gaussian_kl(alpha_bar.sqrt() * x0, 1 - alpha_bar, torch.zeros_like(x0),
                           torch.ones_like(x0)).flatten(1).sum(1)

    def _log_likelihood_bound(self, x, generator):
        return self.variational_bound(x, generator, self.config.bound_steps).values

    @torch.no_grad()
    def variational_bound(self, x: torch.Tensor, generator: torch.Generator | None, terms: int | None = None,
                          sampling: str | None = None) -> Estimate:
        """The variational bound per example (module docstring) and its network evaluations per example: all T
        terms (``terms`` None, or T or more), or the unbiased estimate from ``terms`` terms at random t, drawn
        uniformly (T/K Σ_k L_{t_k - 1}) or by importance (``sampling="importance"``, ``importance_weights``)."""
        x0 = self.to_network(x)
        total = self.prior_term(x0)
        steps = self.process.steps
        terms = None if terms is not None and terms >= steps else terms
        evaluations = float(steps if terms is None else terms)
        if terms is None:
            for step in range(steps, 0, -1):
                total = total + self.bound_term(x0, torch.full((len(x0),), step, device=x0.device), generator)
        elif sampling in (None, "uniform"):
            for _ in range(terms):
                total = total + steps / terms * self.bound_term(
                    x0, self.random_steps(len(x0), generator, x0.device), generator)
        elif sampling == "importance":
            probabilities, pilot = self.importance_weights(x0, generator)
            evaluations += pilot / len(x0)
            for _ in range(terms):
                t = torch.multinomial(probabilities, len(x0), replacement=True, generator=generator) + 1
                total = total + self.bound_term(x0, t.to(x0.device), generator) / (
                    terms * probabilities[t - 1].to(x0.device))
        else:
            raise UsageError(f"unknown sampling {sampling!r}; choose uniform or importance")
        log_det = 0.0 if self.bounded else self.log_scale_.double().sum()
        return Estimate(-total - log_det, evaluations)

    def importance_weights(self, x0: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, int]:
        """(p_t for t = 1 … T (CPU, float64), network evaluations spent): Nichol & Dhariwal 2021 §3.3's
        p_t ∝ √E[L_{t-1}²], E from every term of the first ``PILOT`` examples of the batch (a pilot of PILOT · T
        terms, evaluated in calls of the batch's size or PILOT rows, whichever is more, and counted in the batch's
        evaluations), mixed with 1 % of the uniform so that every t keeps a chance. The pilot runs once per random
        stream: later batches estimated with the same ``generator`` (one metric's examples, in batches) reuse its
        p and spend nothing on it (a pilot costs as much as 320 examples' 50 terms).
        With t_k drawn from p, (1/K) Σ_k L_{t_k - 1} / p_{t_k} is unbiased for Σ_t L_{t-1} whatever p is, the
        pilot's draws being independent of the estimate's; a p close to the terms' sizes makes its variance small
        (the first terms, at t ≤ 10, hold half the bound of a model trained on L_simple)."""
        cached = getattr(self, "_pilot", None)
        if generator is not None and cached is not None and cached[0]() is generator:
            return cached[1], 0
        pilot, steps = x0[:PILOT], self.process.steps
        rows = pilot.repeat(steps, *[1] * (pilot.dim() - 1))  # every pilot example at t = 1, then at t = 2, …
        t = torch.arange(1, steps + 1, device=x0.device).repeat_interleave(len(pilot))
        chunk = max(len(x0), PILOT)  # the caller's batch size; a batch of two would make T calls of two rows
        terms = torch.cat([self.bound_term(rows[start:start + chunk], t[start:start + chunk], generator)
                           for start in range(0, len(rows), chunk)])
        weights = terms.reshape(steps, len(pilot)).square().mean(1).sqrt().cpu()
        probabilities = (1 - UNIFORM_SHARE) * weights / weights.sum() + UNIFORM_SHARE / len(weights)
        if generator is not None:
            self._pilot = (weakref.ref(generator), probabilities)
        return probabilities, len(pilot) * steps

    def ode_log_likelihood(self, x: torch.Tensor, generator: torch.Generator | None, rtol: float, atol: float,
                           divergence: str) -> Estimate:
        """``probability_flow_log_density`` with the divergence ``exact`` or by ``hutchinson``'s probes."""
        if divergence not in ("exact", "hutchinson"):
            raise UsageError(f"unknown divergence {divergence!r}; choose exact or hutchinson")
        values, evaluations = self.probability_flow_log_density(x, generator, rtol=rtol, atol=atol,
                                                                exact=divergence == "exact")
        return Estimate(values, float(evaluations))

    def likelihood_estimators(self) -> dict[str, LikelihoodEstimator]:
        """``vlb``, the variational bound (the default: every term, T network passes per example, or ``terms``
        random ones; the likelihood metric asks for ``BOUND_TERMS`` drawn by importance), and ``ode``, the
        probability-flow ODE's density (Song et al. 2021, App. D.2): the density of the map the ODE defines, exact
        up to the solver's tolerance, a density on discrete data that the metric dequantizes; the divergence exact
        (D vector–Jacobian products per evaluation) up to 64 values per example, else Hutchinson's."""
        c = self.config
        vlb = LikelihoodEstimator("vlb", MODEL_BOUND, self.variational_bound,
                                  settings={"terms": c.bound_steps, "sampling": None},
                                  description={"bound": "variational", "T": c.steps})
        small = self.info_ is not None and self.info_.dim <= 64
        ode = LikelihoodEstimator("ode", ODE, self.ode_log_likelihood, event="density",
                                  settings={"rtol": ODE_TOLERANCE, "atol": ODE_TOLERANCE,
                                            "divergence": "exact" if small else "hutchinson"})
        return {"vlb": vlb, "ode": ode}

    # ------------------------------------------------------------------- probability-flow ODE likelihood
    def flow_times(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(ρ_t, t) for t = 1 … T: ρ = log σ̄_t, σ̄_t = √((1 − ᾱ_t)/ᾱ_t), increasing in t."""
        alpha_bar = self.process.alpha_bar[1:]
        return 0.5 * ((1 - alpha_bar) / alpha_bar).log(), torch.arange(1, self.process.steps + 1, dtype=torch.float64)

    def probability_flow(self, rtol: float = 1e-5, atol: float = 1e-5, exact: bool = True,
                         generator: torch.Generator | None = None):
        """The field of the probability-flow ODE in DDIM's variables (Song et al. 2021, App. D.2 and §4.3):
        x̄ = x/√ᾱ, σ̄ = √((1 − ᾱ)/ᾱ), ρ = log σ̄, dx̄/dρ = σ̄ ε_θ(√ᾱ x̄, t(ρ)), with t(ρ) the step whose σ̄ is e^ρ
        (interpolated between steps) and ᾱ = 1/(1 + σ̄²); its divergence is σ̄ √ᾱ tr ∂ε_θ/∂x, exact or by a
        Rademacher probe per example (drawn from ``generator`` at the first call)."""
        rho_grid, t_grid = (values.cpu().numpy() for values in self.flow_times())
        shape = self.network_shape(1)[1:]
        probes: dict[str, torch.Tensor] = {}

        def field(y: torch.Tensor, rho: float) -> tuple[torch.Tensor, torch.Tensor]:
            sigma = math.exp(rho)
            alpha = 1 / (1 + sigma * sigma)
            t = torch.full((len(y),), float(np.interp(rho, rho_grid, t_grid)), device=y.device)

            def velocity(z: torch.Tensor) -> torch.Tensor:
                x = (math.sqrt(alpha) * z).reshape(len(z), *shape).float()
                return sigma * self.eps(x, t[:len(z)]).reshape(len(z), -1).to(z.dtype)

            if exact:
                out, trace = exact_divergence(velocity, y)
            else:
                if "v" not in probes:
                    probes["v"] = rademacher(tuple(y.shape), generator, y.device, y.dtype)
                out, trace = hutchinson_divergence(velocity, y, probes["v"])
            return out.detach(), trace.detach()  # tr ∂v/∂x̄ = σ̄ √ᾱ tr ∂ε_θ/∂x

        return field, float(rho_grid[0]), float(rho_grid[-1])

    def probability_flow_log_density(self, x: torch.Tensor, generator: torch.Generator | None = None,
                                     rtol: float = 1e-5, atol: float = 1e-5, exact: bool = True,
                                     ) -> tuple[torch.Tensor, int]:
        """(log p(x) per example, network evaluations per example): the density the probability-flow ODE gives
        the data at the first noise level (σ̄₁, t = 1), in the data's own units:

            log p(x) = log N(x̄_T; 0, (1 + σ̄_T²) I) + ∫ div dρ + log |det ∂u/∂x|,

        x̄ at ρ₁ being u = the data in the network's units (``to_network``), carried to ρ_T by the solver."""
        u = self.to_network(x).reshape(len(x), -1).double()
        field, start, end = self.probability_flow(rtol, atol, exact, generator)
        solution = solve(field, u, start, end, rtol=rtol, atol=atol)
        sigma_end = math.exp(end)
        prior = gaussian_log_density(solution.y, 1 + sigma_end * sigma_end)
        units = self._info.dim * math.log(2) if self.bounded else -self.log_scale_.double().sum()
        return prior + solution.divergence_integral + units, solution.evaluations

    def bound_settings(self) -> dict:
        c = self.config
        settings = {"bound": "variational", "T": c.steps}
        if c.bound_steps is not None:
            settings["terms"] = f"{c.bound_steps} random t"
        return settings

    # -------------------------------------------------------------------------------- sampling
    def generate(self, x_t: torch.Tensor, times: list[int], eta: float | None,
                 generator: torch.Generator | None) -> torch.Tensor:
        """From x at τ_S = times[0] down through ``times`` to x_0, in the network's units: DDIM with ``eta``,
        or the ancestral sampler when ``eta`` is None."""
        for i, step in enumerate(times):
            prev = times[i + 1] if i + 1 < len(times) else 0
            eps, v = self.predict(x_t, step)
            if self.bounded:  # x̂_0 clipped to the data's range, ε recomputed from it
                x0_hat = self.process.predicted_x0(x_t, torch.tensor([step], device=x_t.device), eps).clamp(-1, 1)
                eps = self.process.implied_noise(x_t, step, x0_hat)
            if eta is None:
                x_t, sigma = self.process.ancestral_step(x_t, eps, step)
                if v is not None and step > 1:  # learned variances: σ_t per value
                    sigma = self.process.reverse_variance(torch.tensor([step], device=x_t.device), x_t, v).sqrt()
            else:
                x_t, sigma = self.process.ddim_step(x_t, eps, step, prev, eta)
            if not isinstance(sigma, float) or sigma > 0:
                x_t = x_t + sigma * randn(*x_t.shape, generator=generator, device=x_t.device)
        return x_t

    def solve(self, x_t: torch.Tensor, times: list[int]) -> torch.Tensor:
        """From x at τ_S = times[0] to x_0 by DPM-Solver++(2M) (``Process.multistep``), in the network's units:
        deterministic, second order from its second step but for the step to τ_1, which is first order (with few
        steps its λ-step is long, and extrapolating x̂_0 over it overshoots: Lu et al. 2022's lower-order final
        step), the last returning x̂_0 as DDIM's does."""
        previous = None
        for i, step in enumerate(times):
            eps = self.eps(x_t, step)
            x0_hat = self.process.predicted_x0(x_t, torch.tensor([step], device=x_t.device), eps)
            if self.bounded:
                x0_hat = x0_hat.clamp(-1, 1)
            if i + 1 == len(times):
                return x0_hat
            final = i + 2 == len(times)
            x_t = self.process.multistep(x_t, x0_hat, step, times[i + 1], None if final else previous)
            previous = (x0_hat, step)
        return x_t

    def invert(self, x0: torch.Tensor, times: list[int]) -> torch.Tensor:
        """DDIM inversion: x_0 up through ``times`` (ascending) to x at the last, ε_θ at each step's end."""
        x, prev = x0, 0
        for step in times:
            x, _ = self.process.ddim_step(x, self.eps(x, step), prev, step, 0.0)
            prev = step
        return x

    def sampling_plan(self) -> tuple[list[int], float | None]:
        """The steps and η that ``sample`` uses (η None: ancestral)."""
        c = self.config
        if c.sampler == "ddpm":
            return list(range(c.steps, 0, -1)), None
        return self.process.ddim_times(c.ddim_steps), c.eta

    def sampling_steps_refusal(self, steps: int) -> str | None:
        """Why ``sampling_steps(steps)`` cannot be had (None when it can)."""
        if steps > self.config.steps:
            return f"{steps} sampling steps exceed the diffusion's T = {self.config.steps}"
        return None

    @contextlib.contextmanager
    def bound_terms(self, terms: int) -> Iterator[None]:
        """Within the block, ``log_likelihood_bound`` is the unbiased estimate from ``terms`` random t (at most T):
        what a metric that needs a cheaper bound asks for (the memorisation metric's train − test gap)."""
        saved = self.config
        self.config = saved.replace(bound_steps=min(terms, saved.steps))
        try:
            yield
        finally:
            self.config = saved

    @contextlib.contextmanager
    def sampling_steps(self, steps: int) -> Iterator[None]:
        """Within the block, ``sample`` runs its sampler with ``steps`` steps (DDIM, with η as configured, where the
        model samples by the ancestral sampler, which has no S): what the ``sampling-steps`` metric varies."""
        saved = self.config
        self.config = saved.replace(sampler="ddim" if saved.sampler == "ddpm" else saved.sampler, sample_steps=steps)
        try:
            yield
        finally:
            self.config = saved

    def network_shape(self, n: int) -> tuple[int, ...]:
        return (n, *self._info.shape) if self._info.is_image else (n, self._info.dim)

    def _sample_latent(self, n, generator):
        return randn(n, self._info.dim, generator=generator, device=self.device)

    def _sample(self, n, generator):
        times, eta = self.sampling_plan()
        x_t = self._sample_latent(n, generator).reshape(self.network_shape(n))
        x0 = self.solve(x_t, times) if self.config.sampler == "dpm2m" else self.generate(x_t, times, eta, generator)
        return self.from_network(x0.reshape(n, *self._info.shape))

    @property
    def latent_times(self) -> list[int]:
        """τ_S > … > τ_1 of the latent space's DDIM (``latent_steps``, at most T)."""
        return self.process.ddim_times(min(self.config.latent_steps, self.config.steps))

    def _decode(self, z):
        x_t = z.reshape(self.network_shape(len(z)))
        x0 = self.generate(x_t, self.latent_times, 0.0, None)
        return self.from_network(x0.reshape(len(z), *self._info.shape), on_grid=False)

    def _encode(self, x):
        x0 = self.to_network(x).reshape(self.network_shape(len(x)))
        return self.invert(x0, self.latent_times[::-1]).flatten(1)
    family = "diffusion"
