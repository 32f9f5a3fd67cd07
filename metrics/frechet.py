"""The Fréchet distance between Gaussians fitted to two feature sets (FID's last stage), computed stably.

Stages, as in torch-fidelity's ``metric_fid``: features → statistics → distance.

    d²(N(μ₁, Σ₁), N(μ₂, Σ₂)) = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½

(Dowson & Landau 1982; Heusel et al. 2017 call it FID on Inception features). The usual codes
take the square root of the non-symmetric product Σ₁Σ₂ (``scipy.linalg.sqrtm`` in pytorch-fid,
``numpy.linalg.eigvals`` in torch-fidelity): its eigenvalues come out complex or negative by
rounding when a covariance is singular or ill-conditioned (fewer samples than dimensions,
Inception's many near-zero directions), and those codes drop the imaginary parts. Here:

    Σᵢ = Vᵢ diag(λᵢ) Vᵢᵀ (``eigh``),   Rᵢ = Σᵢ^½ = Vᵢ diag(√λᵢ) Vᵢᵀ,
    tr (Σ₁^½ Σ₂ Σ₁^½)^½ = Σₖ σₖ(R₁ R₂)          (the nuclear norm of R₁R₂),

since (R₁R₂)(R₁R₂)ᵀ = Σ₁^½ Σ₂ Σ₁^½. Only symmetric eigendecompositions and one SVD are used,
so nothing complex is formed; and the SVD of the product of the roots keeps the small
directions that forming Σ₁^½ Σ₂ Σ₁^½ first would square below rounding (its eigenvalues reach
λ_min² of the covariances).

Eigenvalues of a covariance within rounding of zero (|λ| ≤ D·ε·λ_max) are set to zero: they are
its null space, where rounding leaves values of either sign whose square roots would add up to
a visible error. A negative eigenvalue beyond √ε·λ_max means the input is not a covariance and
raises ``ValueError``.

A space whose features are P equal blocks (the ``wavelet`` space: one block per Haar packet) is compared as the
Fréchet wavelet distance compares it (Veeramacheneni et al., ICLR 2025; pytorchfwd's
``_compute_avg_frechet_distance``), block by block:

    d²_blocks = (1/P) Σₚ d²(N(μ₁ₚ, Σ₁ₚ), N(μ₂ₚ, Σ₂ₚ)),

with μₚ the block's part of the mean and Σₚ the block's diagonal block of the covariance; only those P blocks
of d × d are formed (at 256 × 256 pixels the full covariance of the packets would have 196 608² entries).
"""

from __future__ import annotations

import dataclasses
import math

import torch

F64 = torch.float64
EPS = torch.finfo(F64).eps


