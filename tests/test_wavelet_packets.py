"""The wavelet-packet features of FWD: closed forms of the Haar transform, then parity with its reference code.

Parity is checked against ptwt 0.1.8 (the packet transform) and pytorchfwd 1.0.1 (its image loading, its
per-packet statistics and its FWD, called in-process on PNG files); each part is skipped where that package is
absent. Tolerances: both sides compute in float64. The packets differ only by the order of a few additions and
ptwt's factor 0.7071067811865476² = 0.5000000000000001 against 1/2 here, so they agree to 1e-12 of their scale.
The FWDs differ in how the matrix square root is taken (scipy's ``sqrtm`` of Σ₁Σ₂ in pytorchfwd, symmetric
eigendecompositions and an SVD in ``genbench.metrics.frechet``); with 64 images of 12 features per packet the
covariances are well conditioned, and the two agree to about 1e-13 relative: 1e-9 leaves room for other
LAPACK builds while staying far below the 1e-5 that torch-fidelity asks of its FID.
"""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genbench.features.wavelet_packets import (
    FWD_LEVEL,
    check_level,
    deepest_level,
    packet_features,
    packet_transform,
    prepare_images,
)
from genbench.metrics.frechet import frechet_distance, gaussian_statistics

F64 = torch.float64
N_IMAGES, SIZE = 64, 32
"""Image sets for the FWD parity: 64 RGB images of 32×32, 256 packets of 3·2·2 = 12 features each."""


def fwd(images1: torch.Tensor, images2: torch.Tensor, level: int = FWD_LEVEL) -> float:
    """FWD as genbench composes it: packet features, then the Fréchet distance averaged over the packets."""
    packets = 4**level
    return frechet_distance(gaussian_statistics(packet_features(images1, level), packets),
                            gaussian_statistics(packet_features(images2, level), packets))


def image_sets() -> tuple[torch.Tensor, torch.Tensor]:
    """Two uint8 RGB sets that differ at every scale: uniform noise, and low-contrast noise with vertical stripes."""
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (N_IMAGES, 3, SIZE, SIZE), generator=g, dtype=torch.uint8)
    soft = torch.randint(64, 160, (N_IMAGES, 3, SIZE, SIZE), generator=g, dtype=torch.int32)
    stripes = 48 * (torch.arange(SIZE) % 4 < 2)
    return noise, (soft + stripes).to(torch.uint8)


def ptwt_packets(images: torch.Tensor, level: int) -> torch.Tensor:
    """ptwt's Haar packet tree, every leaf in natural order, stacked as (N, P, C, h, w) as pytorchfwd stacks it."""
    ptwt = pytest.importorskip("ptwt")
    tree = ptwt.WaveletPacket2D(images, "haar", maxlevel=level)
    return torch.stack([tree["".join(path)] for path in itertools.product("ahvd", repeat=level)], dim=1)


