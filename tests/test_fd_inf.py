"""FD∞: the line fit against exact lines and scipy, the reference protocol's sizes, and the extrapolation
against Gaussians whose expected Fréchet distances are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from genbench.metrics.fd_inf import default_sizes, fd_infinity, fit_intercept
from genbench.metrics.frechet import GaussianStatistics, frechet_distance, gaussian_statistics

F64 = torch.float64
REFERENCE_SIZES = [int(v) for v in np.linspace(5000, 50000, 15).astype("int32")]


def standard_normal_stats(dim: int, mean: float = 0.0) -> GaussianStatistics:
    """Exact statistics N(mean·1, I) (no sampling error: ``n`` is nominal)."""
    return GaussianStatistics(torch.full((dim,), mean, dtype=F64), torch.eye(dim, dtype=F64), 10**9)


def test_fit_intercept_recovers_an_exact_line():
    """Points on a + b/N give a and b up to rounding and a standard error of zero (to 1e-12 of a)."""
    a, b = 3.25, 1234.5
    intercept, slope, stderr = fit_intercept(REFERENCE_SIZES, [a + b / n for n in REFERENCE_SIZES])
    assert intercept == pytest.approx(a, rel=1e-12)
    assert slope == pytest.approx(b, rel=1e-9)
    assert stderr < 1e-12 * a


def test_fit_intercept_matches_scipy_linregress():
    """Noisy points: intercept, slope and the intercept's standard error are scipy's (float64 rounding, 1e-9)."""
    rng = np.random.default_rng(0)
    sizes = [100, 150, 200, 200, 400, 700, 1000]
    distances = [2.0 + 300.0 / n + rng.normal(0, 0.05) for n in sizes]
    reference = scipy.stats.linregress(1.0 / np.array(sizes, dtype=float), distances)
    intercept, slope, stderr = fit_intercept(sizes, distances)
    assert intercept == pytest.approx(reference.intercept, rel=1e-9)
    assert slope == pytest.approx(reference.slope, rel=1e-9)
    assert stderr == pytest.approx(reference.intercept_stderr, rel=1e-9)


def test_fit_intercept_with_two_sizes_has_no_standard_error():
    intercept, slope, stderr = fit_intercept([10, 20], [1.5, 1.25])
    assert (intercept, slope) == pytest.approx((1.0, 5.0), rel=1e-12)
    assert math.isnan(stderr)


@pytest.mark.parametrize("sizes, distances", [([10, 10, 10], [1.0, 2.0, 3.0]), ([10, 20], [1.0]),
                                              ([0, 20], [1.0, 2.0]), ([10, 20], [1.0, math.nan])])
def test_fit_intercept_refuses_what_has_no_line(sizes, distances):
    with pytest.raises(ValueError):
        fit_intercept(sizes, distances)


def test_default_sizes_are_the_reference_grid():
    """``np.linspace(5000, 50000, 15).astype('int32')``, as in score_infinity.py; below 5000 rows, from N // 10."""
    assert default_sizes(50_000) == REFERENCE_SIZES
    assert default_sizes(20_000) == [int(v) for v in np.linspace(5000, 20000, 15).astype("int32")]
    assert default_sizes(1000) == [int(v) for v in np.linspace(100, 1000, 15).astype("int32")]
    assert default_sizes(20) == sorted({int(v) for v in np.linspace(2, 20, 15)})


def test_the_largest_subset_is_every_row_and_seeds_repeat():
    """Subsets are drawn without replacement, so the one of size N is a permutation of all rows: its FD is the
    full set's (to rounding of the sums, 1e-10). The same seed gives the same figures; another does not."""
    g = torch.Generator().manual_seed(0)
    fake = torch.randn(300, 3, generator=g, dtype=F64) * 1.3 + 0.2
    real = standard_normal_stats(3)
    result = fd_infinity(real, fake, [30, 100, 300], generator=torch.Generator().manual_seed(1))
    assert result.distances[-1] == pytest.approx(frechet_distance(gaussian_statistics(fake), real), rel=1e-10)
    assert result == fd_infinity(real, fake, [30, 100, 300], generator=torch.Generator().manual_seed(1))
    assert result != fd_infinity(real, fake, [30, 100, 300], generator=torch.Generator().manual_seed(2))
    assert result.sizes == (30, 100, 300) and len(result.distances) == 3


