"""β-VAE (Higgins et al. 2017): the VAE with the KL term weighted by β.

    loss = E_q[-log p(x | z)] + β KL(q(z | x) ‖ p(z)).

β > 1 presses the posterior towards the factorised prior, which favours disentangled latents at
the cost of reconstructions; β = 1 is exactly the VAE. Only the loss differs: the networks,
the sampler and the likelihood bound are the VAE's.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.baselines.vae import VAE, VAEConfig
from genbench.config import require


@dataclasses.dataclass(frozen=True)
class BetaVAEConfig(VAEConfig):
    beta: float = 4.0

    def validate(self) -> None:
        super().validate()
        require(self.beta >= 0, f"beta must be 0 or more, got {self.beta}")


class BetaVAE(VAE):
    """VAE whose loss weighs the KL term by β (default 4)."""

    name = "beta-vae"
    config_class = BetaVAEConfig

    def loss(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """-(E_q[log p(x | z)] - β KL) in nats per example, averaged over the batch."""
        log_likelihood, kl = self.elbo_terms(x, generator)
        return (self.config.beta * kl - log_likelihood).mean()
