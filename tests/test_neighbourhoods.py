"""Precision, recall, density and coverage from shared passes: equal to torch-fidelity's precision/recall
bit for bit, and to the float64 density/coverage kernel (itself equal to prdc, tests/test_coverage.py),
including where float32 distances are far from exact."""

from __future__ import annotations

import pytest
import torch

from genbench.metrics.coverage import density_coverage
from genbench.metrics.neighbourhoods import (
    NEIGHBOURHOOD_FIGURES,
    cdist_part,
    kth_radii_32,
    neighbourhood_figures,
    real_balls,
)


def torch_fidelity_prc(fake, real, k, batch):
    from torch_fidelity.metric_prc import prc_features_to_metric

    out = prc_features_to_metric(fake, real, prc_neighborhood=k, prc_batch_size=batch, save_cpu_ram=True,
                                 verbose=False)
    return out["precision"], out["recall"]


def sets(n_real, n_fake, dim, shift=0.3, offset=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n_real, dim, generator=g) + offset
    fake = 1.2 * torch.randn(n_fake, dim, generator=g) + shift + offset
    return real, fake


@pytest.mark.parametrize("n_real, n_fake, dim, batch", [(600, 500, 16, 128), (359, 359, 128, 4096),
                                                         (1000, 300, 2, 64)])
def test_precision_and_recall_equal_torch_fidelity_bit_for_bit(n_real, n_fake, dim, batch):
    real, fake = sets(n_real, n_fake, dim)
    ours = neighbourhood_figures(fake, real, real_balls(real, 3, 5, batch), 3, 5, batch, {"precision", "recall"})
    assert (ours["precision"], ours["recall"]) == torch_fidelity_prc(fake, real, 3, batch)


def test_duplicated_points_and_exact_ties_are_decided_as_torch_fidelity_does():
    """Integer coordinates: many distances equal a radius exactly, where ≤ and < part."""
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 4, (400, 3), generator=g).float()
    fake = torch.randint(0, 5, (300, 3), generator=g).float()
    ours = neighbourhood_figures(fake, real, real_balls(real, 3, 5, 100), 3, 5, 100, set(NEIGHBOURHOOD_FIGURES))
    assert (ours["precision"], ours["recall"]) == torch_fidelity_prc(fake, real, 3, 100)
    reference = density_coverage(real, fake, 5)
    assert (ours["density"], ours["coverage"]) == (reference.density, reference.coverage)


@pytest.mark.parametrize("offset", [0.0, 300.0])
def test_density_and_coverage_equal_the_float64_kernel(offset):
    """At an offset of 300 float32's |x|² + |y|² − 2x·y loses most digits of a unit distance; the pairs
    near a radius are then decided in float64, so the figures still equal the float64 kernel's."""
    real, fake = sets(800, 700, 24, offset=offset, seed=2)
    distances = cdist_part(fake, real, 256)
    exact = torch.cdist(fake.double(), real.double())
    error = (distances.double() - exact).abs().max().item()
    assert (error > 1e-3) == (offset > 0), f"float32 distance error {error:.2g}"
    ours = neighbourhood_figures(fake, real, real_balls(real, 3, 5, 256), 3, 5, 256, {"density", "coverage"})
    reference = density_coverage(real, fake, 5)
    assert (ours["density"], ours["coverage"]) == (reference.density, reference.coverage)


def test_radii_are_torch_fidelitys_own():
    real, _ = sets(500, 10, 8)
    torch.testing.assert_close(kth_radii_32(real, 3, 64), torch.cdist(real, real).kthvalue(4, dim=1).values,
                               rtol=0, atol=0)


def test_each_figure_can_be_asked_alone():
    real, fake = sets(300, 300, 8)
    balls = real_balls(real, 3, 5, 64)
    every = neighbourhood_figures(fake, real, balls, 3, 5, 64, set(NEIGHBOURHOOD_FIGURES))
    for name in NEIGHBOURHOOD_FIGURES:
        assert neighbourhood_figures(fake, real, balls, 3, 5, 64, {name}) == {name: every[name]}


def test_features_far_from_the_origin_and_close_together_are_decided_in_float32_almost_everywhere(monkeypatch):
    """Inception features of near-identical images sit far from the origin, close to each other. float32's error
    on a distance scales with the squared norms, so uncentred, nearly every pair fell in the band that is
    recomputed in float64 (minutes and gigabytes per figure); centred on the real mean, the band is rare again,
    and the figures are still float64's exactly."""
    from genbench.metrics import neighbourhoods

    g = torch.Generator().manual_seed(0)
    real = 50 + 0.01 * torch.randn(400, 256, generator=g)
    fake = 50 + 0.012 * torch.randn(300, 256, generator=g) + 0.002
    band, pairs = [], []
    decide = neighbourhoods.strictly_inside

    def counted(distances, rows, x, radii, bounds):
        low, high = bounds
        band.append(int(((distances >= low) & (distances <= high)).sum()))
        pairs.append(distances.numel())
        return decide(distances, rows, x, radii, bounds)

    monkeypatch.setattr(neighbourhoods, "strictly_inside", counted)
    ours = neighbourhood_figures(fake, real, real_balls(real, 3, 5, 128), 3, 5, 128, {"density", "coverage"})
    expected = density_coverage(real.double(), fake.double(), 5)
    assert ours["density"] == pytest.approx(expected.density, abs=1e-12)
    assert ours["coverage"] == pytest.approx(expected.coverage, abs=1e-12)
    assert sum(band) < 0.01 * sum(pairs), f"{sum(band)} of {sum(pairs)} pairs recomputed in float64"
