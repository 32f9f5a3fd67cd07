"""CMMD (Jayasumana et al. 2024, "Rethinking FID: Towards a Better Evaluation Metric for Image Generation",
CVPR): the squared maximum mean discrepancy between two embedding sets under a Gaussian RBF kernel,
computed in float64 one block of the Gram matrices at a time, so that 50k × 50k pairs never exist at once.

With X = (x_1..x_m), Y = (y_1..y_n) and k(a, b) = exp(−‖a − b‖² / (2σ²)), σ = 10 (so k(a, a) = 1):

    MMD²_u = 1/(m(m−1)) Σ_{i≠i'} k(x_i, x_i') + 1/(n(n−1)) Σ_{j≠j'} k(y_j, y_j') − 2/(mn) Σ_{i,j} k(x_i, y_j)
    MMD²_b = 1/m² Σ_{i,i'} k(x_i, x_i') + 1/n² Σ_{j,j'} k(y_j, y_j') − 2/(mn) Σ_{i,j} k(x_i, y_j)
    CMMD   = 1000 · MMD²

(Gretton et al. 2012, "A kernel two-sample test", JMLR, Lemma 6 and eq. 5). MMD²_u is the U-statistic: unbiased
for the population MMD², so it averages 0 over draws of two samples of one distribution and can come out
negative. MMD²_b is the V-statistic: the squared distance of the two empirical mean embeddings, never
negative, and above MMD²_u in expectation by exactly (1 − E k(x, x'))/m + (1 − E k(y, y'))/n. The reference
code (google-research, ``cmmd/distance.py``, ``mmd``) computes the V-statistic (plain means of the three full
Gram matrices, diagonals included, its docstring's "minimum-variance/biased" estimator), with σ = 10 and
the ×1000 scale. Its figures are ``cmmd(..., unbiased=False)``; the default here is the unbiased one.

Normalisation. The paper's embeddings are CLIP ViT-L/14-336px image embeddings of unit length. In the
reference code ``distance.py`` takes them as given; they are normalised inside the embedding model
(``cmmd/embedding.py`` calls scenic's CLIP ``apply``, whose ``encode_image`` divides by the L2 norm by
default). torch-fidelity's CLIP extractor returns the unnormalised projection. So the MMD functions here take
features as given, and ``cmmd`` divides each row by its L2 norm unless told ``normalise=False``; rows that
already have unit length are unchanged up to rounding, so the default is safe for either source.

Standard error (``mmd2_unbiased_stderr``), from the U-statistic's first-order (Hoeffding) projection:

    MMD²_u − MMD² ≈ 2/m Σ_i [g_x(x_i) − E g_x] + 2/n Σ_j [g_y(y_j) − E g_y],
    g_x(a) = E k(a, x') − E k(a, y),   g_y(b) = E k(b, y') − E k(x, b),
    Var MMD²_u ≈ 4 Var g_x / m + 4 Var g_y / n

(Hoeffding's decomposition; Serfling 1980, "Approximation Theorems of Mathematical Statistics", ch. 5, applied
to each of the three terms), with g estimated from the Gram matrices' row means, which the estimate computes
anyway. It is consistent when the two distributions differ (in 5-D at n = 60-100 it came within 2-15% of the
spread over 300 draws, on the high side). When they are the same, g_x and g_y are constant, the first-order
term vanishes and the variance is of order 1/(mn), set by second-order terms this does not model; what the
figure then shows is the sampling noise of ĝ, which came out 1.3-1.4× the actual spread at n = 20 and 100: a
rough, conservative scale, and no basis for testing equality of the distributions (use a permutation test).
tests/test_cmmd.py pins both cases.

Numerics: squared distances are ‖a‖² + ‖b‖² − 2a·b in float64 after both sets are shifted by the mean of X
(the kernel is translation-invariant; the shift keeps the norms small, so less cancels), clamped at zero;
k(x_i, x_i) is taken as exactly 1. Each step computes one block of at most ``max_elements`` kernel values
(2^25 by default, 256 MiB), so memory is O(block · (m + n)): at m = n = 20 000 with 32 MiB blocks the peak
resident memory grew by 140 MiB, where the full Gram matrices would take 3.2 GB each.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from genbench.metrics.coverage import MAX_ELEMENTS, rows_per_block

SIGMA = 10.0
"""The RBF bandwidth of the paper and its reference code (``_SIGMA``)."""
SCALE = 1000.0
"""The paper's reporting scale (``_SCALE``): CMMD = 1000 · MMD²."""

