"""The Haar wavelet-packet features of the Fréchet wavelet distance (FWD), in plain torch.

FWD (Veeramacheneni, Wolter, Kuehne & Gall, "Fréchet Wavelet Distance: A Domain-Agnostic Metric for Image
Generation", ICLR 2025; reference code: PyPI ``pytorchfwd`` 1.0.1, ``pytorchfwd/fwd.py`` and ``freq_math.py``,
whose packet transform is ``ptwt.WaveletPacket2D`` 0.1.8) compares two image sets packet by packet:

    FWD = (1/P) Σₚ d²(N(μₚ¹, Σₚ¹), N(μₚ², Σₚ²)),     P = 4^L packets,

where μₚ, Σₚ are the mean and unbiased covariance over a set's images of packet p's coefficients, each image's
packet flattened to a vector of C·h·w values (all channels together), and d² is the Fréchet distance between
Gaussians. It is the mean of P per-packet Fréchet distances, not one distance over concatenated packets.
pytorchfwd's defaults, which the paper uses: the Haar wavelet, level L = 4, no log scaling, no resize.

Its preprocessing (``ImagePathDataset`` + ``torchvision.transforms.ToTensor``): each file is opened with PIL
and converted to RGB (a grey image's one channel is repeated three times), divided by 255 to [0, 1], no
normalisation; resizing only when asked (``--resize r``: ``transforms.Resize((r, r))``, PIL bilinear with
antialiasing, applied to the 8-bit image before ``ToTensor``). Importing ``pytorchfwd.fwd`` sets torch's default
dtype to float64, so ``ToTensor``, the packets and the statistics are all float64; so are the features here.
``prepare_images`` applies the same steps to a tensor of images (the optional resize excepted).

One level of the 2D Haar transform maps each 2×2 block [[x₀₀, x₀₁], [x₁₀, x₁₁]] (rows, then columns) of every
channel to four coefficients, named as ptwt and pywt name them:

    a = (x₀₀ + x₀₁ + x₁₀ + x₁₁)/2    low-pass along both axes
    h = (x₀₀ + x₀₁ − x₁₀ − x₁₁)/2    high-pass along the height (rows), low-pass along the width
    v = (x₀₀ − x₀₁ + x₁₀ − x₁₁)/2    low-pass along the height, high-pass along the width
    d = (x₀₀ − x₀₁ − x₁₀ + x₁₁)/2    high-pass along both axes

A packet transform applies it again to all four outputs, L times. Packets come in ptwt's natural order: the
paths ``itertools.product("ahvd", repeat=L)``, the first filter applied most significant, so packet p's
children are 4p + (a, h, v, d). An axis of odd length is first padded by one sample at its end by reflection
(xₙ = xₙ₋₂), ptwt's default ``mode="reflect"``; an image needs more than 2^(L−1) pixels along each side.
"""

from __future__ import annotations

import torch
from torch import Tensor

FWD_LEVEL = 4
"""pytorchfwd's default decomposition level, the one the paper uses (for 256×256 images)."""
FWD_WAVELET = "haar"
"""pytorchfwd's default wavelet (``--wavelet Haar``); the only one computed here."""
LOG_EPSILON = 1e-6
"""pytorchfwd's offset in the optional log scaling of the packets, log(|c| + 1e-6)."""

