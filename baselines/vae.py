"""Variational autoencoder (Kingma & Welling 2014) with a decoder likelihood fit to the data type.

Encoder q(z | x) = N(μ(x), diag σ²(x)); prior p(z) = N(0, I); decoder p(x | z) from
``observation.observation_model``. Training maximises the ELBO with the reparameterisation
trick, z = μ + σ ⊙ ε, ε ~ N(0, I), and the analytic KL term (Kingma & Welling 2014, App. B):

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) ‖ p(z)),
    KL = ½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²).

``loss`` is the one place the objective is written; the β-VAE overrides it alone.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.baselines.autoencoder import AEConfig, EncoderDecoder
from genbench.baselines.observation import LOG_2PI, network_input
from genbench.data.info import DataInfo
from genbench.infra.rng import randn
from genbench.model import Capability


@dataclasses.dataclass(frozen=True)
class VAEConfig(AEConfig):
    """The autoencoder's options; the encoder outputs a mean and a log-variance per latent."""


def kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per row: ½ Σ (μ² + σ² - 1 - log σ²)."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last axis."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


class VAE(EncoderDecoder):
    """Variational autoencoder (convolutional on images); likelihood by the importance-weighted bound."""

    name = "vae"
    config_class = VAEConfig
    capabilities = frozenset({Capability.SAMPLE, Capability.IMPORTANCE_SAMPLER, Capability.ENCODER,
                              Capability.DECODER})

    def code_size(self, info: DataInfo) -> int:
        return 2 * self.resolved_latent_dim(info)  # a mean and a log-variance per latent

    # ------------------------------------------------------------------------------ the objective
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z | x), each (N, d)."""
        mu, log_var = self.encoder(network_input(x, self._info)).chunk(2, dim=-1)
        return mu, log_var.clamp(-12.0, 8.0)

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x | z) at one reparameterised z ~ q(z | x), KL(q ‖ p)), each (N,)."""
        mu, log_var = self.posterior(x)
        z = mu + (0.5 * log_var).exp() * randn(*mu.shape, generator=generator, device=mu.device)
        return self.observation.log_prob(self.decoder(z), x), kl_to_standard_normal(mu, log_var)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Negative ELBO in nats per example, averaged over the batch."""
        log_likelihood, kl = self.elbo_terms(x, generator)
        return (kl - log_likelihood).mean()

    # -------------------------------------------------------------------------------- the contract
    def _sample_latent(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """z ~ p(z) = N(0, I): (n, d)."""
        return randn(n, self.latent_dim_, generator=generator, device=self.device)

    def _sample(self, n, generator):
        return self.observation.sample(self.decoder(self._sample_latent(n, generator)), generator)

    def _propose(self, x, k, generator):
        mu, log_var = self.posterior(x)
        std = (0.5 * log_var).exp()
        eps = randn(k, *mu.shape, generator=generator, device=mu.device)
        z = mu + std * eps
        log_q = (-0.5 * (eps.pow(2) + LOG_2PI) - 0.5 * log_var).sum(-1)
        return z, log_q

    def _log_joint(self, x, z):
        k, n = z.shape[:2]
        params = self.decoder(z.reshape(k * n, -1))
        x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
        return standard_normal_log_prob(z) + self.observation.log_prob(params, x_rep).reshape(k, n)

    def _encode(self, x):
        return self.posterior(x)[0]
    family = "VAEs"
