"""Smoothness of decoded interpolations: closed forms of the kernel, and the adapter on exact decoders."""

from __future__ import annotations

import math

import pytest
import torch

from genbench.config import NoOptions
from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data, Split
from genbench.metrics.smoothness import (
    LatentSmoothness,
    SmoothnessOptions,
    line_codes,
    path_steps,
    smoothness_figures,
)
from genbench.model import Capability, FixedModel
from genbench.records import NO_ESTIMATOR, NOT_AVAILABLE, OK
from genbench.reference import RealData
from genbench.service.evaluation import eval_context, measure


def test_line_codes_run_evenly_from_one_end_to_the_other():
    z0, z1 = torch.tensor([[0.0, 2.0]]), torch.tensor([[4.0, -2.0]])
    line = line_codes(z0, z1, 4)
    assert line.shape == (1, 5, 2)
    assert torch.equal(line[0], torch.tensor([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0], [3.0, -1.0], [4.0, -2.0]]))


def test_a_linear_decoder_gives_exactly_even_steps(generator):
    """φ(g(z)) = A z + b along a straight line in z is a straight line walked at constant speed:
    every step is c/T, so both figures are exactly 1 (to float64 rounding)."""
    a, b, z0, z1 = (torch.randn(*shape, generator=generator, dtype=torch.float64)
                    for shape in ((7, 3), (7,), (50, 3), (50, 3)))
    paths = path_steps(line_codes(z0, z1, 10) @ a.T + b)
    assert paths.steps.shape == (50, 10) and paths.left_out == 0
    assert torch.allclose(10 * paths.steps, paths.ends.unsqueeze(1).expand(50, 10), rtol=1e-12, atol=0)
    figures = smoothness_figures(paths)
    assert figures["smoothness_mean"] == pytest.approx(1, abs=1e-12)
    assert figures["smoothness_p99"] == pytest.approx(1, abs=1e-12)


def test_a_decoder_with_a_jump_has_mean_one_but_p99_equal_to_t():
    """φ switches from one end to the other at one step: the path is straight (length = distance
    between the ends, so the mean is exactly 1) but one step carries it all, T·s/L = T there. With
    1/T = 10% of the steps at T, the 99% quantile is T."""
    t_steps = 10
    jump_at = torch.arange(40) % t_steps + 1  # each pair jumps at a different step
    t = torch.arange(t_steps + 1)
    features = (t.unsqueeze(0) >= jump_at.unsqueeze(1)).double().unsqueeze(2) * torch.tensor([3.0, 4.0])
    figures = smoothness_figures(path_steps(features))
    assert figures["smoothness_mean"] == pytest.approx(1, abs=1e-12)
    assert figures["smoothness_p99"] == pytest.approx(t_steps, abs=1e-12)


def test_an_even_half_circle_detours_by_the_closed_form_without_jumps():
    """Points at angles πt/T on a circle of radius R: every step is the chord 2R sin(π/2T) and the
    ends are 2R apart, so the mean is T sin(π/2T) (→ π/2, the arc over the diameter) and, the pace
    being even, the p99 is exactly 1."""
    t_steps, radius = 8, 3.0
    angles = math.pi * torch.arange(t_steps + 1, dtype=torch.float64) / t_steps
    path = radius * torch.stack([angles.cos(), angles.sin()], dim=1).unsqueeze(0)
    figures = smoothness_figures(path_steps(path))
    assert figures["smoothness_mean"] == pytest.approx(t_steps * math.sin(math.pi / (2 * t_steps)), abs=1e-12)
    assert figures["smoothness_p99"] == pytest.approx(1, abs=1e-12)


def test_the_mean_pools_lengths_so_a_pair_with_close_ends_does_not_dominate():
    """Two pairs: a straight one (L = c = 10) and one that goes out and nearly back (L = 1.99,
    c = 0.01). Pooled: (10 + 1.99) / (10 + 0.01); the mean of the pairs' own ratios would be
    (1 + 199) / 2 = 100, set by the one pair whose ends nearly coincide."""
    straight = torch.tensor([[[0.0], [5.0], [10.0]]], dtype=torch.float64)
    back = torch.tensor([[[0.0], [1.0], [0.01]]], dtype=torch.float64)
    figures = smoothness_figures(path_steps(torch.cat([straight, back])))
    assert figures["smoothness_mean"] == pytest.approx(11.99 / 10.01, abs=1e-12)


def test_paths_that_stand_still_are_left_out():
    still = torch.zeros(1, 3, 1)
    line = torch.tensor([[[0.0], [1.0], [2.0]]])
    paths = path_steps(torch.cat([still, line, line]))
    assert paths.left_out == 1 and torch.equal(paths.steps, torch.ones(2, 2, dtype=torch.float64))
    assert all(math.isnan(v) for v in smoothness_figures(paths.rows(torch.arange(0))).values())


