"""Disentanglement scores: oracle bounds (perfect ≈ 1, useless ≈ 0 or chance), an independent
mutual information, and the adapter on shapes with an encoder that knows the factors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import mutual_info_score

from genbench.config import NoOptions
from genbench.metrics.disentanglement import (
    Disentanglement,
    discretize,
    entropy,
    factor_vae_score,
    mig,
    mutual_information,
)
from genbench.model import Capability, FixedModel
from genbench.records import NO_ESTIMATOR, NOT_AVAILABLE, OK
from genbench.service.evaluation import eval_context, measure

SIZES = (3, 4, 6, 6, 6)
"""Values per factor, as on shapes."""


def uniform_factors(n: int, generator: torch.Generator, sizes=SIZES) -> torch.Tensor:
    return torch.stack([torch.randint(k, (n,), generator=generator) for k in sizes], dim=1)


@pytest.fixture(scope="module")
def factors():
    return uniform_factors(10_000, torch.Generator().manual_seed(0))


def test_discretize_uses_equal_width_bins_from_min_to_max():
    codes = torch.tensor([[0.0, 5.0], [0.5, 5.0], [0.99, 5.0], [1.0, 5.0], [2.0, 5.0]])
    binned = discretize(codes, bins=4)  # edges 0, 0.5, 1, 1.5, 2; the maximum joins the last bin
    assert binned[:, 0].tolist() == [0, 1, 1, 2, 3]
    assert binned[:, 1].tolist() == [0] * 5  # a constant dimension: one bin


def test_mutual_information_equals_sklearn_on_a_small_case(generator):
    """An independent computation: scikit-learn's contingency-table mutual information (nats)."""
    a = torch.randint(5, (300,), generator=generator)
    b = (a + torch.randint(3, (300,), generator=generator)) % 7  # dependent on a
    assert mutual_information(a, b) == pytest.approx(mutual_info_score(a.numpy(), b.numpy()), abs=1e-12)
    assert entropy(a) == pytest.approx(mutual_info_score(a.numpy(), a.numpy()), abs=1e-12)


def test_mig_matches_a_computation_from_sklearn(generator):
    """MIG from scratch with sklearn's mutual_info_score and numpy's histogram discretisation (as
    disentanglement_lib bins: numpy.digitize against the histogram's edges but the last)."""
    factors = uniform_factors(500, generator, sizes=(3, 5))
    codes = torch.stack([factors[:, 1] + 0.3 * torch.randn(500, generator=generator),
                         factors[:, 0] - 0.5 * factors[:, 1] + torch.randn(500, generator=generator),
                         torch.randn(500, generator=generator)], dim=1).double()
    binned = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in codes.numpy().T])
    info = np.array([[mutual_info_score(z, v) for v in factors.numpy().T] for z in binned])
    top = np.sort(info, axis=0)[::-1]
    h = np.array([mutual_info_score(v, v) for v in factors.numpy().T])
    expected = np.mean((top[0] - top[1]) / h)
    result = mig(codes, factors, bins=20)
    assert result.score == pytest.approx(expected, abs=1e-12)
    assert np.allclose(result.information.numpy(), info, atol=1e-12)


def test_mig_of_a_perfect_representation_is_near_one(factors, generator):
    """Codes = factors, or any permuted, scaled and shifted copy: each factor's own dimension holds
    all of H(v) and the others nothing but the plug-in bias, (B − 1)(K − 1)/2N ≤ 19·5/20000 ≈ 0.005
    nats, so MIG ≥ 1 − 0.005/log 3 ≈ 0.995; tolerance 0.99."""
    perfect = mig(factors.double(), factors)
    assert perfect.score > 0.99 and perfect.best_dims == [0, 1, 2, 3, 4]
    order = torch.tensor([3, 0, 4, 1, 2])
    copy = factors[:, order].double() * torch.tensor([2.0, -3.0, 0.5, 7.0, 1.0]) + 10
    assert mig(copy, factors).score == pytest.approx(perfect.score, abs=1e-12)
    padded = mig(torch.cat([copy, torch.randn(len(factors), 3, generator=generator)], dim=1), factors)
    assert padded.score > 0.99 and padded.best_dims == order.argsort().tolist()


def test_mig_of_a_useless_representation_is_near_zero(factors, generator):
    """Codes independent of the factors: every I(z_j; v_k) is plug-in bias alone (≈ 0.005 nats),
    and the gap between two such is smaller still; tolerance 0.02."""
    assert mig(torch.randn(len(factors), 10, generator=generator), factors).score < 0.02


def test_mig_of_an_entangled_representation_is_in_between(factors):
    """Rotating two factors' dimensions by 45° shares their information between both: those two
    gaps fall towards 0 while the other three stay near 1, so MIG ≈ 3/5."""
    codes = factors.double()
    mixed = codes.clone()
    mixed[:, 3], mixed[:, 4] = codes[:, 3] + codes[:, 4], codes[:, 3] - codes[:, 4]
    result = mig(mixed, factors)
    assert 0.5 < result.score < 0.7 and min(result.gaps[3:]) < 0.3


def test_factor_vae_score_of_a_perfect_representation_is_one(factors, generator):
    """Fixing factor k makes its own dimension constant, variance 0, the argmin every time."""
    for codes in (factors.double(), factors[:, [2, 0, 4, 1, 3]].double() * 4 - 1):
        result = factor_vae_score(codes, factors, generator)
        assert result.score == 1.0 and result.train_accuracy == 1.0 and result.active == 5


