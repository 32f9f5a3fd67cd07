"""Density and coverage (Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative
models", ICML, eqs. 4-5), computed in chunks so that 50k × 50k fits in bounded memory.

With real features X (N, D), generated features Y (M, D), and r_i the distance from X_i to its
k-th nearest neighbour among the other real points:

    density  = 1/(kM) Σ_j Σ_i 1[‖Y_j − X_i‖ < r_i]       (expected value 1 when Y ~ X's law)
    coverage = 1/N   Σ_i 1[min_j ‖Y_j − X_i‖ < r_i]        (share of real neighbourhoods hit)

For identical distributions the paper gives E[coverage] = 1 − Π_{i=1..k} (N − i)/(M + N − i),
which is 1 − 2^−k at M = N (0.969 for k = 5): ``expected_coverage``.

Conventions follow the reference implementation (``prdc``): a point is not its own neighbour
(the k-th smallest distance counting itself at zero is taken at position k + 1), and the ball
is open (strict ``<``). Distances are Euclidean, in float64 by default; each step holds one block of
at most ``max_elements`` distances (2^25 by default: 256 MiB in float64), so memory stays
bounded for any N and M.
"""

from __future__ import annotations

import dataclasses
import math

import torch

MAX_ELEMENTS = 1 << 25


@dataclasses.dataclass(frozen=True)
class DensityCoverage:
    density: float
    coverage: float


def expected_coverage(n_real: int, n_fake: int, k: int) -> float:
    """E[coverage] when fake and real are drawn from one distribution (Naeem et al. 2020, §4)."""
    return 1.0 - math.prod((n_real - i) / (n_fake + n_real - i) for i in range(1, k + 1))


def rows_per_block(n_columns: int, max_elements: int = MAX_ELEMENTS) -> int:
    """How many rows of an (·, n_columns) distance matrix fit in ``max_elements``."""
    return max(1, max_elements // max(1, n_columns))


def nearest_neighbours(queries: torch.Tensor, points: torch.Tensor, k: int, max_elements: int = MAX_ELEMENTS,
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The distances (M, k), ascending, and indices (M, k) of each query's k nearest rows of ``points`` (N, D),
    one block of at most ``max_elements`` distances at a time."""
    distances, indices = [], []
    for rows in queries.split(rows_per_block(len(points), max_elements)):
        top = torch.cdist(rows, points).topk(k, dim=1, largest=False)
        distances.append(top.values)
        indices.append(top.indices)
    return torch.cat(distances), torch.cat(indices)


def kth_neighbour_radii(x: torch.Tensor, k: int, max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """(N,) distance from each row of x (N, D) to its k-th nearest other row."""
    if not 1 <= k < len(x):
        raise ValueError(f"k = {k} needs at least k + 1 = {k + 1} points, got {len(x)}")
    return nearest_neighbours(x, x, k + 1, max_elements)[0][:, -1]


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5, *, max_elements: int = MAX_ELEMENTS,
                     dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> DensityCoverage:
    """Density and coverage of ``fake`` (M, D) against ``real`` (N, D); formulas in the module docstring.

    Runs on ``device`` (default: real's) in ``dtype``, one block of ≤ ``max_elements`` distances at a time.
    """
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"need (N, D) and (M, D) features, got {tuple(real.shape)} and {tuple(fake.shape)}")
    device = torch.device(device) if device is not None else real.device
    real, fake = real.to(device, dtype), fake.to(device, dtype)
    radii = kth_neighbour_radii(real, k, max_elements)
    hits = torch.zeros((), dtype=torch.float64, device=device)
    nearest = torch.full((len(real),), math.inf, dtype=dtype, device=device)
    for rows in fake.split(rows_per_block(len(real), max_elements)):
        distances = torch.cdist(rows, real)  # (m, N)
        hits += (distances < radii).sum(dtype=torch.float64)
        nearest = torch.minimum(nearest, distances.min(dim=0).values)
    density = float(hits) / (k * len(fake))
    coverage = float((nearest < radii).double().mean())
    return DensityCoverage(density, coverage)
