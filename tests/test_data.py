"""Datasets: fixed splits, value types, and the known densities of the synthetic sets."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

import genbench
from genbench.data import DataInfo, ValueType, as_examples, infer_info
from genbench.data.wardrobe import CATEGORIES
from genbench.errors import UsageError


def test_digits_splits_are_fixed_disjoint_and_cover_the_set(digits):
    again = genbench.load_dataset("digits")
    assert torch.equal(digits.test.x, again.test.x)
    sizes = [len(digits.train), len(digits.val), len(digits.test)]
    assert sum(sizes) == 1797 and sizes == [1258, 180, 359]
    rows = torch.cat([digits.train.x, digits.val.x, digits.test.x]).reshape(1797, -1)
    assert len(torch.unique(torch.cat([rows, torch.arange(1797)[:, None].float()], 1), dim=0)) == 1797
    assert digits.fingerprint == again.fingerprint


def test_digits_values_lie_on_the_17_level_grid(digits):
    info = digits.info
    assert info.value_type is ValueType.DISCRETE and info.levels == 17 and info.shape == (1, 8, 8)
    k = info.to_indices(digits.train.x)
    assert k.min() == 0 and k.max() == 16
    assert torch.equal(info.from_indices(k), digits.train.x)
    assert digits.train.labels.unique().tolist() == list(range(10))


def test_quantize_projects_onto_the_grid():
    info = DataInfo("grid", (3,), ValueType.DISCRETE, levels=5)
    x = torch.tensor([[-0.3, 0.13, 1.7]])
    assert torch.allclose(info.quantize(x), torch.tensor([[0.0, 0.25, 1.0]]))


def test_rings_density_integrates_to_one_by_importance_sampling(rings):
    """E_q[p(x)/q(x)] = 1 for a broad Gaussian proposal q; checked within 4 standard errors."""
    truth = rings.true_distribution
    n = 400_000
    f64 = torch.float64
    proposal = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=f64), 4 * torch.eye(2, dtype=f64))
    torch.manual_seed(0)
    x = proposal.sample((n,))
    ratio = (truth.log_prob(x) - proposal.log_prob(x)).exp()
    estimate, stderr = ratio.mean().item(), ratio.std().item() / math.sqrt(n)
    assert abs(estimate - 1) < 4 * stderr, (estimate, stderr)


def test_rings_density_matches_a_histogram_of_its_samples(rings):
    """The probability of a box around one mode: Monte Carlo count vs the density's exact integral."""
    truth = rings.true_distribution
    x = truth.sample(200_000, torch.Generator().manual_seed(1))
    mode = truth.means[0].float()  # (2, 0)
    half = 0.05  # one σ either side
    inside = ((x - mode).abs() < half).all(1).double().mean().item()
    # Exact: the box holds one σ of its own mode per axis and nothing of the far-away others.
    per_axis = stats.norm.cdf(1) - stats.norm.cdf(-1)
    exact = per_axis**2 / 8
    stderr = math.sqrt(exact * (1 - exact) / len(x))
    assert abs(inside - exact) < 4 * stderr
    # and the density at the mode is 1/(8 · 2πσ²), neighbours negligible
    assert truth.log_prob(mode[None]).item() == pytest.approx(-math.log(8 * 2 * math.pi * 0.05**2), abs=1e-9)


def test_rings_splits_are_reproducible():
    a = genbench.load_dataset("rings", n_train=100, n_val=10, n_test=10)
    b = genbench.load_dataset("rings", n_train=100, n_val=10, n_test=10)
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x[:10], a.test.x)


def test_wardrobe_distribution_sums_to_one_and_has_dependencies(wardrobe):
    truth = wardrobe.true_distribution
    sizes = [len(c) for c in CATEGORIES]
    everything = torch.tensor(list(itertools.product(*map(range, sizes))))
    mass = truth.log_prob(everything).exp()
    assert mass.sum().item() == pytest.approx(1.0, abs=1e-12)
    joint = mass.reshape(sizes)
    top_hair = joint.sum(dim=(2, 3, 4))
    independent = top_hair.sum(1, keepdim=True) * top_hair.sum(0, keepdim=True)
    assert (top_hair - independent).abs().max() > 0.01  # hair colour depends on the top


def test_wardrobe_samples_follow_the_distribution(wardrobe):
    """Chi-square goodness of fit of the top-type counts in the training split."""
    truth = wardrobe.true_distribution
    counts = np.bincount(wardrobe.train.x[:, 0].numpy(), minlength=7)
    expected = truth.log_top.exp().numpy() * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    assert wardrobe.info.value_type is ValueType.CATEGORICAL and wardrobe.info.n_categories == [7, 6, 3, 4, 8]


def test_dataset_options_are_checked():
    with pytest.raises(UsageError, match="std must be positive"):
        genbench.load_dataset("rings", std=0)
    with pytest.raises(UsageError, match="unknown option 'modes' for dataset rings"):
        genbench.load_dataset("rings", modes=3)


def test_infer_info_for_bare_tensors():
    assert infer_info(torch.randint(0, 2, (10, 4)).float()).value_type is ValueType.BINARY
    assert infer_info(torch.randn(10, 4)).value_type is ValueType.CONTINUOUS
    info = infer_info(torch.tensor([[0, 2], [1, 0]]))
    assert info.value_type is ValueType.CATEGORICAL and info.n_categories == [2, 3]


def test_as_examples_accepts_tensors_splits_and_datasets(digits):
    x, info = as_examples(digits.train)
    assert x is digits.train.x and info is digits.info
    pairs = torch.utils.data.TensorDataset(torch.randn(5, 2), torch.zeros(5))
    x, info = as_examples(pairs)
    assert x.shape == (5, 2) and info.value_type is ValueType.CONTINUOUS
    with pytest.raises(UsageError, match="must be a torch.Tensor or a torch Dataset"):
        as_examples([1, 2, 3])


def test_data_info_json_round_trip(wardrobe, digits):
    for info in (wardrobe.info, digits.info):
        assert DataInfo.from_dict(info.to_dict()) == info