def test_factor_vae_score_of_a_useless_representation_is_chance(factors, generator):
    """Independent codes: the vote's dimension says nothing about its factor, so the classifier is
    right 1/K = 0.2 of the time in expectation (binomial standard error over 1000 evaluation votes
    0.013; tolerance 0.05). Without any active dimension the score is 0, as disentanglement_lib."""
    useless = factor_vae_score(torch.randn(len(factors), 10, generator=generator), factors, generator)
    assert useless.score == pytest.approx(1 / 5, abs=0.05)
    assert factor_vae_score(torch.zeros(len(factors), 4), factors, generator).score == 0.0


def test_factor_vae_score_is_near_chance_for_useless_codes_on_a_small_set(shapes, generator):
    """On shapes' 519 test examples a group sharing a value is the same few dozen rows each time;
    with training and evaluation votes from one set of rows, independent codes scored 0.27-0.35.
    From disjoint halves the mean of 10 draws is within 0.06 of chance, 0.2 (0.23 seen; one
    draw's spread is about 0.035, over few distinct groups)."""
    factors = shapes.test.factors
    scores = [factor_vae_score(torch.randn(len(factors), 10, generator=generator), factors, generator).score
              for _ in range(10)]
    assert sum(scores) / len(scores) == pytest.approx(0.2, abs=0.06)


def test_factor_vae_votes_use_at_most_the_smallest_group_of_a_half(generator):
    factors = uniform_factors(900, generator, sizes=(4, 30))  # about 30 rows per value of the second
    result = factor_vae_score(factors.double(), factors, generator, batch=64)
    smallest = min(int(torch.unique(v, return_counts=True)[1].min()) for v in factors.T)
    assert 2 <= result.batch < smallest < 64 and result.score == 1.0  # the smallest group of either half


def test_kernels_refuse_mismatched_or_constant_input(factors):
    with pytest.raises(ValueError, match="codes for"):
        mig(torch.zeros(3, 2), factors)
    with pytest.raises(ValueError, match="entropy is 0"):
        mig(torch.randn(10, 2), torch.zeros(10, 1, dtype=torch.long))


# ------------------------------------------------------------------------------------- the adapter
class FactorEncoder(FixedModel):
    """Encodes a shapes image to its true factors (looked up by its pixels), times ``mix``: the
    oracle representation, or a linear mixture of it."""

    name = "oracle"
    config_class = NoOptions
    capabilities = frozenset({Capability.ENCODER})

    def __init__(self, data, mix=None):
        super().__init__()
        splits = (data.train, data.val, data.test)
        self.table = {bytes(x.numpy()): f for s in splits for x, f in zip(s.x.to(torch.uint8), s.factors)}
        self.mix = mix
        self.build(data.info)


    def _encode(self, x):
        codes = torch.stack([self.table[bytes(row.numpy())] for row in x.to(torch.uint8)]).float()
        return codes if self.mix is None else codes @ self.mix


def records(model, data, seed=0, bootstrap=5, **options):
    metric = Disentanglement(bootstrap=bootstrap, **options)
    return {r.metric: r for r in measure(model, data, [metric], eval_context(seed=seed))}


def test_the_oracle_encoder_scores_near_one_on_shapes(shapes):
    """Shapes' 519 test images encoded to their own factors: MIG near 1 (plug-in bias with 519
    examples: (19·5)/(2·519) ≈ 0.09 nats against H ≥ log 3, tolerance 0.9) and FactorVAE score 1."""
    got = records(FactorEncoder(shapes), shapes)
    assert got["mig"].status == OK and got["mig"].value > 0.9 and got["mig"].n == len(shapes.test)
    assert got["factor_vae_score"].value == 1.0
    details = got["mig"].details
    assert details["factors"] == ["shape", "scale", "rotation", "x", "y"]
    assert details["best_dim_per_factor"] == {"shape": 0, "scale": 1, "rotation": 2, "x": 3, "y": 4}
    assert got["mig"].stderr > 0 and got["factor_vae_score"].details["chance"] == pytest.approx(0.2)


def test_an_entangled_encoder_scores_lower_and_figures_repeat_for_a_seed(shapes):
    mix = torch.eye(5)
    mix[3, 4] = mix[4, 3] = 1.0  # x and y each read into both position dimensions
    mixed = records(FactorEncoder(shapes, mix), shapes)
    assert mixed["mig"].value < 0.8
    assert mixed == records(FactorEncoder(shapes, mix), shapes)


def test_not_available_without_factors_or_without_an_encoder(digits, shapes):
    got = records(FactorEncoder(shapes), digits)
    assert {r.status for r in got.values()} == {NOT_AVAILABLE} and "no ground-truth factors" in got["mig"].reason
    from genbench.reference import RealData

    got = records(RealData(shapes.train), shapes)
    assert got["mig"].estimator == NO_ESTIMATOR and "encoder" in got["mig"].reason


def test_options_are_checked():
    from genbench.errors import UsageError

    assert Disentanglement().config.bins == 20
    for bad in ({"bins": 1}, {"vote_batch": 1}, {"bootstrap": 1}, {"split": "dev"}, {"votes": 0}, {"tau": 1}):
        with pytest.raises(UsageError):
            Disentanglement(**bad)
