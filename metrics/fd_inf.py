"""FD∞ (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them", CVPR):
the Fréchet distance extrapolated to infinitely many generated samples.

FID computed from N generated samples is biased upwards, by an amount that depends on the model, roughly
in proportion to 1/N (the paper's premise: to first order FD_N = FD∞ + slope/N). So FD is computed on random
subsets of the generated features at several sizes N_1 < … < N_k, the line

    FD(N) = FD∞ + slope · (1/N)

is fitted to the points (1/N_i, FD_i) by ordinary least squares, and FD∞ is its intercept, the value at
1/N = 0. The real statistics are held fixed (as in the paper, which uses precomputed ones).

Protocol of the reference code (mchong6/FID_IS_infinity, ``score_infinity.py``,
``calculate_FID_infinity``/``calculate_FID_infinity_path``): 15 points (``num_points``), sizes
``np.linspace(5000, N, 15)`` truncated to integers, from 5000 (``min_fake``) to all N generated features
(50 000 by default there), and at each size a fresh shuffle of the features whose first N_i rows are
taken: a random subset without replacement (a comment there says "with replacement"; the code draws without),
drawn independently of the other sizes. The largest subset is all the features. The line is scikit-learn's
``LinearRegression`` of FD on 1/N, evaluated at 0. ``default_sizes`` gives these sizes; with 5000 features or
fewer it starts from N // 10 instead (the reference's ratio at its default N) and drops repeated sizes.

Standard error: the OLS standard error of the intercept,

    s² = Σ rᵢ² / (k − 2),   se(FD∞) = s · √(1/k + x̄² / Σ (xᵢ − x̄)²),   xᵢ = 1/Nᵢ,

from the residuals rᵢ around the fitted line (NaN with only two distinct sizes). Treat it as a lower bound.
It sees only how the subsets scatter around the line, and understates FD∞'s error twice over (measured in
tests/test_fd_inf.py and when this was written):

- given the generated set, the subsets' scatter shrinks towards the largest size (the last subset is the
  whole set), so the residuals are not of one variance: the reported figure was about 0.7-0.8 of the
  intercept's actual spread over repeated subset draws from one set;
- the set's own sampling error is common to every subset and invisible in the residuals: over fresh sets of
  N(μ, I) features (d = 4-16) against exact N(0, I) statistics, the intercept's spread was 1.7-2.7 times the
  reported figure (the median |error| / stderr over 20 sets was 0.9-2.2, against 0.67 for an exact figure).

For an error bar on FD∞ itself, repeat the procedure on fresh samples or bootstrap it (metrics/bootstrap.py).

Why the intercept is the right target, in the one case where everything is exact: against a point mass (real
covariance 0) FD_N = |x̄_N − μ_r|² + tr S_N, and a subset of N of the P generated rows drawn without
replacement has E[x̄_N] = x̄_P, Cov x̄_N = S_P (1/N − 1/P), E S_N = S_P (ddof 1). So, given the set,
E FD_N = |x̄_P − μ_r|² + tr S_P (1 − 1/P) + tr S_P / N is exactly linear in 1/N, the OLS intercept is unbiased for
its intercept, and that in turn has expectation |μ − μ_r|² + tr Σ = FD∞ over sets: FD∞ is unbiased, where
FD_P is above it by tr Σ / P. In general the bias of FD_N is linear in 1/N only to first order (for N(μ, I)
against N(0, I): d/N from the means plus d(d+1)/(4N) from the covariances), and the line ignores the 1/N²
remainder.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from genbench.metrics.frechet import GaussianStatistics, frechet_to

POINTS = 15
"""How many subset sizes the reference code fits its line to (``num_points``)."""
SMALLEST = 5000
"""The reference code's smallest subset (``min_fake``, and the lower end in ``calculate_FID_infinity``)."""

F64 = torch.float64


@dataclasses.dataclass(frozen=True)
class FdInfinity:
    """The fitted line FD(N) = intercept + slope / N, the intercept's OLS standard error, and its data."""

    intercept: float
    slope: float
    stderr: float
    sizes: tuple[int, ...]
    distances: tuple[float, ...]


