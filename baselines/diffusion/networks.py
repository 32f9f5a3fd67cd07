"""The diffusion model's networks ε_θ(x_t, t).

Images: a small U-Net (``levels`` resolutions, each a residual block with GroupNorm and the
time embedding, halving while the image is even-sized; skip connections back up). Vectors: an MLP with the time
embedding added to every hidden layer. Time enters as a sinusoidal embedding (Vaswani et al. 2017). An
exponential moving average of the weights (``ema``, its decay warmed up as min(ema, (1 + n) / (10 + n)) after n
steps) is the network every evaluation uses.

"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genbench.baselines import nets


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the step t (N,) → (N, dim): sin and cos at frequencies 10000^(-k / (dim/2))."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class TimeEmbedding(nn.Module):
    def __init__(self, dim: int, out: int):
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(nn.Linear(dim, out), nn.SiLU(), nn.Linear(out, out))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.net(time_embedding(t, self.dim))


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if channels % 8 == 0 else 1, channels)


class ResidualBlock(nn.Module):
    """x + conv(SiLU(GN(conv(SiLU(GN(x))) + embedding))), the last convolution starting at zero."""

    def __init__(self, c_in: int, c_out: int, embedding: int):
        super().__init__()
        self.norm_in, self.conv_in = group_norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.embedding = nn.Linear(embedding, c_out)
        self.norm_out, self.conv_out = group_norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(F.silu(self.norm_in(x))) + self.embedding(F.silu(emb))[:, :, None, None]
        return self.skip(x) + self.conv_out(F.silu(self.norm_out(h)))


def unet_channels(shape: tuple[int, int, int], width: int, levels: int) -> list[int]:
    """Channels per resolution: ``width``, 2·``width``, then 4·``width`` at every lower one; a level halves the image
    while it is even-sized (28 → 14 → 7): capacity where positions are few costs little."""
    _, h, w = shape
    channels = [width]
    while len(channels) < levels and h % 2 == 0 and w % 2 == 0 and h >= 4 and w >= 4:
        channels.append(width * 2 ** min(len(channels), 2))
        h, w = h // 2, w // 2
    return channels


class UNet(nn.Module):
    """ε_θ on (C, H, W) images: one residual block per resolution on the way down and up, skips between. With
    ``patch`` p > 1 the image enters as p×p patches folded into channels (C·p², H/p, W/p: pixel unshuffle) and leaves
    unfolded (pixel shuffle), so that the network works at H/p and below, where a position costs p² times less
    (Hoogeboom et al. 2023, "simple diffusion", §3.2)."""

    def __init__(self, shape: tuple[int, int, int], width: int, levels: int, outputs: int = 1, patch: int = 1):
        super().__init__()
        c, h, w = shape
        self.patch = patch if patch > 1 and h % patch == 0 and w % patch == 0 else 1
        shape = (c * self.patch**2, h // self.patch, w // self.patch)
        channels = unet_channels(shape, width, levels)
        embedding = 4 * width
        self.time = TimeEmbedding(width, embedding)
        self.stem = nn.Conv2d(shape[0], width, 3, padding=1)
        c_prev = [width, *channels[:-1]]
        self.down = nn.ModuleList([ResidualBlock(c_in, c, embedding) for c_in, c in zip(c_prev, channels)])
        self.downsample = nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1) for c in channels[:-1]])
        self.middle = ResidualBlock(channels[-1], channels[-1], embedding)
        self.upsample = nn.ModuleList([nn.Conv2d(c_next, c, 3, padding=1)
                                       for c, c_next in zip(channels[:-1], channels[1:])])
        self.up = nn.ModuleList([ResidualBlock(2 * c, c, embedding) for c in channels])
        self.head = nn.Sequential(group_norm(width), nn.SiLU(), nn.Conv2d(width, outputs * shape[0], 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(t)
        if self.patch > 1:
            x = F.pixel_unshuffle(x, self.patch)
        h, skips = self.stem(x), []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.middle(h, emb)
        for i in reversed(range(len(self.up))):
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, size=skips[i].shape[-2:], mode="nearest"))
            h = self.up[i](torch.cat([h, skips[i]], dim=1), emb)
        out = self.head(h)
        return F.pixel_shuffle(out, self.patch) if self.patch > 1 else out


class TimeMLP(nn.Module):
    """ε_θ on vectors: an MLP with the time embedding added to every hidden layer, the output starting at zero."""

    def __init__(self, dim: int, hidden: tuple[int, ...], outputs: int = 1):
        super().__init__()
        self.time = TimeEmbedding(64, hidden[0])
        sizes = [dim, *hidden]
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.embeddings = nn.ModuleList([nn.Linear(hidden[0], b) for b in hidden])
        self.out = nets.mlp([hidden[-1], outputs * dim])
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = F.silu(self.time(t))
        h = x
        for layer, embedding in zip(self.layers, self.embeddings):
            h = F.silu(layer(h) + embedding(emb))
        return self.out(h)
