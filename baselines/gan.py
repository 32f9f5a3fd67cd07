"""Generative adversarial network (Goodfellow et al. 2014) with the non-saturating loss.

Generator G: z ~ N(0, I) → x; discriminator D: x → logit. With σ the logistic function,

    L_D = -E_x log σ(D(x)) - E_z log(1 - σ(D(G(z)))),
    L_G = -E_z log σ(D(G(z)))            (non-saturating; Goodfellow et al. 2014, §3),

each minimised by Adam with the DCGAN settings (Radford et al. 2016): lr 2·10⁻⁴, β₁ = 0.5.
Images get DCGAN-style networks (strided (transposed) convolutions, batch normalisation, ReLU in
G, LeakyReLU(0.2) in D); vectors get MLPs.

What G outputs, by value type: images in (0, 1) through a sigmoid, whose samples are rounded to
the data's grid; categories as per-feature softmax probabilities (what D sees; samples take the
most probable category); real vectors as they are. Real discrete images are dequantized
within their bins for D, so that D cannot tell real from fake by the grid alone. A GAN defines
no likelihood and has no encoder; the generator is its decoder.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from genbench.baselines import nets
from genbench.baselines.observation import Categorical, network_input, network_input_size
from genbench.baselines.training import Recovery, TrainingConfig, autocast, train_loop, update_average
from genbench.config import require, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.infra.rng import randn
from genbench.model import Capability, GenerativeModel


@dataclasses.dataclass(frozen=True)
class GANConfig(TrainingConfig):
    latent_dim: int | None = None
    hidden: tuple[int, ...] = (256, 256)
    width: int = 32
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    ema: float = 0.0
    """Decay of the moving average of the generator's weights that sampling uses (0: the trained generator)."""

    def validate(self) -> None:
        super().validate()
        require_positive(latent_dim=self.latent_dim, width=self.width)
        require(0 <= self.beta1 < 1, f"beta1 must be in [0, 1), got {self.beta1}")
        require(0 <= self.ema < 1, f"ema must be in [0, 1), got {self.ema}")


class GAN(GenerativeModel):
    """Non-saturating GAN: DCGAN-style networks on images, MLPs on vectors.

    **The recipe** is DCGAN's, kept after a search on the whole of MNIST at the default budget (2.9·10¹³ training
    FLOPs, 6 438 steps of 64, 7.5 epochs, seed 0; FID of 2 000 samples against 2 000 test images in the domain
    classifier's features, then coverage): 12.7 and 0.73, readable digits. A moving average of the generator's
    weights (``ema=0.999``, sampling from it): 13.8 and 0.73, no gain, so sampling uses the trained generator by
    default (``ema=0``). At 3.6·10¹³ FLOPs (8 047 steps) the same recipe gave 11.6 and 0.75."""

    name = "gan"
    config_class = GANConfig
    capabilities = frozenset({Capability.SAMPLE, Capability.DECODER})

    def _build(self, info: DataInfo) -> None:
        c = self.config
        self.latent_dim_ = self.resolved_latent_dim(info)
        out = network_input_size(info)
        self.categories = Categorical(info) if info.value_type is ValueType.CATEGORICAL else None
        if self.categories is not None:
            out = self.categories.n_params  # padded logits, turned into one-hot-like probabilities
        self.generator = nets.decoder(self.latent_dim_, out, tuple(reversed(c.hidden)), info, width=c.width,
                                      activation="relu", batch_norm=info.is_image)
        self.discriminator = nets.encoder(info, 1, c.hidden, width=c.width, activation="leaky",
                                          batch_norm=info.is_image)
        self.ema_generator = copy.deepcopy(self.generator).requires_grad_(False)
        self.register_buffer("ema_updates_", torch.zeros((), dtype=torch.long))

    @property
    def sampler(self) -> nn.Module:
        """The generator sampling and decoding use: the moving average, unless ``ema`` is 0."""
        return self.ema_generator if self.config.ema > 0 else self.generator

    # ----------------------------------------------------------------------------------- generator
    def generate(self, z: torch.Tensor, network: nn.Module | None = None) -> torch.Tensor:
        """G(z) in the form D sees: images (B, C, H, W) in (0, 1), categories as probabilities
        (B, Σ C_d) laid out like ``network_input``'s one-hot codes, vectors as they are; by ``network`` (default:
        the generator sampling uses)."""
        out = (network or self.sampler)(z)
        info = self._info
        if self.categories is not None:
            return self.categories.log_softmax(out).exp()[:, self.categories.valid.to(out.device)]
        if info.value_type is ValueType.CONTINUOUS:
            return out.reshape(len(z), *info.shape)
        return torch.sigmoid(out).reshape(len(z), *info.shape)

    def to_values(self, generated: torch.Tensor) -> torch.Tensor:
        """G's output in the data's value set: grid values, category indices or vectors."""
        info = self._info
        if self.categories is not None:
            probs = generated.new_zeros(len(generated), *self.categories.valid.shape)
            probs[:, self.categories.valid.to(generated.device)] = generated
            return probs.argmax(-1).reshape(len(generated), *info.shape)
        return info.quantize(generated)

    def _sample_latent(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """z ~ N(0, I): (n, d)."""
        return randn(n, self.latent_dim_, generator=generator, device=self.device)

    def _sample(self, n, generator):
        return self.to_values(self.generate(self._sample_latent(n, generator)))

    def _decode(self, z):
        generated = self.generate(z)
        return self.to_values(generated) if self.categories is not None else generated

    # ------------------------------------------------------------------------------------ training
    def real_input(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """What D sees of real data: one-hot categories; discrete images dequantized in their bins."""
        info = self._info
        if info.value_type is ValueType.DISCRETE:
            x = info.dequantize(x, generator).clamp(0, 1)
        return network_input(x, info)

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """L_D = -log σ(D(x)) - log(1 - σ(D(G(z)))), batch means; G's output is not trained here."""
        d_real = self.discriminator(self.real_input(real, generator))
        d_fake = self.discriminator(fake.detach())
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """L_G = -log σ(D(G(z))), the non-saturating generator loss."""
        return F.softplus(-self.discriminator(fake)).mean()

    def _fit(self, x, x_val, generator) -> None:
        c = self.config
        betas = (c.beta1, 0.999)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=c.lr, betas=betas)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=c.lr, betas=betas)

        def step(batch: torch.Tensor, noise: torch.Generator, recovery: Recovery, epoch: int) -> dict[str, float]:
            with autocast(c, x.device):
                fake = self.generate(self._sample_latent(len(batch), noise), self.generator)
                loss_d = self.discriminator_loss(batch, fake, noise)
            recovery.step(loss_d, opt_d, "discriminator loss", epoch)
            with autocast(c, x.device):  # D has moved: score the same fakes again
                loss_g = self.generator_loss(fake)
            recovery.step(loss_g, opt_g, "generator loss", epoch, inputs=list(self.generator.parameters()))
            return {"d_loss": loss_d.item(), "g_loss": loss_g.item()}

        self.history_ = train_loop(self, [opt_d, opt_g], step, x, c, generator, f"train {self.name}",
                                   epoch_examples=self.epoch_examples,
                                   after_step=self.update_ema if c.ema > 0 else None)

    @torch.no_grad()
    def update_ema(self) -> None:
        update_average(self.ema_generator, self.generator, self.ema_updates_, self.config.ema)

    family = "GANs"
