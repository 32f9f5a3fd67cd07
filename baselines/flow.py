"""RealNVP: a normalizing flow of affine couplings (Dinh, Sohl-Dickstein & Bengio 2017).

An invertible f maps an example x to z = f(x) with the base density N(0, I), so the density is
exact by the change of variables (Dinh et al. 2017, eq. 3):

    log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|.

f is a preprocessing P followed by coupling layers. An affine coupling with a binary mask m keeps
the masked half and moves the rest by a scale and shift computed from the kept half (eqs. 8-9):

    y = m ⊙ x + (1 - m) ⊙ (x ⊙ exp(s(m ⊙ x)) + t(m ⊙ x)),   log |det| = Σ (1 - m) ⊙ s,

its inverse x = m ⊙ y + (1 - m) ⊙ (y - t) ⊙ exp(-s). Here s = B tanh(ŝ / B), a soft bound |s| < B, and
the last layer of every coupling network starts at zero, so that an untrained flow is P and actnorm alone.

- Images: the multi-scale architecture of Dinh et al. §3.6. Each scale couples with checkerboard
  masks, squeezes every 2×2 block into channels, couples with channel masks, and factors out half
  the channels into z; scales continue while height and width are even and at least 4 (8 → 4,
  28 → 14 → 7, 32 → 16 → 8, 20 → 10 → 5), at most ``scales`` of them; checkerboard couplings
  finish the rest. Any image size works: one that cannot be squeezed is coupled at full size.
- Vectors: couplings with alternating masks over the coordinates and MLP networks.

P puts the data where the base density is: on discrete data (images on a grid, binary vectors)
the logit of the dequantized value, y in the bin [x - Δ/2, x + Δ/2] of each grid value x, mapped
onto (α, 1 - α) (α = 10⁻⁶ by default, ``ALPHA``; Dinh et al. §4.1):

    u = logit(α + (1 - 2α) (y + Δ/2) / (1 + Δ)),
    log |det ∂u/∂y| = Σ [log((1 - 2α) / (1 + Δ)) - log s - log(1 - s)],   s = sigmoid(u);

on continuous data, standardisation by the training mean and standard deviation. ``log_prob`` is
the density of y in the data's own units, with every Jacobian counted, so the likelihood metric
measures it as it measures PCA's density: on discrete data through dequantization, a bound on
the probability of the grid values. Training maximises the same density on dequantized data.

**Stability on real images.** MNIST's background pixels are exactly 0, so after dequantization and the logit they
vary within a bin 1/255 wide, and maximum likelihood rewards expanding them without end. With log-scales bounded
at B = 3 that expansion was made by compounding couplings at their bound (×e³ each), each next shift computed
from values already scaled up: the map grew so steep that one ordinary optimiser step (gradient norm 3·10⁴)
sent the last scale's outputs from tens to 10⁵ on a whole batch (loss 1.7·10⁹, gradient norm 9·10¹²; step 100
of ``tests/benchmarks/flow_divergence.py``), after which Adam's moments carried the damage (validation 5.2 →
30 bits/dim over 5 epochs), and a longer run went non-finite. Two changes, measured against the alternatives
on the same 5 epochs (gradient-norm clipping at 5× the running median diverged at step 51; a 500-step
learning-rate warm-up spiked at step 126 and reached 4.2 bits/dim; contracting sigmoid scales with actnorm, as
Glow has them, 3.3 bits/dim with spikes):

- **actnorm** (Kingma & Dhariwal 2018, "Glow", §3.1) before every coupling: per channel (per coordinate on
  vectors) y = (x + b) e^l, log |det| = H·W·Σ_c l_c, b and l learned, initialised from the first training
  batch so that its output has zero mean and unit variance there: the large per-channel expansions are one
  well-conditioned parameter each;
- **B = 1**: a coupling scales by at most e (``SCALE_BOUND``).

Together: 2.9 → 1.9 bits/dim over the 5 epochs with no spike, where B = 3 with actnorm reached 2.2 on MNIST
but diverged at step 20 on digits upscaled to 28×28 (``tests/test_flow.py``), and B = 1 without actnorm
reached 2.1. Batch statistics enter once, at actnorm's initialisation: at evaluation every layer is a fixed
function and ``log_prob`` exact.

The latent z = f(x) has the data's dimension; ``encode`` and ``decode`` are f and f⁻¹ (encode takes a grid
value at its bin's centre), ``sample_latent`` draws from N(0, T² I) with ``temperature`` T.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from genbench.baselines import nets, standardization
from genbench.baselines.training import EarlyStoppingConfig, train
from genbench.baselines.vae import standard_normal_log_prob
from genbench.config import require, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.infra.rng import randn
from genbench.model import Capability, GenerativeModel

SCALE_BOUND = 1.0
"""B: each coupling scales a value by at most e^±B. Consecutive couplings compound their scales, and the next
coupling's shift is computed from the scaled values: at B = 3 (×20 a layer) the flow diverged on 28×28 digits,
at B = 1 it trains, and actnorm supplies the large per-channel expansions in one parameter each (module
docstring)."""
ALPHA = 1e-6
"""The logit preprocessing keeps the dequantized values in (α, 1 - α) (the config's ``alpha``, by default): 10⁻⁶ as
Papamakarios et al. 2017 (MAF, §4.2) take it for MNIST; Dinh et al. 2017's 0.05 is for natural images."""


@dataclasses.dataclass(frozen=True)
class FlowConfig(EarlyStoppingConfig):
    """``layers`` couplings per group: on images, per scale, that many checkerboard then that many channel
    couplings (the last group: checkerboard only; the first scale's checkerboard ones left out when ``squeeze_first``);
    on vectors 2·``layers`` couplings in all.

    **The recipe**, searched on the whole of MNIST at the default budget (2.9·10¹³ training FLOPs, seed 0; test
    bits/dim of the dequantized bound, FID of 2 000 samples in the domain classifier's features), one change at a time
    from the best so far:

    - Dinh et al.'s: checkerboard couplings from full size, width 32, batch 128, lr 10⁻³, α = 0.05 (675 steps, 1.6
      epochs): 1.705 bits/dim, FID 83.8;
    - Glow's 1×1 middle convolutions at width 64 (978 steps): 1.594, but 2.5× the seconds per FLOP on a CPU
      (dropped);
    - batch 64 (1 350 steps): 1.625; with lr 2·10⁻³ warmed up over 200 steps and a cosine decay: 1.602, FID 61.5;
    - squeezed first (no couplings at 28×28; 3 117 steps, 3.6 epochs): 1.589, FID 44.9; at width 48 instead (1 512
      steps): 1.645;
    - α = 10⁻⁶ (``alpha``): **1.301**, FID 45.6, 190 s of training on one core."""

    layers: int = 4
    scales: int = 2
    width: int = 32
    """Channels of each image coupling network's convolutions."""
    middle: int = 3
    """The kernel of each image coupling network's middle convolution: 3, or 1 as Glow's (Kingma & Dhariwal 2018,
    §3.3), which costs a ninth of the FLOPs at the same width."""
    alpha: float = ALPHA
    """α of the logit preprocessing (module docstring)."""
    squeeze_first: bool | None = None
    """Squeeze the image before any coupling, as Glow does: no checkerboard couplings at full size, where a
    coupling costs four times what it costs after the squeeze; None: on large images (``nets.large_image``, MNIST's),
    where it paid (below), not on 8×8 digits, where the full-size couplings are cheap and the flow's test
    log-likelihood was −86.6 nats with them and −92.1 without."""
    batch_size: int = 64
    lr: float = 2e-3
    warmup: int = 200
    lr_schedule: str = "cosine"
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layers of each vector coupling network."""
    temperature: float = 1.0
    """T: sample_latent draws z ~ N(0, T² I); below 1 trades coverage for quality."""
    patience: int = 12
    """Fewer epochs than ``EarlyStoppingConfig``'s default: on digits (seeds 0, 1, 2) the flow's validation loss
    improved at most 11 epochs apart up to its best epoch, so 12 keeps the best epoch (the same weights) that the
    default kept and saves 8 epochs of the run's costliest cell (4–6 s on 2 CPU cores)."""

    def validate(self) -> None:
        super().validate()
        require_positive(layers=self.layers, width=self.width, temperature=self.temperature)
        require(self.middle in (1, 3), f"middle must be 1 or 3, got {self.middle}")
        require(0 < self.alpha < 0.5, f"alpha must be in (0, 0.5), got {self.alpha}")
        require(self.scales >= 0, f"scales must be 0 or more, got {self.scales}")
        require_positive(**{f"hidden[{i}]": h for i, h in enumerate(self.hidden)})


# ------------------------------------------------------------------------------------------ layers
class AffineCoupling(nn.Module):
    """y = m ⊙ x + (1 - m) ⊙ (x e^s + t), (s, t) = net(m ⊙ x), s softly bounded by ``SCALE_BOUND``.

    ``mask`` has the shape of one example (or broadcasts to it); ``net`` maps a masked example batch
    to twice its channels (images) or features (vectors): ŝ then t.
    """

    def __init__(self, mask: torch.Tensor, net: nn.Module):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = net
        last = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_s, t = self.net(kept).chunk(2, dim=1)
        free = 1 - self.mask
        return SCALE_BOUND * torch.tanh(raw_s / SCALE_BOUND) * free, t * free

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.scale_shift(x * self.mask)
        return x * s.exp() + t, s.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        s, t = self.scale_shift(y * self.mask)
        return (y - t) * (-s).exp()


class ActNorm(nn.Module):
    """y = (x + b) e^l per channel of (N, C, H, W) images, or per coordinate of (N, D) vectors; log |det| is
    Σ l times the positions each channel covers. It is the identity until the first training step (training mode,
    gradients on), which sets b = −mean and l = −log std of that step's batch (Kingma & Dhariwal 2018, §3.1);
    they are then trained like any parameter. Evaluation never initialises it."""

    def __init__(self, channels: int, image: bool):
        super().__init__()
        shape = (channels, 1, 1) if image else (channels,)
        self.bias = nn.Parameter(torch.zeros(shape))
        self.log_scale = nn.Parameter(torch.zeros(shape))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def initialise(self, x: torch.Tensor) -> None:
        dims = [0, 2, 3] if x.dim() == 4 else [0]
        self.bias.copy_(-x.mean(dims).reshape(self.bias.shape))
        self.log_scale.copy_(-x.std(dims).clamp_min(1e-6).log().reshape(self.log_scale.shape))
        self.initialised.fill_(True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and torch.is_grad_enabled() and not self.initialised:
            self.initialise(x)
        positions = x[0, 0].numel() if x.dim() == 4 else 1
        return (x + self.bias) * self.log_scale.exp(), (positions * self.log_scale.sum()).expand(len(x))

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * (-self.log_scale).exp() - self.bias


def normalised(couplings: list[AffineCoupling], channels: int, image: bool) -> nn.ModuleList:
    """The couplings, each after an actnorm of its input's ``channels``."""
    return nn.ModuleList([layer for coupling in couplings for layer in (ActNorm(channels, image), coupling)])


def through(layers: nn.ModuleList, x: torch.Tensor, log_det: torch.Tensor | None = None,
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` through the couplings in order, and ``log_det`` (default 0) plus their log |det| per example."""
    log_det = x.new_zeros(len(x)) if log_det is None else log_det
    for layer in layers:
        x, ld = layer(x)
        log_det = log_det + ld
    return x, log_det


def back_through(layers: nn.ModuleList, y: torch.Tensor) -> torch.Tensor:
    """The inverse of ``through``: the couplings' inverses in reverse order."""
    for layer in reversed(layers):
        y = layer.inverse(y)
    return y


def checkerboard(channels: int, height: int, width: int, parity: int) -> torch.Tensor:
    """(C, H, W) mask with 1 where (i + j + parity) is even."""
    i, j = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return ((i + j + parity) % 2 == 0).float().expand(channels, height, width).clone()


def channel_mask(channels: int, parity: int) -> torch.Tensor:
    """(C, 1, 1) mask keeping the first half of the channels (parity 0) or the second (parity 1)."""
    keep = torch.arange(channels) < channels // 2
    return (keep if parity == 0 else ~keep).float().reshape(channels, 1, 1)


def conv_net(channels: int, width: int, middle: int = 3) -> nn.Sequential:
    """The scale-and-shift network of an image coupling: 3×3, ``middle``×``middle`` and 3×3 convolutions, same
    size."""
    return nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(width, width, middle, padding=middle // 2), nn.ReLU(),
                         nn.Conv2d(width, 2 * channels, 3, padding=1))


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, 4C, H/2, W/2): every 2×2 block into channels (volume preserving)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of ``squeeze``."""
    n, c, h, w = x.shape
    return x.reshape(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c // 4, 2 * h, 2 * w)


class Scale(nn.Module):
    """One scale of the multi-scale flow: couplings at (C, H, W); then, where ``squeezes``, a squeeze,
    channel couplings, and half the channels factored out."""

    def __init__(self, shape: tuple[int, int, int], layers: int, width: int, squeezes: bool, middle: int = 3,
                 board_layers: int | None = None):
        super().__init__()
        c, h, w = shape
        self.squeezes = squeezes
        board = [AffineCoupling(checkerboard(c, h, w, k % 2), conv_net(c, width, middle))
                 for k in range(layers if board_layers is None else board_layers)]
        self.board = normalised(board, c, image=True)
        channel = [AffineCoupling(channel_mask(4 * c, k % 2), conv_net(4 * c, width, middle))
                   for k in range(layers)]
        self.channel = normalised(channel, 4 * c, image=True) if squeezes else nn.ModuleList()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """(what goes on, what is factored out (or None), log |det|)."""
        x, log_det = through(self.board, x)
        if not self.squeezes:
            return x, None, log_det
        x, log_det = through(self.channel, squeeze(x), log_det)
        out, on = x.chunk(2, dim=1)
        return on, out, log_det

    def inverse(self, on: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        x = unsqueeze(back_through(self.channel, torch.cat([out, on], dim=1))) if self.squeezes else on
        return back_through(self.board, x)


def scale_shapes(shape: tuple[int, int, int], scales: int) -> list[tuple[tuple[int, int, int], bool]]:
    """Each scale's input shape and whether it squeezes: while H and W are even and ≥ 4, ``scales`` at
    most; then one last scale that does not."""
    plan = []
    c, h, w = shape
    while len(plan) < scales and h % 2 == 0 and w % 2 == 0 and h >= 4 and w >= 4:
        plan.append(((c, h, w), True))
        c, h, w = 2 * c, h // 2, w // 2  # squeezed to 4C, half factored out
    plan.append(((c, h, w), False))
    return plan


class ImageFlow(nn.Module):
    """The multi-scale flow on (C, H, W) images; z is every factored-out part, then the rest, flattened."""

    def __init__(self, shape: tuple[int, int, int], layers: int, scales: int, width: int, middle: int = 3,
                 squeeze_first: bool = False):
        super().__init__()
        plan = scale_shapes(shape, scales)
        self.scales = nn.ModuleList([
            Scale(s, layers, width, squeezes, middle, board_layers=0 if squeeze_first and i == 0 and squeezes else None)
            for i, (s, squeezes) in enumerate(plan)])
        self.out_shapes = [(2 * c, h // 2, w // 2) for (c, h, w), squeezes in plan if squeezes]
        self.last_shape = plan[-1][0]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts, log_det = [], x.new_zeros(len(x))
        for scale in self.scales:
            x, out, ld = scale(x)
            log_det = log_det + ld
            if out is not None:
                parts.append(out.flatten(1))
        return torch.cat([*parts, x.flatten(1)], dim=1), log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        sizes = [math.prod(s) for s in (*self.out_shapes, self.last_shape)]
        pieces = z.split(sizes, dim=1)
        outs = [p.reshape(len(z), *s) for p, s in zip(pieces, self.out_shapes)]
        x = pieces[-1].reshape(len(z), *self.last_shape)
        for scale, out in zip(reversed(self.scales), [None, *reversed(outs)]):
            x = scale.inverse(x, out)
        return x


class VectorFlow(nn.Module):
    """2·``layers`` couplings with alternating masks over the D coordinates (MLP networks)."""

    def __init__(self, dim: int, layers: int, hidden: tuple[int, ...]):
        super().__init__()
        first = (torch.arange(dim) % 2 == 0).float()
        couplings = [AffineCoupling(first if k % 2 == 0 else 1 - first, nets.mlp([dim, *hidden, 2 * dim]))
                     for k in range(2 * layers)]
        self.layers = normalised(couplings, dim, image=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return through(self.layers, x)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return back_through(self.layers, z)


# ----------------------------------------------------------------------------------------- model
class Flow(GenerativeModel):
    """RealNVP: affine couplings, multi-scale on images, exact log-likelihood."""

    name = "flow"
    config_class = FlowConfig
    capabilities = frozenset({Capability.SAMPLE, Capability.EXACT_LIKELIHOOD, Capability.ENCODER,
                              Capability.DECODER})

    @classmethod
    def unsupported_reason(cls, info: DataInfo) -> str | None:
        if info.value_type is ValueType.CATEGORICAL:
            return f"a flow transforms real values; {info.name} holds categories"
        if info.dim < 2:
            return "a coupling needs at least two values per example to split"
        return None

    @property
    def likelihood_kind(self) -> str:
        return "density"

    def _build(self, info: DataInfo) -> None:
        c = self.config
        if info.is_image:
            squeeze_first = c.squeeze_first if c.squeeze_first is not None else nets.large_image(info)
            self.flow = ImageFlow(info.shape, c.layers, c.scales, c.width, c.middle, squeeze_first)
        else:
            self.flow = VectorFlow(info.dim, c.layers, c.hidden)
        standardization.register(self, info)  # used on continuous data

    # ---------------------------------------------------------------------------- preprocessing P
    def preprocess(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """u = P(y) in the flow's input shape, and log |det ∂u/∂y| per example."""
        info = self._info
        if info.value_type is ValueType.CONTINUOUS:
            u = (y - self.shift_) * (-self.log_scale_).exp()
            return self.to_flow(u), -self.log_scale_.sum().expand(len(y))
        delta = info.bin_width
        alpha = self.config.alpha
        s = alpha + (1 - 2 * alpha) * (y + delta / 2) / (1 + delta)
        log_det = (math.log((1 - 2 * alpha) / (1 + delta)) - s.log() - (-s).log1p()).flatten(1).sum(1)
        return self.to_flow(s.log() - (-s).log1p()), log_det

    def postprocess(self, u: torch.Tensor) -> torch.Tensor:
        """y = P⁻¹(u), in the data's shape and units."""
        info = self._info
        u = u.reshape(len(u), *info.shape)
        if info.value_type is ValueType.CONTINUOUS:
            return u * self.log_scale_.exp() + self.shift_
        delta = info.bin_width
        alpha = self.config.alpha
        return (torch.sigmoid(u) - alpha) / (1 - 2 * alpha) * (1 + delta) - delta / 2

    def to_flow(self, u: torch.Tensor) -> torch.Tensor:
        return u.reshape(len(u), *self._info.shape) if self._info.is_image else u.reshape(len(u), -1)

    def density(self, y: torch.Tensor) -> torch.Tensor:
        """log p(y) per example: the base density of f(y) plus every log |det|."""
        u, log_det_p = self.preprocess(y)
        z, log_det_f = self.flow(u)
        return standard_normal_log_prob(z) + log_det_f + log_det_p

    # --------------------------------------------------------------------------------- training
    def loss(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """-log p(y) in nats per example, y the dequantized x on discrete data, averaged over the batch."""
        y = self._info.dequantize(x, generator) if self._info.is_discrete else x
        return -self.density(y).mean()

    def _fit(self, x, x_val, generator) -> None:
        if self._info.value_type is ValueType.CONTINUOUS:
            standardization.fit(self, x)
        self.history_ = train(self, self.loss, x, x_val, self.config, generator,
                              desc=f"train {self.name}", epoch_examples=self.epoch_examples)

    # ------------------------------------------------------------------------------- the contract
    def _log_prob(self, y):
        return self.density(y)

    def _encode(self, x):
        return self.flow(self.preprocess(x)[0])[0]

    def _decode(self, z):
        return self._info.clip(self.postprocess(self.flow.inverse(z)))

    def _sample_latent(self, n, generator):
        return self.config.temperature * randn(n, self._info.dim, generator=generator, device=self.device)

    def _sample(self, n, generator):
        y = self.postprocess(self.flow.inverse(self._sample_latent(n, generator)))
        return self._info.quantize(y)
    family = "flows"
