"""Mode coverage on rings: the VEEGAN rule, the true mixture's closed form, and a mode-dropping sampler."""

from __future__ import annotations

import math

import pytest
import torch

import genbench
from genbench.metrics.fidelity import Fidelity
from genbench.metrics.modes import RingModes, mode_coverage, true_high_quality_share
from genbench.reference import TrueModel
from genbench.service.evaluation import eval_context, measure


def mode_dropper(truth, keep: list[int]):
    """The true ring mixture with only some of its modes: a collapsed GAN, exactly."""
    keep = torch.tensor(keep)

    def sample(n, generator):
        mode = keep[torch.randint(len(keep), (n,), generator=generator)]
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return (truth.means[mode] + truth.std * noise).float()

    return sample


def test_rule_counts_modes_with_a_high_quality_sample():
    nearest = torch.tensor([0, 0, 1, 2, 2, 3])
    distance = torch.tensor([0.5, 2.9, 3.5, 1.0, 3.0, 10.0])  # in σ: 3.0 is still high quality
    result = mode_coverage(nearest, distance, n_modes=5)
    assert (result.captured, result.counts) == (2, [2, 0, 2, 0, 0])
    assert result.high_quality == pytest.approx(4 / 6)
    assert mode_coverage(nearest, distance, n_modes=5, min_count=2).captured == 2
    assert mode_coverage(nearest, distance, n_modes=5, sigmas=4.0).captured == 3


def records(model, data, metric, seed=0):
    return {r.metric: r for r in measure(model, data, [metric], eval_context(seed=seed))}


def test_the_true_mixture_captures_every_mode_with_the_closed_form_share(rings):
    """Share within 3σ under the truth: 1 − e^−4.5 = 0.98889; n = 1000 (the test split), so the
    binomial standard error is 0.0033 and the tolerance 4 of them."""
    truth = TrueModel(rings.true_distribution, rings.info)
    got = records(truth, rings, RingModes())
    assert got["modes_captured"].value == 8 and got["modes_captured"].n == 1000
    binomial_stderr = math.sqrt(0.0111 * 0.989 / 1000)
    assert got["high_quality"].value == pytest.approx(true_high_quality_share(3.0), abs=4 * binomial_stderr)
    assert got["high_quality"].stderr > 0 and len(got["high_quality"].details["bootstrap"]["ci95"]) == 2
    assert got["modes_captured"].details["rule"].startswith("high quality: within sigmas·σ")


def test_a_mode_dropping_sampler_scores_fewer_modes_and_lower_coverage(rings, sampler):
    truth = TrueModel(rings.true_distribution, rings.info)
    dropper = sampler(mode_dropper(rings.true_distribution, keep=[0, 1, 2, 3]), rings.info)
    faithful, collapsed = records(truth, rings, RingModes()), records(dropper, rings, RingModes())
    assert collapsed["modes_captured"].value == 4 < faithful["modes_captured"].value == 8
    fidelity = Fidelity(bootstrap=0)
    faithful_cov, collapsed_cov = records(truth, rings, fidelity), records(dropper, rings, fidelity)
    assert collapsed_cov["coverage"].extractor == "raw"
    # Half the modes: about half the real neighbourhoods stay empty (expected 0.97 vs ~0.5).
    assert collapsed_cov["coverage"].value < 0.6 < 0.9 < faithful_cov["coverage"].value
    assert collapsed_cov["recall"].value < faithful_cov["recall"].value


def test_modes_are_not_available_without_known_modes(digits, wardrobe):
    model = genbench.make_model("naive-bayes")
    for data in (digits, wardrobe):
        assert "not a mixture with known modes" in RingModes().unavailable_reason(model, data)