F64 = torch.float64


@dataclasses.dataclass(frozen=True)
class KernelSums:
    """Row sums of the three Gram matrices of X (m, D) and Y (n, D), float64, diagonals left out.

    ``xx[i] = Σ_{i'≠i} k(x_i, x_i')``, ``yy[j] = Σ_{j'≠j} k(y_j, y_j')``, ``xy[i] = Σ_j k(x_i, y_j)``,
    ``yx[j] = Σ_i k(x_i, y_j)``.
    """

    xx: torch.Tensor
    yy: torch.Tensor
    xy: torch.Tensor
    yx: torch.Tensor

    @property
    def m(self) -> int:
        return self.xx.shape[0]

    @property
    def n(self) -> int:
        return self.yy.shape[0]

    def cross_mean(self) -> float:
        return float(self.xy.sum()) / (self.m * self.n)

    def unbiased(self) -> float:
        """MMD²_u (module docstring); needs m, n ≥ 2."""
        m, n = self.m, self.n
        return float(self.xx.sum()) / (m * (m - 1)) + float(self.yy.sum()) / (n * (n - 1)) - 2 * self.cross_mean()

    def biased(self) -> float:
        """MMD²_b (module docstring): the diagonals, each k = 1, added back."""
        m, n = self.m, self.n
        return (float(self.xx.sum()) + m) / m**2 + (float(self.yy.sum()) + n) / n**2 - 2 * self.cross_mean()

    def unbiased_stderr(self) -> float:
        """√(4 Var ĝ_x / m + 4 Var ĝ_y / n), ĝ from the row means (module docstring); needs m, n ≥ 2."""
        m, n = self.m, self.n
        g_x = self.xx / (m - 1) - self.xy / n
        g_y = self.yy / (n - 1) - self.yx / m
        return math.sqrt(4 * float(g_x.var()) / m + 4 * float(g_y.var()) / n)


def check_features(x: torch.Tensor, y: torch.Tensor, sigma: float, min_rows: int) -> None:
    """Raise ``ValueError`` unless x (m, D) and y (n, D) are finite feature matrices with ≥ ``min_rows`` rows."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need (m, D) and (n, D) feature matrices, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] < min_rows or y.shape[0] < min_rows:
        raise ValueError(f"this estimate needs at least {min_rows} rows in each set, got {x.shape[0]} and "
                         f"{y.shape[0]}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"the kernel bandwidth sigma must be a positive number, got {sigma}")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("the features have non-finite entries (NaN or inf)")


def rbf_block(a: torch.Tensor, a_sq: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor, gamma: float) -> torch.Tensor:
    """k(a_i, b_j) = exp(−γ ‖a_i − b_j‖²) for rows a (r, D), b (c, D) with squared norms a_sq (r,), b_sq (c,)."""
    squared = (a @ b.T).mul_(-2.0).add_(a_sq[:, None]).add_(b_sq[None, :]).clamp_min_(0.0)  # one (r, c) block
    return squared.mul_(-gamma).exp_()


def kernel_sums(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, *,
                max_elements: int = MAX_ELEMENTS) -> KernelSums:
    """The Gram matrices' row sums for x (m, D) and y (n, D) under the RBF kernel of bandwidth ``sigma``,
    in float64 on x's device, one block of at most ``max_elements`` kernel values at a time."""
    check_features(x, y, sigma, 1)
    x = x.to(F64)
    shift = x.mean(dim=0)
    x = x - shift
    y = y.to(device=x.device, dtype=F64) - shift
    x_sq, y_sq = (x * x).sum(dim=1), (y * y).sum(dim=1)
    gamma = 1.0 / (2.0 * sigma**2)

    def off_diagonal_row_sums(z: torch.Tensor, z_sq: torch.Tensor) -> torch.Tensor:
        sums = torch.empty(len(z), dtype=F64, device=z.device)
        step = rows_per_block(len(z), max_elements)
        for start in range(0, len(z), step):
            block = rbf_block(z[start:start + step], z_sq[start:start + step], z, z_sq, gamma)
            rows = torch.arange(block.shape[0], device=z.device)
            block[rows, start + rows] = 0.0
            sums[start:start + step] = block.sum(dim=1)
        return sums

    xy = torch.empty(len(x), dtype=F64, device=x.device)
    yx = torch.zeros(len(y), dtype=F64, device=x.device)
    step = rows_per_block(len(y), max_elements)
    for start in range(0, len(x), step):
        block = rbf_block(x[start:start + step], x_sq[start:start + step], y, y_sq, gamma)
        xy[start:start + step] = block.sum(dim=1)
        yx += block.sum(dim=0)
    return KernelSums(off_diagonal_row_sums(x, x_sq), off_diagonal_row_sums(y, y_sq), xy, yx)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, *, max_elements: int = MAX_ELEMENTS,
                  ) -> float:
    """MMD²_u, the U-statistic (module docstring), of x (m, D) and y (n, D), m, n ≥ 2; features as given."""
    check_features(x, y, sigma, 2)
    return kernel_sums(x, y, sigma, max_elements=max_elements).unbiased()


