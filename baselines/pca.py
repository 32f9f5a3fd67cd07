"""PCA as the lecture defines it, with the probabilistic-PCA density for log_prob and sample.

Encode is the orthogonal projection onto the top-q principal subspace, z = Uᵀ(x - μ);
decode is the reconstruction x̂ = μ + U z. The density is the maximum-likelihood probabilistic
PCA of Tipping & Bishop (1999, *J. R. Statist. Soc. B* 61(3), eqs. 7-8; Bishop, *PRML*, §12.2.1):

    p(x) = N(x; μ, C),   C = W Wᵀ + σ² I,   W = U (Λ - σ² I)^{1/2},
    σ² = (1 / (D - q)) Σ_{j > q} λ_j,

with λ the eigenvalues of the sample covariance (normalised by N) and U its top-q
eigenvectors. Since C = U Λ Uᵀ + σ² (I - U Uᵀ), its inverse and determinant need no D × D
matrix:

    log p(x) = -½ [D log 2π + Σ_{i ≤ q} log λ_i + (D - q) log σ²
                   + Σ_i (u_iᵀ d)² / λ_i + (‖d‖² - ‖Uᵀ d‖²) / σ²],   d = x - μ.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.baselines.observation import LOG_2PI
from genbench.config import Config, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.errors import UsageError
from genbench.infra.rng import randn
from genbench.model import Capability, GenerativeModel

VARIANCE_FLOOR = 1e-6
"""σ² is kept at least this fraction of the mean per-feature variance (q = D leaves none)."""


@dataclasses.dataclass(frozen=True)
class PCAConfig(Config):
    latent_dim: int | None = None

    def validate(self) -> None:
        require_positive(latent_dim=self.latent_dim)


class PCA(GenerativeModel):
    """Principal components; probabilistic PCA (Tipping & Bishop 1999) for density and sampling."""

    name = "pca"
    config_class = PCAConfig
    capabilities = frozenset({Capability.SAMPLE, Capability.EXACT_LIKELIHOOD, Capability.ENCODER,
                              Capability.DECODER})

    @classmethod
    def unsupported_reason(cls, info: DataInfo) -> str | None:
        if info.value_type is ValueType.CATEGORICAL:
            return f"PCA models real-valued vectors; {info.name} holds categories"
        return None

    @property
    def likelihood_kind(self) -> str:
        return "density"

    def _build(self, info: DataInfo) -> None:
        q, d = self.resolved_latent_dim(info), info.dim
        if q > d:
            raise UsageError(f"pca latent_dim={q} exceeds the data's {d} dimensions")
        f64 = torch.float64
        self.register_buffer("mean_", torch.zeros(d, dtype=f64))
        self.register_buffer("components_", torch.zeros(q, d, dtype=f64))  # rows: u_i
        self.register_buffer("explained_variance_", torch.ones(q, dtype=f64))  # λ_1 ≥ … ≥ λ_q
        self.register_buffer("noise_variance_", torch.ones((), dtype=f64))  # σ²

    def _fit(self, x, x_val, generator) -> None:
        flat = x.reshape(len(x), -1).double()
        mean = flat.mean(0)
        centred = flat - mean
        _, s, vt = torch.linalg.svd(centred, full_matrices=False)
        eigenvalues = s.pow(2) / len(flat)
        q, d = self.components_.shape
        total = centred.pow(2).sum() / len(flat)  # Σ_j λ_j, also the λ that N < D leaves out
        sigma2 = (total - eigenvalues[:q].sum()) / (d - q) if d > q else total.new_zeros(())
        sigma2 = torch.clamp(sigma2, min=VARIANCE_FLOOR * total / d)
        top = total.new_zeros(q)
        top[: min(q, len(eigenvalues))] = eigenvalues[:q]
        self.mean_.copy_(mean)
        self.components_.zero_()
        self.components_[: min(q, len(vt))] = vt[:q]
        self.explained_variance_.copy_(torch.maximum(top, sigma2))
        self.noise_variance_.copy_(sigma2)

    def _log_prob(self, x):
        d = x.reshape(len(x), -1).double() - self.mean_
        proj = d @ self.components_.T  # (N, q)
        lam, sigma2 = self.explained_variance_, self.noise_variance_
        q, dim = self.components_.shape
        mahalanobis = (proj.pow(2) / lam).sum(1) + (d.pow(2).sum(1) - proj.pow(2).sum(1)) / sigma2
        log_det = lam.log().sum() + (dim - q) * sigma2.log()
        return -0.5 * (dim * LOG_2PI + log_det + mahalanobis)

    def _sample_latent(self, n, generator):
        """Codes of x = μ + U z + σ ε: z ~ N(0, diag(λ - σ²)), the latent part of the PPCA density."""
        q = len(self.explained_variance_)
        z = randn(n, q, generator=generator, device=self.device, dtype=torch.float64)
        return z * (self.explained_variance_ - self.noise_variance_).clamp(min=0).sqrt()

    def _sample(self, n, generator):
        z = self._sample_latent(n, generator)
        eps = randn(n, self._info.dim, generator=generator, device=self.device, dtype=torch.float64)
        flat = self.mean_ + z @ self.components_ + self.noise_variance_.sqrt() * eps
        return self._info.quantize(flat.float().reshape(n, *self._info.shape))

    def _encode(self, x):
        return ((x.reshape(len(x), -1).double() - self.mean_) @ self.components_.T).float()

    def _decode(self, z):
        flat = self.mean_ + z.double() @ self.components_
        return self._info.clip(flat.float().reshape(len(z), *self._info.shape))
    family = "classical"
