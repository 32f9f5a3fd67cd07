"""Shared building blocks: every model composes its networks from these, chosen by data shape.

Images (C, H, W) get convolutional stacks, everything else MLPs:

- ``encoder``: network input → (B, out) features (a VAE's posterior parameters, an AE's code,
  a discriminator's logit, a classifier's logits);
- ``decoder``: (B, latent) → (B, P) flat parameters of an observation model, laid out
  parameter-major (every value's first parameter, then every value's second), as
  ``observation`` expects.

Convolutions halve the image while it is 8 pixels or larger (8 → 4, 28 → 14 → 7,
32 → 16 → 8 → 4); transposed convolutions double it back up from the smallest base of at
least 4 pixels that divides it (4 → 8, 7 → 14 → 28, 4 → 8 → 16 → 32).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
from torch import nn

from genbench.baselines.observation import network_input_size
from genbench.data.info import DataInfo

MAX_DOUBLINGS = 4
LARGE_IMAGE = 16
"""Pixels a side from which an image counts as large (MNIST's 28, CIFAR-10's 32; not digits' 8): where models
spend their compute below full size (the flow squeezes first, the diffusion model's U-Net works on 2×2 patches),
because a position at full size costs four times one at half size and a small image has few positions to spare."""
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "silu": nn.SiLU,
    "relu": nn.ReLU,
    "leaky": functools.partial(nn.LeakyReLU, 0.2),  # DCGAN's discriminator
}


def large_image(info: DataInfo) -> bool:
    """Whether ``info`` is an even-sized image of at least ``LARGE_IMAGE`` pixels a side."""
    if not info.is_image:
        return False
    _, height, width = info.shape
    return min(height, width) >= LARGE_IMAGE and height % 2 == 0 and width % 2 == 0


def mlp(sizes: Sequence[int], activation: str = "silu") -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def conv_down(channels: int, size: int, width: int, activation: str = "silu",
              batch_norm: bool = False) -> nn.Sequential:
    """Stride-2 4×4 convolutions (width, 2·width, … channels) while the image is 8 pixels or more."""
    layers: list[nn.Module] = []
    c_in, c_out = channels, width
    while size >= 8:
        layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))
        if batch_norm and c_in != channels:  # DCGAN: no normalisation after the first layer
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(ACTIVATIONS[activation]())
        c_in, c_out, size = c_out, c_out * 2, size // 2
    if not layers:  # images under 8 pixels: one shape-preserving convolution
        layers += [nn.Conv2d(c_in, width, 3, padding=1), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def encoder(info: DataInfo, out_features: int, hidden: Sequence[int], *, width: int = 32,
            activation: str = "silu", batch_norm: bool = False) -> nn.Module:
    """Network input (B, ...) → (B, out_features): convolutions for images, then an MLP head."""
    if not info.is_image:
        return nn.Sequential(nn.Flatten(), mlp([network_input_size(info), *hidden, out_features], activation))
    channels, height, _ = info.shape
    body = conv_down(channels, height, width, activation, batch_norm)
    with torch.no_grad():
        flat = body.eval()(torch.zeros(1, *info.shape)).numel()
    body.train()
    return nn.Sequential(body, nn.Flatten(), mlp([flat, *hidden[-1:], out_features], activation))


class ImageDecoder(nn.Module):
    """(B, latent) → (B, k·C·H·W): a linear map to a base grid, transposed convolutions up to H×W."""

    def __init__(self, in_features: int, info: DataInfo, params_per_value: int, *, width: int = 32,
                 activation: str = "silu", batch_norm: bool = False):
        super().__init__()
        channels, height, width_px = info.shape
        doublings = 0
        while (doublings < MAX_DOUBLINGS and height % 2 ** (doublings + 1) == 0
               and width_px % 2 ** (doublings + 1) == 0 and height // 2 ** (doublings + 1) >= 4):
            doublings += 1
        top = width * 2 ** max(doublings - 1, 0)
        self.base = (top, height // 2**doublings, width_px // 2**doublings)
        n_base = self.base[0] * self.base[1] * self.base[2]
        project: list[nn.Module] = [nn.Linear(in_features, n_base)]
        if batch_norm:
            project.append(nn.BatchNorm1d(n_base))
        self.project = nn.Sequential(*project, ACTIVATIONS[activation]())
        layers: list[nn.Module] = []
        c = top
        for _ in range(doublings):
            c_out = max(width, c // 2)
            layers.append(nn.ConvTranspose2d(c, c_out, 4, stride=2, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(ACTIVATIONS[activation]())
            c = c_out
        layers.append(nn.Conv2d(c, params_per_value * channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.body(self.project(z).reshape(len(z), *self.base))  # (B, k·C, H, W)
        return out.reshape(len(z), -1)


def decoder(in_features: int, out_features: int, hidden: Sequence[int], info: DataInfo | None = None, *,
            width: int = 32, activation: str = "silu", batch_norm: bool = False) -> nn.Module:
    """Latent (B, in_features) → flat parameters (B, out_features) of an observation model."""
    if info is not None and info.is_image:
        params_per_value, remainder = divmod(out_features, info.dim)
        if remainder:
            raise ValueError(f"{out_features} outputs do not divide into the image's {info.dim} values")
        return ImageDecoder(in_features, info, params_per_value, width=width, activation=activation,
                            batch_norm=batch_norm)
    return mlp([in_features, *hidden, out_features], activation)
