"""Density and coverage against the reference implementation (prdc) and the paper's expectations."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from genbench.metrics.coverage import density_coverage, expected_coverage, kth_neighbour_radii


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int) -> dict:
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes
        return compute_prdc(real.numpy(), fake.numpy(), k)


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_density_and_coverage_equal_prdc(k):
    """Same features, same conventions (open balls, a point is not its own neighbour): the figures
    are counts over the same comparisons, so they agree to rounding (float64 distances on both sides)."""
    g = torch.Generator().manual_seed(k)
    real = torch.randn(700, 16, generator=g, dtype=torch.float64)
    fake = torch.randn(500, 16, generator=g, dtype=torch.float64) * 1.2 + 0.2
    ours, reference = density_coverage(real, fake, k), prdc(real, fake, k)
    assert ours.density == pytest.approx(reference["density"], abs=1e-12)
    assert ours.coverage == pytest.approx(reference["coverage"], abs=1e-12)


def test_blocks_do_not_change_the_result():
    """Bounded memory: blocks of 1 000 distances give the same figures as one block."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, 8, generator=g), torch.randn(400, 8, generator=g)
    assert density_coverage(real, fake, 5, max_elements=1000) == density_coverage(real, fake, 5)


def test_radii_are_the_kth_other_point():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)
    torch.testing.assert_close(kth_neighbour_radii(x, 1), torch.tensor([1.0, 1.0, 2.0, 4.0], dtype=torch.float64))
    torch.testing.assert_close(kth_neighbour_radii(x, 2), torch.tensor([3.0, 2.0, 3.0, 6.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="k \\+ 1"):
        kth_neighbour_radii(x, 4)


def test_expected_coverage_is_the_papers_formula():
    """Naeem et al. 2020: 1 − Π_{i=1..k} (N − i)/(M + N − i), which is ≈ 1 − 2^−k at M = N."""
    assert expected_coverage(10, 10, 1) == pytest.approx(1 - 9 / 19)
    assert expected_coverage(10_000, 10_000, 5) == pytest.approx(1 - 2**-5, abs=1e-4)
    assert expected_coverage(359, 359, 5) == pytest.approx(0.96940, abs=1e-5)


def test_identical_distributions_match_the_expectations():
    """Real and fake from one Gaussian, N = M = 1000, k = 5, 20 repetitions: E[coverage] from the
    formula (0.969) and E[density] = 1. The tolerances are 4 standard errors of the mean over the
    repetitions (coverage: sd ≈ 0.006 per draw; density: sd ≈ 0.04)."""
    g = torch.Generator().manual_seed(7)
    draws = [density_coverage(torch.randn(1000, 4, generator=g), torch.randn(1000, 4, generator=g), 5)
             for _ in range(20)]
    coverage = np.array([d.coverage for d in draws])
    density = np.array([d.density for d in draws])
    assert coverage.mean() == pytest.approx(expected_coverage(1000, 1000, 5), abs=4 * coverage.std() / np.sqrt(20))
    assert density.mean() == pytest.approx(1.0, abs=4 * density.std() / np.sqrt(20))


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="need \\(N, D\\) and \\(M, D\\)"):
        density_coverage(torch.zeros(10, 3), torch.zeros(10, 4))
