"""Naive Bayes against counts done by hand."""

from __future__ import annotations

import math

import pytest
import torch

import genbench
from genbench.data import DataInfo, Split, ValueType
from genbench.errors import UsageError

# Four examples, two categorical features with 3 and 2 categories.
X = torch.tensor([[0, 1], [0, 0], [2, 1], [0, 1]])
INFO = DataInfo("toy", (2,), ValueType.CATEGORICAL, categories=(("a", "b", "c"), ("u", "v")))


def test_maximum_likelihood_is_the_relative_frequency():
    model = genbench.make_model("naive-bayes", alpha=0).fit(Split(X, INFO))
    # feature 0: counts a=3, b=0, c=1 of 4; feature 1: u=1, v=3 of 4
    expected = torch.tensor([
        math.log(3 / 4) + math.log(3 / 4),
        math.log(3 / 4) + math.log(1 / 4),
        math.log(1 / 4) + math.log(3 / 4),
    ])
    assert torch.allclose(model.log_prob(X[:3]), expected.double(), atol=1e-12)
    assert model.log_prob(torch.tensor([[1, 0]])).item() == -math.inf  # b was never seen


def test_additive_smoothing():
    model = genbench.make_model("naive-bayes", alpha=1).fit(Split(X, INFO))
    # (count + 1) / (4 + C): feature 0 → 4/7, 1/7, 2/7; feature 1 → 2/6, 4/6
    assert model.log_prob(torch.tensor([[1, 0]])).item() == pytest.approx(math.log(1 / 7) + math.log(2 / 6))
    assert model.log_probs_.exp()[0, :3].sum().item() == pytest.approx(1.0)


def test_binary_data_is_bernoulli():
    x = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    model = genbench.make_model("naive-bayes", alpha=0.5).fit(x)
    theta = (torch.tensor([2.0, 1.0, 2.0]) + 0.5) / (3 + 2 * 0.5)  # P(x_d = 1)
    point = torch.tensor([[1.0, 0.0, 0.0]])
    expected = math.log(theta[0]) + math.log(1 - theta[1]) + math.log(1 - theta[2])
    assert model.log_prob(point).item() == pytest.approx(expected)


def test_discrete_images_use_their_grid(digits):
    model = genbench.make_model("naive-bayes", alpha=1).fit(digits.train)
    k = digits.info.to_indices(digits.train.x)
    pixel, level = 20, 9
    count = (k[:, pixel] == level).sum().item()
    expected = (count + 1) / (len(k) + 17)
    assert model.log_probs_[pixel, level].exp().item() == pytest.approx(expected)
    assert torch.isinf(model.log_probs_[:, 17:]).all() if model.log_probs_.shape[1] > 17 else True


def test_samples_follow_the_fitted_marginals():
    model = genbench.make_model("naive-bayes", alpha=0).fit(Split(X, INFO))
    samples = model.sample(40_000, torch.Generator().manual_seed(0))
    frequency = (samples[:, 0] == 0).double().mean().item()
    assert frequency == pytest.approx(0.75, abs=4 * math.sqrt(0.75 * 0.25 / 40_000))
    assert samples.dtype == torch.long and set(samples[:, 1].tolist()) <= {0, 1}


def test_continuous_data_is_refused(rings):
    with pytest.raises(UsageError, match="naive Bayes models binary, discrete or categorical"):
        genbench.make_model("naive-bayes").fit(rings.train)


def test_negative_alpha_is_refused():
    with pytest.raises(UsageError, match="alpha must be 0 or more"):
        genbench.make_model("naive-bayes", alpha=-1)
