"""The bootstrap helper against the closed-form standard error of a mean."""

from __future__ import annotations

import math

import pytest
import torch

from genbench.metrics.bootstrap import bootstrap, resample, spread


def test_spread_summarises_replicates_around_the_estimate():
    result = spread([1.0, 2.0, 3.0, 4.0, float("nan")], estimate=2.5)
    assert result.replicates == 4
    assert result.stderr == pytest.approx(math.sqrt(5 / 3))
    assert (result.low, result.high) == pytest.approx((1.075, 3.925))
    shifted = spread([1.0, 2.0, 3.0, 4.0], estimate=3.0)  # median 2.5 moved onto the estimate
    assert (shifted.low, shifted.high) == pytest.approx((1.575, 4.425))
    assert math.isnan(spread([1.0], estimate=1.0).stderr)


def test_bootstrap_standard_error_of_a_mean_is_sigma_over_root_n():
    """For a mean the bootstrap standard error is s·√((n−1)/n)/√n; with 400 replicates its own
    relative error is about 1/√(2·399) ≈ 3.5%, so the tolerance is 15%."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, generator=g, dtype=torch.float64) * 3
    result = bootstrap(lambda rows: {"mean": float(x[rows].mean())}, [len(x)], 400, g, {"mean": float(x.mean())})
    result = result["mean"]
    expected = float(x.std(unbiased=False)) / math.sqrt(len(x))
    assert result.stderr == pytest.approx(expected, rel=0.15)
    assert result.low < float(x.mean()) < result.high


def test_sets_are_resampled_independently_and_reproducibly():
    seen = []
    bootstrap(lambda a, b: seen.append((len(a), len(b))) or {}, [5, 7], 3, torch.Generator().manual_seed(1), {})
    assert seen == [(5, 7)] * 3
    first = resample(10, torch.Generator().manual_seed(2))
    assert torch.equal(first, resample(10, torch.Generator().manual_seed(2)))
    assert bootstrap(lambda a: {"x": 1.0}, [3], 0, torch.Generator(), {"x": 1.0}) == {}


def test_distinct_resampling_keeps_each_drawn_row_once():
    rows = resample(1000, torch.Generator().manual_seed(3), distinct=True)
    assert torch.equal(rows, rows.unique())
    assert 0.60 < len(rows) / 1000 < 0.67  # 1 − 1/e of the rows, on average