def mmd2_biased(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, *, max_elements: int = MAX_ELEMENTS,
                ) -> float:
    """MMD²_b, the V-statistic the reference code computes (module docstring), of x (m, D) and y (n, D)."""
    return kernel_sums(x, y, sigma, max_elements=max_elements).biased()


def mmd2_unbiased_stderr(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, *,
                         max_elements: int = MAX_ELEMENTS) -> float:
    """The first-order standard error of MMD²_u (module docstring, with its limits), m, n ≥ 2."""
    check_features(x, y, sigma, 2)
    return kernel_sums(x, y, sigma, max_elements=max_elements).unbiased_stderr()


def l2_normalise(features: torch.Tensor) -> torch.Tensor:
    """Each row (N, D) divided by its L2 norm, in float64; a zero row raises ``ValueError``."""
    features = features.to(F64)
    norms = torch.linalg.vector_norm(features, dim=1, keepdim=True)
    if not bool((norms > 0).all()):
        raise ValueError("a feature row has zero length and cannot be L2-normalised; pass normalise=False")
    return features / norms


@dataclasses.dataclass(frozen=True)
class Cmmd:
    """CMMD on the paper's scale and, for the unbiased estimate, its first-order standard error (same scale)."""

    value: float
    stderr: float
    unbiased: bool


def cmmd_estimate(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, scale: float = SCALE,
                  unbiased: bool = True, *, normalise: bool = True, max_elements: int = MAX_ELEMENTS) -> Cmmd:
    """``scale`` · MMD² of x (m, D) and y (n, D), rows L2-normalised first unless ``normalise=False``;
    the U-statistic and its standard error by default, the reference code's V-statistic (stderr NaN) if
    ``unbiased=False``. Symmetric in x and y."""
    check_features(x, y, sigma, 2 if unbiased else 1)
    if normalise:
        x, y = l2_normalise(x), l2_normalise(y)
    sums = kernel_sums(x, y, sigma, max_elements=max_elements)
    if unbiased:
        return Cmmd(scale * sums.unbiased(), scale * sums.unbiased_stderr(), True)
    return Cmmd(scale * sums.biased(), math.nan, False)


def cmmd(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, scale: float = SCALE, unbiased: bool = True, *,
         normalise: bool = True, max_elements: int = MAX_ELEMENTS) -> float:
    """CMMD = ``scale`` · MMD² (module docstring) of embeddings x (m, D) and y (n, D); see ``cmmd_estimate``."""
    return cmmd_estimate(x, y, sigma, scale, unbiased, normalise=normalise, max_elements=max_elements).value
