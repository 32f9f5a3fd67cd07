"""PCA: the lecture's projection, and the probabilistic-PCA density against a direct computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import genbench


def direct_ppca_covariance(x: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Tipping & Bishop's ML solution, built from numpy's eigendecomposition: (μ, W Wᵀ + σ² I)."""
    mean = x.mean(0)
    covariance = np.cov(x, rowvar=False, bias=True)  # normalised by N
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    sigma2 = eigenvalues[q:].mean()
    w = eigenvectors[:, :q] @ np.diag(np.sqrt(eigenvalues[:q] - sigma2))
    return mean, w @ w.T + sigma2 * np.eye(len(mean))


def test_log_prob_equals_a_multivariate_normal(generator):
    mixing = torch.randn(6, 6, generator=generator, dtype=torch.float64)
    x = torch.randn(500, 6, generator=generator, dtype=torch.float64) @ mixing
    model = genbench.make_model("pca", latent_dim=2).fit(x.float())
    mean, covariance = direct_ppca_covariance(x.float().double().numpy(), 2)
    points = x[:50].float()
    expected = stats.multivariate_normal(mean, covariance).logpdf(points.double().numpy())
    # float32 data: agreement to 1e-9 relative is what float64 arithmetic on both sides gives.
    np.testing.assert_allclose(model.log_prob(points).numpy(), expected, rtol=1e-9)


def test_log_prob_on_digits_equals_scipy(digits):
    model = genbench.make_model("pca", latent_dim=10).fit(digits.train)
    flat = digits.train.x.reshape(len(digits.train), -1).double().numpy()
    mean, covariance = direct_ppca_covariance(flat, 10)
    points = digits.test.x[:20]
    expected = stats.multivariate_normal(mean, covariance).logpdf(points.reshape(20, -1).double().numpy())
    np.testing.assert_allclose(model.log_prob(points).numpy(), expected, rtol=1e-8)


def test_encode_projects_onto_the_top_principal_subspace(digits):
    """The mean squared residual of the projection is the sum of the discarded eigenvalues."""
    q = 8
    model = genbench.make_model("pca", latent_dim=q).fit(digits.train)
    u = model.components_
    assert torch.allclose(u @ u.T, torch.eye(q, dtype=torch.float64), atol=1e-10)
    x = digits.train.x.reshape(len(digits.train), -1).double()
    z = model.encode(digits.train.x).double()
    residual = (x - model.mean_ - z @ u).pow(2).sum(1).mean().item()
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(x.numpy(), rowvar=False, bias=True)))[::-1]
    # float32 codes: about 1e-6 relative.
    assert residual == pytest.approx(eigenvalues[q:].sum(), rel=1e-5)
    reconstruction = (model.mean_ + z[:5] @ u).float().reshape(5, 1, 8, 8)
    assert torch.allclose(model.decode(z[:5].float()), digits.info.clip(reconstruction))


def test_full_rank_pca_reconstructs_exactly(generator):
    x = torch.rand(100, 5, generator=generator)
    model = genbench.make_model("pca", latent_dim=5).fit(x)
    assert torch.allclose(model.decode(model.encode(x)), x, atol=1e-5)


def test_samples_match_the_model_covariance(generator):
    x = torch.randn(2000, 3, generator=generator) * torch.tensor([3.0, 1.0, 0.3])
    model = genbench.make_model("pca", latent_dim=1).fit(x)
    samples = model.sample(200_000, generator).double()
    mean, covariance = direct_ppca_covariance(x.double().numpy(), 1)
    # Sampling error of a covariance entry with 2e5 draws is about 3·var/√n ≈ 0.02 here.
    np.testing.assert_allclose(np.cov(samples.numpy(), rowvar=False), covariance, atol=0.06)
    np.testing.assert_allclose(samples.mean(0).numpy(), mean, atol=0.03)


def test_samples_on_discrete_data_lie_on_the_grid(digits):
    model = genbench.make_model("pca", latent_dim=8).fit(digits.train)
    samples = model.sample(50, torch.Generator().manual_seed(0))
    assert samples.shape == (50, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(digits.info.quantize(samples), samples)


def test_latent_dim_larger_than_the_data_is_refused(rings):
    with pytest.raises(ValueError, match="latent_dim=3 exceeds the data's 2 dimensions"):
        genbench.make_model("pca", latent_dim=3).fit(rings.train)