def save_pngs(images: torch.Tensor, folder: Path) -> Path:
    """images: (N, 1 or 3, H, W) uint8 → one PNG each (mode L or RGB), named in order."""
    folder.mkdir()
    for i, image in enumerate(images):
        array = image.permute(1, 2, 0).numpy()
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """FWD is 256 Fréchet distances of 12 features each: on matrices this small, MKL's second thread only waits,
    and on a loaded 2-core machine ``centred.T @ centred`` (12×64 by 64×12) took 5 ms with two threads against
    2 µs with one (the file: 82 s against 2 s). The values do not depend on it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def pytorchfwd_fwd(monkeypatch):
    """``pytorchfwd.fwd`` as its command line runs it: importing it sets torch's default dtype to float64 (so its
    ``ToTensor`` gives float64), and its data loaders need a worker count (``main`` sets one). The default dtype
    is put back afterwards, so that no other test sees it."""
    pytest.importorskip("pytorchfwd")
    previous = torch.get_default_dtype()
    try:
        module = importlib.import_module("pytorchfwd.fwd")
        torch.set_default_dtype(F64)
        monkeypatch.setattr(module, "NUM_PROCESSES", 0)
        yield module
    finally:
        torch.set_default_dtype(previous)


# Closed forms of the Haar packet transform.

def test_one_level_is_the_haar_formula_on_each_2x2_block():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 5.0]]]], dtype=F64)
    packets = packet_transform(x, level=1)[0, :, 0, 0, 0]
    assert packets.tolist() == [(1 + 2 + 3 + 5) / 2, (1 + 2 - 3 - 5) / 2, (1 - 2 + 3 - 5) / 2, (1 - 2 - 3 + 5) / 2]


def test_the_transform_keeps_the_energy_and_the_first_packet_is_the_scaled_block_mean():
    """Haar is orthonormal: Σ packets² = Σ x² when the sides are multiples of 2^L; the all-'a' packet is 2^L times
    the mean of each 2^L × 2^L block."""
    x = torch.rand(3, 3, 32, 48, generator=torch.Generator().manual_seed(1), dtype=F64)
    packets = packet_transform(x, level=3)
    assert packets.shape == (3, 64, 3, 4, 6)
    torch.testing.assert_close(packets.square().sum(dim=(1, 3, 4)), x.square().sum(dim=(2, 3)), rtol=1e-12, atol=0)
    block_means = torch.nn.functional.avg_pool2d(x, 8)
    torch.testing.assert_close(packets[:, 0], 8 * block_means, rtol=1e-12, atol=0)


def test_a_constant_image_has_only_its_first_packet():
    packets = packet_transform(torch.full((1, 3, 16, 16), 0.25, dtype=F64), level=2)
    assert packets[:, 0].eq(0.25 * 4).all() and packets[:, 1:].eq(0).all()


def test_the_transform_is_per_image_whatever_the_batch():
    x = torch.rand(6, 3, 20, 20, generator=torch.Generator().manual_seed(2))
    whole = packet_transform(x, level=3)
    assert torch.equal(torch.cat([packet_transform(x[:2], 3), packet_transform(x[2:], 3)]), whole)


def test_a_brightness_shift_moves_only_the_first_packet_mean():
    """y = x + c: every packet's covariance is unchanged, packet 0's mean moves by c·2^L in each of its D = 3·h·w
    features, so FWD = D (c 2^L)² / 4^L exactly."""
    x = torch.rand(N_IMAGES, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(3), dtype=F64) / 2
    c, level = 0.25, FWD_LEVEL
    assert fwd(x, x) == pytest.approx(0.0, abs=1e-12)
    assert fwd(x, x + c) == pytest.approx(3 * 2 * 2 * (c * 2**level) ** 2 / 4**level, rel=1e-9)


def test_grey_images_are_their_channel_repeated_and_uint8_is_divided_by_255():
    grey = torch.randint(0, 256, (4, 1, 12, 12), generator=torch.Generator().manual_seed(4), dtype=torch.uint8)
    rgb = grey.expand(-1, 3, -1, -1)
    assert torch.equal(prepare_images(grey), rgb.to(F64) / 255)
    assert torch.equal(packet_features(grey, level=2), packet_features(rgb.double() / 255, level=2))


@pytest.mark.parametrize(("height", "width", "deepest"), [(256, 256, 4), (9, 40, 4), (8, 8, 3), (28, 5, 3), (3, 3, 2),
                                                      (2, 2, 1), (1, 5, 0)])
def test_the_wavelet_space_takes_fwds_level_or_the_deepest_a_small_image_has(height, width, deepest):
    assert deepest_level(height, width) == deepest
    if deepest:
        check_level(height, width, deepest)
    if deepest < FWD_LEVEL:
        with pytest.raises(ValueError):
            check_level(height, width, deepest + 1)


@pytest.mark.parametrize(("height", "width", "level", "smallest"), [(8, 32, 4, 9), (32, 4, 3, 5), (2, 2, 2, 3)])
def test_too_small_images_are_refused_with_the_smallest_size(height, width, level, smallest):
    with pytest.raises(ValueError, match=f"at least {smallest}×{smallest}"):
        packet_transform(torch.zeros(1, 3, height, width), level)
    check_level(smallest, smallest, level)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: packet_transform(torch.zeros(1, 3, 8, 8), 2, wavelet="db2"), "only the Haar wavelet"),
    (lambda: packet_transform(torch.zeros(1, 3, 8, 8), 0), "at least 1"),
    (lambda: packet_transform(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 1), "floating images"),
    (lambda: prepare_images(torch.full((1, 3, 8, 8), 1.5)), r"must lie in \[0, 1\]"),
    (lambda: prepare_images(torch.zeros(1, 2, 8, 8)), "1 or 3"),
])
def test_bad_input_is_refused_with_a_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# Parity with ptwt and pytorchfwd.

@pytest.mark.parametrize(("height", "width"), [(32, 32), (28, 28), (27, 29), (9, 12)])
@pytest.mark.parametrize("level", [1, 2, 4])
def test_packets_match_ptwt_odd_sides_included(height, width, level):
    """Odd sides at any level (28 → 14 → 7 → 4 → 2) are padded by reflection, as ptwt pads them."""
    if min(height, width) <= 2 ** (level - 1):
        pytest.skip("too small for this level")
    x = torch.rand(5, 3, height, width, generator=torch.Generator().manual_seed(level), dtype=F64)
    expected = ptwt_packets(x, level)
    torch.testing.assert_close(packet_transform(x, level), expected, rtol=0, atol=1e-12 * expected.abs().max())


def test_log_scaled_features_match_pytorchfwds_packet_function():
    freq_math = pytest.importorskip("pytorchfwd.freq_math")
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(5), dtype=F64)
    for log_scale in (False, True):
        expected = freq_math.forward_wavelet_packet_transform(x, "Haar", 3, log_scale)
        ours = packet_features(x, level=3, log_scale=log_scale)
        torch.testing.assert_close(ours, expected.flatten(1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels", [1, 3])
def test_packet_statistics_match_pytorchfwd_on_png_files(pytorchfwd_fwd, tmp_path, channels):
    """pytorchfwd's own loading (PIL → RGB → ToTensor) and per-packet mean and covariance, grey files included."""
    images = image_sets()[0][:16, :channels]
    loader = torch.utils.data.DataLoader(
        pytorchfwd_fwd.ImagePathDataset(sorted(save_pngs(images, tmp_path / "pngs").glob("*.png")),
                                        transforms=pytorchfwd_fwd.tv.ToTensor()), batch_size=8)
    mu, sigma = pytorchfwd_fwd.compute_packet_statistics(loader, "Haar", FWD_LEVEL, log_scale=False)
    statistics = gaussian_statistics(packet_features(images, FWD_LEVEL), 4**FWD_LEVEL)
    assert mu.shape == (4**FWD_LEVEL, 12) and sigma.shape == (4**FWD_LEVEL, 12, 12)
    for p in (0, 1, 37, 255):
        stats = statistics.block(p)
        np.testing.assert_allclose(stats.mean.numpy(), mu[p], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(stats.cov.numpy(), sigma[p], rtol=1e-10, atol=1e-14)


def test_fwd_matches_pytorchfwds_compute_fwd(pytorchfwd_fwd, tmp_path):
    images1, images2 = image_sets()
    folders = [str(save_pngs(images, tmp_path / name)) for images, name in ((images1, "a"), (images2, "b"))]
    expected = float(pytorchfwd_fwd.compute_fwd(folders, "Haar", FWD_LEVEL, False, 32, None))
    ours = fwd(images1, images2)
    assert expected > 0.1 and ours == pytest.approx(expected, rel=1e-9)
