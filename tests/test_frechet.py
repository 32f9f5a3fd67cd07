"""The Fréchet distance kernel against closed forms and independent numpy/scipy computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from genbench.metrics.frechet import frechet_distance, gaussian_statistics, sqrt_psd, trace_sqrt_product

F64 = torch.float64


def stats(x: np.ndarray):
    return gaussian_statistics(torch.from_numpy(x))


def scipy_fid(x1: np.ndarray, x2: np.ndarray) -> float:
    """The textbook computation (pytorch-fid's): numpy moments, scipy's sqrtm of Σ₁Σ₂, real part."""
    mu1, mu2 = x1.mean(axis=0), x2.mean(axis=0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def low_rank_features(rng, n: int, dim: int, rank: int, basis: np.ndarray, scale: float = 1.0, shift: float = 0.0):
    """Points in a ``rank``-dimensional subspace of R^dim, standard deviations from 1 down to 10⁻³:
    covariances that are singular (rank < dim) and ill-conditioned (10⁶) inside their range."""
    z = rng.standard_normal((n, rank)) * np.logspace(0, -3, rank) * scale + shift
    return z, z @ basis


def test_equal_covariances_leave_the_squared_distance_of_the_means():
    """pytorch-fid's closed-form check: Σ₁ = Σ₂ ⇒ d² = |μ₁ − μ₂|²."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 16))
    shift = rng.standard_normal(16)
    s1, s2 = stats(x), stats(x + shift)
    assert frechet_distance(s1, s2) == pytest.approx(float(shift @ shift), rel=1e-10)


def test_commuting_covariances_have_the_closed_form():
    """Σ₁ = Q diag(a) Qᵀ, Σ₂ = Q diag(b) Qᵀ ⇒ tr (Σ₁^½Σ₂Σ₁^½)^½ = Σ √(a b), including zero eigenvalues."""
    rng = np.random.default_rng(1)
    q = torch.from_numpy(np.linalg.qr(rng.standard_normal((64, 64)))[0])
    a = torch.logspace(2, -10, 64, dtype=F64)
    b = torch.logspace(-8, 1, 64, dtype=F64)
    a[40:] = 0.0  # singular
    cov1, cov2 = (q * a) @ q.T, (q * b) @ q.T
    assert trace_sqrt_product(cov1, cov2) == pytest.approx(float((a * b).sqrt().sum()), rel=1e-9)


def test_genbench_fid_equals_an_independent_scipy_computation(numpy_fid):
    """Well-conditioned features: relative error < 1e-6 (both are exact up to float64 rounding)."""
    rng = np.random.default_rng(2)
    x1 = rng.standard_normal((800, 32)) @ rng.standard_normal((32, 32))
    x2 = rng.standard_normal((600, 32)) @ rng.standard_normal((32, 32)) + 0.3
    ours = frechet_distance(stats(x1), stats(x2))
    assert ours == pytest.approx(scipy_fid(x1, x2), rel=1e-6)
    assert ours == pytest.approx(numpy_fid(x1, x2), rel=1e-6)


def test_singular_covariances_where_naive_sqrtm_goes_wrong(numpy_fid):
    """D = 256, rank 16: scipy's sqrtm of Σ₁Σ₂ returns a complex matrix and misses by ~10⁻⁴
    (torch-fidelity's eigvals route likewise); genbench's stays within 10⁻⁹ of numpy's QR route."""
    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.standard_normal((256, 16)))[0].T
    z1, x1 = low_rank_features(rng, 300, 256, 16, basis)
    z2, x2 = low_rank_features(rng, 300, 256, 16, basis, scale=1.05, shift=0.01)
    exact = numpy_fid(z1, z2)  # the basis is orthonormal: distances are those of the 16-D coordinates
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = scipy_fid(x1, x2)
    assert abs(naive - exact) / exact > 1e-6
    assert frechet_distance(stats(x1), stats(x2)) == pytest.approx(exact, rel=1e-9)


@pytest.mark.slow
def test_more_than_2048_samples_in_inception_dimension(numpy_fid):
    """N = 2100 > D = 2048, features in a 64-D subspace with a 10⁶ condition number: the regime in
    which Inception FIDs are computed and naive sqrtm fails. Relative error < 1e-6, value real, ≥ 0."""
    rng = np.random.default_rng(4)
    basis = np.linalg.qr(rng.standard_normal((2048, 64)))[0].T
    z1, x1 = low_rank_features(rng, 2100, 2048, 64, basis)
    z2, x2 = low_rank_features(rng, 2100, 2048, 64, basis, scale=1.05, shift=0.01)
    ours = frechet_distance(stats(x1), stats(x2))
    assert isinstance(ours, float) and ours >= 0
    assert ours == pytest.approx(numpy_fid(z1, z2), rel=1e-6)


def test_identical_statistics_give_zero_to_rounding_never_a_negative_number():
    g = torch.Generator().manual_seed(5)
    for dim in (2, 128, 512):
        x = torch.randn(300, dim, generator=g, dtype=F64) * torch.logspace(0, -4, dim)
        s = gaussian_statistics(x)
        assert 0.0 <= frechet_distance(s, s) <= 1e-12 * float(s.cov.trace())


def test_square_root_of_a_psd_matrix_squares_back():
    a = torch.randn(20, 20, generator=torch.Generator().manual_seed(6), dtype=F64)
    cov = a @ a.T
    root = sqrt_psd(cov)
    torch.testing.assert_close(root @ root, cov, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(root, root.T)


def test_what_is_not_a_covariance_raises():
    not_psd = torch.diag(torch.tensor([1.0, -0.5], dtype=F64))
    with pytest.raises(ValueError, match="not positive semidefinite"):
        sqrt_psd(not_psd)
    with pytest.raises(ValueError, match="non-finite"):
        sqrt_psd(torch.tensor([[float("nan"), 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(stats(np.ones((3, 2)) + np.eye(3, 2)), stats(np.eye(4, 3)))
    with pytest.raises(ValueError, match="N ≥ 2"):
        gaussian_statistics(torch.ones(1, 3))


def test_in_blocks_the_distance_is_the_mean_of_each_blocks_scipy_distance():
    """FWD's aggregation: P blocks of d features, d² = (1/P) Σₚ d²ₚ, each d²ₚ the textbook (scipy) one; only the
    diagonal blocks of the covariance are kept."""
    rng = np.random.default_rng(5)
    x1 = rng.standard_normal((400, 12)) @ rng.standard_normal((12, 12))
    x2 = rng.standard_normal((300, 12)) @ rng.standard_normal((12, 12)) + 0.2
    s1, s2 = (gaussian_statistics(torch.from_numpy(x), blocks=3) for x in (x1, x2))
    assert s1.cov.shape == (3, 4, 4) and s1.blocks == 3
    expected = np.mean([scipy_fid(x1[:, 4 * p:4 * p + 4], x2[:, 4 * p:4 * p + 4]) for p in range(3)])
    assert frechet_distance(s1, s2) == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(s1.block(1).cov.numpy(), np.cov(x1[:, 4:8], rowvar=False), rtol=1e-12)


def test_statistics_in_different_blocks_are_not_compared():
    x = torch.rand(20, 6, dtype=F64)
    with pytest.raises(ValueError, match="blocks"):
        frechet_distance(gaussian_statistics(x, blocks=2), gaussian_statistics(x, blocks=3))
    with pytest.raises(ValueError, match="equal blocks"):
        gaussian_statistics(x, blocks=4)