def prepare_images(images: Tensor) -> Tensor:
    """images: (N, 1 or 3, H, W), uint8 in [0, 255] or floating in [0, 1] → (N, 3, H, W) float64 in [0, 1].

    What pytorchfwd does to an image file: grey is repeated to three channels, 8-bit values are divided by 255.
    Floating images are taken as they are: pytorchfwd only ever sees 8-bit files, so images that match it
    exactly are 8-bit ones. No resize (pytorchfwd's default).
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"need images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        prepared = images.to(torch.float64) / 255.0
    elif images.is_floating_point():
        prepared = images.to(torch.float64)
        if prepared.numel() and (prepared.min() < 0.0 or prepared.max() > 1.0):
            raise ValueError(f"floating images must lie in [0, 1], got [{float(prepared.min()):.3g}, "
                             f"{float(prepared.max()):.3g}]; pass uint8 images for 8-bit values")
    else:
        raise ValueError(f"need uint8 or floating images, got {images.dtype}")
    return prepared.expand(-1, 3, -1, -1) if prepared.shape[1] == 1 else prepared


def check_level(height: int, width: int, level: int) -> None:
    """Raise ``ValueError`` unless an image of height × width has a level-``level`` Haar packet transform."""
    if level < 1:
        raise ValueError(f"the packet level must be at least 1, got {level}")
    smallest = 2 ** (level - 1) + 1
    if min(height, width) < smallest:
        raise ValueError(f"a level-{level} packet transform needs images of at least {smallest}×{smallest} "
                         f"pixels, got {height}×{width}; lower the level or resize the images")


def _pad_to_even(x: Tensor) -> Tensor:
    """Pad the last two axes of x, where odd, by one sample at their end, reflected (xₙ = xₙ₋₂)."""
    if x.shape[-2] % 2:
        x = torch.cat([x, x[..., -2:-1, :]], dim=-2)
    if x.shape[-1] % 2:
        x = torch.cat([x, x[..., -2:-1]], dim=-1)
    return x


def _haar_sums(x: Tensor) -> Tensor:
    """x: (..., H, W) → (..., 4, ⌈H/2⌉, ⌈W/2⌉): 2 × the a, h, v, d coefficients of one Haar level, unscaled.

    Strided sums and differences written straight into the output (no intermediate stack).
    """
    x = _pad_to_even(x)
    top, bottom = x[..., 0::2, :], x[..., 1::2, :]
    low_rows, high_rows = top + bottom, top - bottom
    out = x.new_empty(*x.shape[:-2], 4, x.shape[-2] // 2, x.shape[-1] // 2)
    torch.add(low_rows[..., 0::2], low_rows[..., 1::2], out=out[..., 0, :, :])
    torch.add(high_rows[..., 0::2], high_rows[..., 1::2], out=out[..., 1, :, :])
    torch.sub(low_rows[..., 0::2], low_rows[..., 1::2], out=out[..., 2, :, :])
    torch.sub(high_rows[..., 0::2], high_rows[..., 1::2], out=out[..., 3, :, :])
    return out


def _unscaled_packets(images: Tensor, level: int, wavelet: str) -> Tensor:
    """images: (N, C, H, W) → 2^level × the packets, as (N, C, P, h, w): the packet axis kept after the channels,
    so that packet p's four children land at 4p + (a, h, v, d) by a free reshape."""
    if wavelet.lower() != FWD_WAVELET:
        raise ValueError(f"only the Haar wavelet is implemented (FWD's default), got {wavelet!r}")
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"need floating images of shape (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    check_level(images.shape[-2], images.shape[-1], level)
    packets = images.unsqueeze(2)  # (N, C, P = 1, H, W)
    for _ in range(level):
        packets = _haar_sums(packets).flatten(2, 3)  # (N, C, P, 4, h, w) → (N, C, 4P, h, w)
    return packets


def packet_transform(images: Tensor, level: int = FWD_LEVEL, wavelet: str = FWD_WAVELET) -> Tensor:
    """images: (N, C, H, W) floating → packets (N, 4^level, C, h, w) in ptwt's natural order, the input's dtype.

    h = H halved (rounded up) ``level`` times, and so w. Equal, up to rounding, to stacking
    ``ptwt.WaveletPacket2D(images, "haar", maxlevel=level)[path]`` over ``product("ahvd", repeat=level)``.
    Each level's factor 1/2 is applied once at the end, as 2^−level: a power of two, so the same values as
    scaling every level, in one pass that also writes the result in this layout.
    """
    packets = _unscaled_packets(images, level, wavelet)
    n, channels, count, h, w = packets.shape
    out = packets.new_empty(n, count, channels, h, w)
    return torch.mul(packets.transpose(1, 2), 0.5**level, out=out)


def deepest_level(height: int, width: int) -> int:
    """The level the ``wavelet`` space uses for images of height × width: FWD's 4, or the deepest a smaller image
    has (8×8 digits: 3); 0 when it has none (a side of one pixel)."""
    level = FWD_LEVEL
    while level and min(height, width) < 2 ** (level - 1) + 1:
        level -= 1
    return level


def packet_side(side: int, level: int) -> int:
    """A packet's side: an image's ``side`` halved ``level`` times, rounded up each time (odd sides are padded)."""
    for _ in range(level):
        side = (side + 1) // 2
    return side


def packet_features(images: Tensor, level: int = FWD_LEVEL, log_scale: bool = False) -> Tensor:
    """images: (N, 1 or 3, H, W) as ``prepare_images`` takes them → (N, P·3·h·w) float64, FWD's features.

    The P = 4^level packets are consecutive blocks of 3·h·w values, in ptwt's natural order, each image's packet
    flattened channel-major as pytorchfwd flattens it; with ``log_scale`` (pytorchfwd's ``--log_scale``, off by
    default) the coefficients c become log(|c| + 1e-6). FWD is the Fréchet distance of these features averaged
    over the blocks: ``frechet_distance(gaussian_statistics(f₁, P), gaussian_statistics(f₂, P))``
    (``genbench.metrics.frechet``).
    """
    features = packet_transform(prepare_images(images), level).reshape(len(images), -1)
    return features.abs_().add_(LOG_EPSILON).log_() if log_scale else features