# ------------------------------------------------------------------------------------- the adapter
class AffineDecoder(FixedModel):
    """A test double on 2-D continuous data: decode(z) = A z + b (exactly linear), and either the
    inverse as its encoder or no encoder (then its latent draws come from N(0, I))."""

    name = "affine"
    config_class = NoOptions
    capabilities = frozenset({Capability.SAMPLE, Capability.ENCODER, Capability.DECODER})

    def __init__(self, info, a, b, jump=0.0):
        super().__init__()
        self.a, self.b, self.jump = a, b, jump
        self.build(info)


    def _encode(self, x):
        return torch.linalg.solve(self.a, (x - self.b).T).T

    def _decode(self, z):
        # An optional jump: everything with z₀ > 0 is shifted far away.
        return z @ self.a.T + self.b + self.jump * (z[:, :1] > 0).float()

    def _sample_latent(self, n, generator):
        return torch.randn(n, 2, generator=generator)

    def _sample(self, n, generator):
        return self._decode(self._sample_latent(n, generator))


class DecoderOnly(AffineDecoder):
    capabilities = frozenset({Capability.SAMPLE, Capability.DECODER})


def records(model, data, metric, seed=0):
    return {r.metric: r for r in measure(model, data, [metric], eval_context(seed=seed))}


def test_an_affine_decoder_scores_exactly_one_in_raw_features(rings):
    """Rings' feature space is the raw coordinates, so an affine decoder's paths are straight and
    even: both figures are 1 up to float32 rounding, with zero spread over pairs."""
    model = AffineDecoder(rings.info, torch.tensor([[2.0, 0.5], [-0.3, 1.0]]), torch.tensor([0.1, -0.2]))
    got = records(model, rings, LatentSmoothness(n=100, steps=5))
    for name in ("smoothness_mean", "smoothness_p99"):
        record = got[name]
        assert record.status == OK and record.value == pytest.approx(1, abs=1e-4)
        assert record.n == 100 and record.extractor == "raw" and record.stderr < 1e-4
        assert record.details["steps"] == 5 and record.details["endpoints"] == "encoded test examples"


def test_a_jumping_decoder_has_a_large_p99_and_prior_draws_without_an_encoder(rings):
    """Without an encoder the ends are prior draws. A decoder that jumps by 100 where z₀ crosses 0
    puts almost all of a crossing pair's path into one step, T·s/L ≈ T = 10 there; about half of
    the pairs cross, so 5% of steps are jumps and the p99 is one of them. The path stays straight
    (length ≈ distance between the ends), so the mean stays near 1: only the p99 sees jumps."""
    a, b = torch.eye(2), torch.zeros(2)
    smooth = records(DecoderOnly(rings.info, a, b), rings, LatentSmoothness(steps=10))
    jumpy = records(DecoderOnly(rings.info, a, b, jump=100.0), rings, LatentSmoothness(steps=10))
    assert smooth["smoothness_p99"].details["endpoints"].startswith("sample_latent draws")
    assert smooth["smoothness_p99"].value == pytest.approx(1, abs=1e-4)
    assert 8 < jumpy["smoothness_p99"].value < 11 and jumpy["smoothness_mean"].value < 1.1
    assert jumpy["smoothness_p99"].value - 1 > 10 * jumpy["smoothness_p99"].stderr


def test_the_same_seed_gives_the_same_figures(rings):
    model = AffineDecoder(rings.info, torch.tensor([[1.0, 0.3], [0.2, 1.0]]), torch.zeros(2), jump=3.0)
    first, second = records(model, rings, LatentSmoothness()), records(model, rings, LatentSmoothness())
    assert first == second


def test_models_without_a_decoder_and_categorical_data_are_not_available(rings, wardrobe):
    no_decoder = records(RealData(rings.train), rings, LatentSmoothness())
    assert {r.status for r in no_decoder.values()} == {NOT_AVAILABLE}
    assert no_decoder["smoothness_p99"].estimator == NO_ESTIMATOR and "decoder" in no_decoder["smoothness_p99"].reason
    info = DataInfo("cats", (2,), ValueType.CATEGORICAL, categories=(("a", "b"), ("c", "d")))
    x = torch.tensor([[0, 1], [1, 0], [1, 1], [0, 0]])
    cats = Data(info, *(Split(x, info, name=n) for n in ("train", "val", "test")))
    model = DecoderOnly(rings.info, torch.eye(2), torch.zeros(2))
    got = records(model, cats, LatentSmoothness())
    assert got["smoothness_mean"].status == NOT_AVAILABLE and "categorical" in got["smoothness_mean"].reason


def test_options_are_checked(digits):
    from genbench.errors import UnknownNameError, UsageError

    assert SmoothnessOptions().steps == 10 and SmoothnessOptions(n=5).n == 5
    with pytest.raises(UsageError, match="steps"):
        SmoothnessOptions(steps=0)
    with pytest.raises(UsageError, match="unknown option"):
        LatentSmoothness(pairs=3)
    with pytest.raises(UnknownNameError):
        LatentSmoothness(extractor="nope").prepare(digits, eval_context())