def smallest_size(n: int, smallest: int = SMALLEST, above: int = 1) -> int:
    """The smallest subset of n: ``smallest`` (the reference code's), or n // 10 when n ≤ ``smallest``; and
    always more than ``above`` (at least 2)."""
    return max(smallest if n > smallest else n // 10, above + 1, 2)


def default_sizes(n: int, points: int = POINTS, smallest: int = SMALLEST, above: int = 1) -> list[int]:
    """The reference code's ``linspace(smallest, n, points)`` truncated to integers, ascending and distinct,
    from ``smallest_size(n, smallest, above)``."""
    if n < 3:
        raise ValueError(f"FD∞ needs at least 3 generated feature vectors (subsets of 2 or more at two sizes), got {n}")
    grid = torch.linspace(smallest_size(n, smallest, above), n, points, dtype=F64)
    return sorted({int(v) for v in grid.tolist()})


def fit_intercept(sizes: Sequence[int], distances: Sequence[float]) -> tuple[float, float, float]:
    """OLS fit of distances = intercept + slope / sizes: ``(intercept, slope, stderr of the intercept)``.

    Needs at least two distinct sizes; the standard error (module docstring) is NaN with fewer than three
    points, 0 when the points lie on the line.
    """
    if len(sizes) != len(distances):
        raise ValueError(f"need one distance per size, got {len(sizes)} sizes and {len(distances)} distances")
    if len(set(sizes)) < 2 or min(sizes) <= 0:
        raise ValueError(f"need at least two distinct positive sizes to fit a line, got {list(sizes)}")
    x = 1.0 / torch.tensor([float(s) for s in sizes], dtype=F64)
    y = torch.tensor([float(d) for d in distances], dtype=F64)
    if not torch.isfinite(y).all():
        raise ValueError(f"the distances must be finite, got {list(distances)}")
    x_mean, y_mean = x.mean(), y.mean()
    sxx = float(((x - x_mean) ** 2).sum())
    slope = float(((x - x_mean) * (y - y_mean)).sum()) / sxx
    intercept = float(y_mean) - slope * float(x_mean)
    k = len(x)
    if k < 3:
        return intercept, slope, math.nan
    residuals = y - (intercept + slope * x)
    s2 = float((residuals**2).sum()) / (k - 2)
    return intercept, slope, math.sqrt(s2 * (1.0 / k + float(x_mean) ** 2 / sxx))


def fd_infinity(real_stats: GaussianStatistics, fake_features: torch.Tensor, sizes: Sequence[int] | None = None,
                generator: torch.Generator | None = None) -> FdInfinity:
    """FD∞ of ``fake_features`` (N, D) against fixed ``real_stats`` (module docstring).

    ``sizes`` (default: ``default_sizes(N)``, the reference protocol) are the subset sizes, each 2 ≤ Nᵢ ≤ N,
    at least two distinct; each subset is a fresh random choice of rows without replacement, drawn with
    ``generator`` (a CPU ``torch.Generator``; None: torch's global generator).
    """
    if fake_features.ndim != 2 or fake_features.shape[1] != real_stats.dim:
        raise ValueError(f"need (N, {real_stats.dim}) generated features to match the real statistics, got shape "
                         f"{tuple(fake_features.shape)}")
    n = fake_features.shape[0]
    sizes = default_sizes(n) if sizes is None else [int(s) for s in sizes]
    if not sizes or min(sizes) < 2 or max(sizes) > n:
        raise ValueError(f"subset sizes must lie in [2, {n}] (the number of generated features), got {sizes}")
    if len(set(sizes)) < 2:
        raise ValueError(f"need at least two distinct subset sizes to fit a line, got {sizes}")
    distances = []
    for size in sizes:
        rows = torch.randperm(n, generator=generator)[:size].to(fake_features.device)
        distances.append(frechet_to(fake_features[rows], real_stats))
    intercept, slope, stderr = fit_intercept(sizes, distances)
    return FdInfinity(intercept, slope, stderr, tuple(sizes), tuple(distances))