@dataclasses.dataclass(frozen=True)
class GaussianStatistics:
    """The mean (D,) and covariance (D, D), float64, of ``n`` feature vectors (ddof = 1); with ``blocks`` = P > 1,
    the covariance's P diagonal blocks (P, D/P, D/P) and the distance averaged over them (module docstring)."""

    mean: torch.Tensor
    cov: torch.Tensor
    n: int
    blocks: int = 1

    def __post_init__(self) -> None:
        dim, blocks = self.mean.shape[0], self.blocks
        expected = (dim, dim) if blocks == 1 else (blocks, dim // blocks, dim // blocks)
        if blocks < 1 or dim % blocks or tuple(self.cov.shape) != expected:
            raise ValueError(f"a mean of {dim} entries in {blocks} blocks needs a covariance of shape {expected}, "
                             f"got {tuple(self.cov.shape)}")

    def block(self, p: int) -> GaussianStatistics:
        """Block p's statistics, as a space of its own."""
        size = self.dim // self.blocks
        return GaussianStatistics(self.mean[p * size:(p + 1) * size], self.cov[p], self.n)

    @property
    def dim(self) -> int:
        return self.mean.shape[0]


def gaussian_statistics(features: torch.Tensor, blocks: int = 1) -> GaussianStatistics:
    """features: (N, D), N ≥ 2 → mean and unbiased covariance, both in float64 on features' device; with
    ``blocks`` = P, only the covariance's P diagonal blocks (features as P consecutive blocks of D/P)."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need a (N, D) feature matrix with N ≥ 2, got shape {tuple(features.shape)}")
    if blocks < 1 or features.shape[1] % blocks:
        raise ValueError(f"cannot split {features.shape[1]} features into {blocks} equal blocks")
    x = features.to(F64)
    mean = x.mean(dim=0)
    centred = (x - mean).reshape(len(x), blocks, -1).transpose(0, 1)  # (P, N, D/P)
    cov = centred.transpose(1, 2) @ centred / (x.shape[0] - 1)
    cov = (cov + cov.transpose(1, 2)) / 2
    return GaussianStatistics(mean, cov[0] if blocks == 1 else cov, x.shape[0], blocks)


def sqrt_psd(matrix: torch.Tensor, what: str = "the matrix") -> torch.Tensor:
    """The symmetric PSD square root (D, D), float64, of a symmetric PSD matrix (rules in the module docstring)."""
    if not torch.isfinite(matrix).all():
        raise ValueError(f"{what} has non-finite entries")
    symmetric = (matrix.to(F64) + matrix.to(F64).T) / 2
    values, vectors = torch.linalg.eigh(symmetric)
    scale = float(values.abs().max()) if values.numel() else 0.0
    smallest = float(values.min()) if values.numel() else 0.0
    if smallest < -math.sqrt(EPS) * scale:
        raise ValueError(f"{what} is not positive semidefinite: eigenvalue {smallest:.3g} of largest {scale:.3g}")
    values = torch.where(values <= len(values) * EPS * scale, 0.0, values)
    return (vectors * values.sqrt()) @ vectors.T


def trace_sqrt_product(cov1: torch.Tensor, cov2: torch.Tensor) -> float:
    """tr (Σ₁^½ Σ₂ Σ₁^½)^½ = ‖Σ₁^½ Σ₂^½‖_*, the cross term of the Fréchet distance, ≥ 0."""
    product = sqrt_psd(cov1, "Σ₁") @ sqrt_psd(cov2.to(cov1.device), "Σ₂")
    return float(torch.linalg.svdvals(product).sum())


def frechet_distance(stats1: GaussianStatistics, stats2: GaussianStatistics) -> float:
    """d²(N(μ₁, Σ₁), N(μ₂, Σ₂)) ≥ 0 (formula in the module docstring).

    A result below zero by no more than rounding of the traces (two Gaussians equal up to
    rounding) is returned as 0.0; a larger negative one raises ``ValueError``.
    """
    if stats1.mean.shape != stats2.mean.shape:
        raise ValueError(f"feature dimensions differ: {stats1.dim} and {stats2.dim}")
    if stats1.blocks != stats2.blocks:
        raise ValueError(f"the statistics are in {stats1.blocks} and {stats2.blocks} blocks; compare them alike")
    if stats1.blocks > 1:
        return sum(frechet_distance(stats1.block(p), stats2.block(p)) for p in range(stats1.blocks)) / stats1.blocks
    cov2 = stats2.cov.to(stats1.cov.device)
    diff = stats1.mean - stats2.mean.to(stats1.mean.device)
    traces = float(torch.trace(stats1.cov) + torch.trace(cov2))
    distance = float(diff @ diff) + traces - 2.0 * trace_sqrt_product(stats1.cov, cov2)
    tolerance = math.sqrt(EPS) * traces
    if distance < -tolerance:
        raise ValueError(f"the Fréchet distance came out negative ({distance:.3g}) beyond rounding ({tolerance:.3g})")
    return max(distance, 0.0)


def frechet_to(features: torch.Tensor, stats: GaussianStatistics) -> float:
    """d² between the Gaussian of ``features`` (N, D) and ``stats``, the features' statistics kept in ``stats``'s
    blocks: FID of generated features against a reference."""
    return frechet_distance(gaussian_statistics(features, stats.blocks), stats)