def test_point_mass_reference_the_intercept_is_unbiased_given_the_set():
    """Against a point mass μ_r (covariance 0), FD_N = |x̄_N − μ_r|² + tr S_N, and given the P generated rows
    E FD_N = |x̄_P − μ_r|² + tr S_P (1 − 1/P) + tr S_P / N exactly (module docstring). Over 60 repeated runs on
    one set, the intercepts and slopes average to that line's within 3 standard errors; the reported
    standard error is 0.55-1.15 of the intercepts' spread (0.69-1.02 over 30 seeds, median 0.79: the scatter
    is not of one variance, which OLS assumes)."""
    g = torch.Generator().manual_seed(3)
    fake = torch.randn(200, 4, generator=g, dtype=F64)
    real = GaussianStatistics(torch.full((4,), 0.5, dtype=F64), torch.zeros(4, 4, dtype=F64), 10**9)
    pool = gaussian_statistics(fake)
    trace = float(torch.trace(pool.cov))
    line_intercept = float(((pool.mean - real.mean) ** 2).sum()) + trace * (1 - 1 / 200)
    sizes = [int(v) for v in np.linspace(20, 200, 15)]
    runs = [fd_infinity(real, fake, sizes, generator=g) for _ in range(60)]
    intercepts = torch.tensor([r.intercept for r in runs], dtype=F64)
    slopes = torch.tensor([r.slope for r in runs], dtype=F64)
    assert abs(float(intercepts.mean()) - line_intercept) < 3 * float(intercepts.std()) / math.sqrt(60)
    assert abs(float(slopes.mean()) - trace) < 3 * float(slopes.std()) / math.sqrt(60)
    reported = sum(r.stderr for r in runs) / len(runs)
    assert 0.55 < reported / float(intercepts.std()) < 1.15


def test_gaussians_fd_infinity_finds_the_true_distance_where_fd_n_overshoots():
    """Generated N(μ, I₁₆), |μ|² = 0.01, against exact N(0, I₁₆): FD(∞) = |μ|² = 0.01, and to first order
    E FD_N = |μ|² + (d + d(d+1)/4) / N = 0.01 + 84/N (means: d/N exactly; covariances: E tr(S − I)²/4).

    Over 20 fresh sets of 2000 rows (15 sizes, 200-2000): FD at N = 2000 sits about 84/2000 = 0.042 above the
    truth, in every set more than a quarter of that (half, at the least, over 600 sets); the intercept
    averages to the truth within 3 standard errors of the mean (a bias of 0.042 would be ~20 of them); the
    slope averages to 84 within 3 standard errors. The reported standard error has the right order of
    magnitude: the median of |intercept − truth| / stderr lies in [0.5, 3] (0.87-2.22 over 30 seeds; 0.67 if it
    were exact: it leaves out the set's own sampling error, module docstring).
    """
    dim, truth, n = 16, 0.01, 2000
    real = standard_normal_stats(dim)
    mu = torch.zeros(dim, dtype=F64)
    mu[0] = math.sqrt(truth)
    sizes = [int(v) for v in np.linspace(200, n, 15)]
    g = torch.Generator().manual_seed(4)
    runs = [fd_infinity(real, torch.randn(n, dim, generator=g, dtype=F64) + mu, sizes, generator=g)
            for _ in range(20)]
    errors = torch.tensor([r.intercept - truth for r in runs], dtype=F64)
    slopes = torch.tensor([r.slope for r in runs], dtype=F64)
    first_order_slope = dim + dim * (dim + 1) / 4
    assert all(r.distances[-1] - truth > 0.25 * first_order_slope / n for r in runs)
    assert abs(float(errors.mean())) < 3 * float(errors.std()) / math.sqrt(len(runs))
    assert first_order_slope / n > 10 * float(errors.std()) / math.sqrt(len(runs))
    assert abs(float(slopes.mean()) - first_order_slope) < 3 * float(slopes.std()) / math.sqrt(len(runs))
    assert 0.5 < float(torch.tensor([abs(r.intercept - truth) / r.stderr for r in runs]).median()) < 3.0


@pytest.mark.parametrize("features, sizes, match", [
    (torch.zeros(50, 4), [10, 50], "generated features"),
    (torch.zeros(50), [10, 50], "generated features"),
    (torch.randn(50, 3), [10, 51], r"\[2, 50\]"),
    (torch.randn(50, 3), [1, 50], r"\[2, 50\]"),
    (torch.randn(50, 3), [20, 20], "two distinct"),
])
def test_bad_input_raises_value_error(features, sizes, match):
    with pytest.raises(ValueError, match=match):
        fd_infinity(standard_normal_stats(3), features, sizes, generator=torch.Generator().manual_seed(0))


def test_default_sizes_are_used_without_sizes():
    g = torch.Generator().manual_seed(5)
    fake = torch.randn(400, 2, generator=g, dtype=F64)
    result = fd_infinity(standard_normal_stats(2), fake, generator=g)
    assert list(result.sizes) == default_sizes(400) and result.sizes[0] == 40 and result.sizes[-1] == 400
