"""Precision, recall, density and coverage from shared distance passes, the real set's radii computed
once per reference set and cached with it.

With real features X (N, D), generated features Y (M, D), ρ_i the distance from X_i to its k-th
nearest other real point and σ_j that from Y_j to its k-th nearest other generated point:

    precision = 1/M Σ_j 1[∃i: ‖Y_j − X_i‖ ≤ ρ_i]        (Kynkäänniemi et al. 2019, "Improved precision
    recall    = 1/N Σ_i 1[∃j: ‖X_i − Y_j‖ ≤ σ_j]         and recall metric", NeurIPS; k = 3)

and density and coverage as ``genbench.metrics.coverage`` defines them (Naeem et al. 2020; k = 5,
open balls, float64).

torch-fidelity's ``prc_features_to_metric`` computes precision and recall with four float32 distance
passes: real–real (ρ), real→fake (recall), fake–fake (σ), fake→real (precision); density and coverage
take two float64 passes more. Here ρ (in torch-fidelity's arithmetic) and the density/coverage radii
come once per reference set (``RealBalls``, cached beside the reference features), and the fake→real
pass serves precision, density and coverage together: three passes per model instead of six.

Equal values, not approximations:

- each float32 pass is torch-fidelity's own (``torch.cdist`` on the same blocks, ``kthvalue``, ``≤``,
  the float32 mean), so precision and recall equal its values bit for bit. A distance computed as
  cdist(a, b) and as cdist(b, a) can differ in its last bit (seen here: 4% of 2·10⁷ entries), which
  is why recall keeps its own real→fake pass;
- density and coverage decide each pair from the float32 distance where its square is farther from
  r² than a margin many times float32's rounding error on it (``decision_bounds``), and recompute
  the rare pairs inside that band in float64, so every decision is the float64 one. That pass runs on
  features centred on the real mean (in float64, then rounded to float32): distances do not change,
  but the rounding error and the margin scale with the squared norms, which for features far from the
  origin and close together (Inception features of near-identical images) made the band hold nearly
  every pair, each then recomputed in float64: minutes per figure and gigabytes, where centring leaves
  the band as rare as it should be. The pairs in the band are recomputed in chunks of bounded memory.
"""

from __future__ import annotations

import dataclasses

import torch

from genbench.metrics.coverage import kth_neighbour_radii

NEIGHBOURHOOD_FIGURES = ("precision", "recall", "density", "coverage")
UNIT_ROUNDOFF_32 = 2.0 ** -24
RECOMPUTE_ELEMENTS = 1 << 22
"""float64 values a chunk of the band's recomputed pairs holds at once (32 MiB)."""


def cdist_part(rows: torch.Tensor, x: torch.Tensor, batch: int) -> torch.Tensor:
    """(len(rows), len(x)) distances, x taken ``batch`` columns at a time (torch-fidelity's layout)."""
    return torch.cat([torch.cdist(rows, columns) for columns in x.split(batch)], dim=1)


def kth_radii_32(x: torch.Tensor, k: int, batch: int) -> torch.Tensor:
    """(N,) float32 distance from each row of x to its k-th nearest other row, as torch-fidelity computes it
    (its ``kthvalue(k + 1)`` is the same element as the last of ``topk(k + 1)``, which is many times faster)."""
    return torch.cat([cdist_part(rows, x, batch).topk(k + 1, dim=1, largest=False).values[:, -1]
                      for rows in x.split(batch)])


@dataclasses.dataclass(frozen=True)
class RealBalls:
    """The real set's radii: ρ for precision (float32, k = ``prc_k``), r for density/coverage (float64, k)."""

    precision: torch.Tensor
    density: torch.Tensor

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"precision_radii": self.precision, "density_radii": self.density}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], device: torch.device) -> RealBalls:
        return cls(tensors["precision_radii"].to(device), tensors["density_radii"].to(device))


def real_balls(real: torch.Tensor, prc_k: int, k: int, batch: int) -> RealBalls:
    """Both radii of the real features (N, D), on their device (empty where N is too small for that k)."""
    return RealBalls(kth_radii_32(real, prc_k, batch) if len(real) > prc_k else real.new_empty(0),
                     kth_neighbour_radii(real.double(), k) if len(real) > k else real.new_empty(0, dtype=torch.float64))


def decision_bounds(real: torch.Tensor, fake: torch.Tensor, radii: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(low, high), float32 (N,): a float32 distance to real_i below low_i is surely inside radius_i, above
    high_i surely outside; the band between is decided in float64. The margin on the squared distance,
    8·(D + 4)·2⁻²⁴·(‖x_i‖² + max‖y‖² + max‖x‖²), bounds float32's error on it many times over."""
    real64 = real.double()
    norms = real64.square().sum(1)
    scale = norms + fake.double().square().sum(1).max() + norms.max()
    margin = 8 * (real.shape[1] + 4) * UNIT_ROUNDOFF_32 * scale
    squared = radii.square()
    return (squared - margin).clamp_min(0).sqrt().float(), (squared + margin).sqrt().float()


def strictly_inside(distances: torch.Tensor, rows: torch.Tensor, real: torch.Tensor, radii: torch.Tensor,
                    bounds: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """(m, N) ‖rows_j − real_i‖ < radii_i as float64 decides it, from float32 ``distances`` (module docstring)."""
    low, high = bounds
    inside = distances < low
    near = ((distances >= low) & (distances <= high)).nonzero()
    for part in near.split(max(1, RECOMPUTE_ELEMENTS // max(1, real.shape[1]))):
        j, i = part[:, 0], part[:, 1]
        inside[j, i] = (rows[j].double() - real[i].double()).square().sum(1).sqrt() < radii[i]
    return inside


def neighbourhood_figures(fake: torch.Tensor, real: torch.Tensor, balls: RealBalls, prc_k: int, k: int,
                          batch: int, wanted: set[str]) -> dict[str, float]:
    """The ``wanted`` figures among precision, recall, density and coverage of ``fake`` (M, D) against
    ``real`` (N, D), whose radii are ``balls``; distances ``batch`` rows at a time."""
    out: dict[str, float] = {}
    if wanted & {"precision", "density", "coverage"}:
        in_real_ball, hits = [], torch.zeros((), dtype=torch.float64, device=real.device)
        covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)
        balls_wanted = bool(wanted & {"density", "coverage"})
        if balls_wanted:
            centre = real.double().mean(dim=0)
            real_centred, fake_centred = (real.double() - centre).float(), (fake.double() - centre).float()
            bounds = decision_bounds(real_centred, fake_centred, balls.density)
        for start in range(0, len(fake), batch):
            rows = fake[start:start + batch]
            if "precision" in wanted:
                distances = cdist_part(rows, real, batch)
                in_real_ball.append((distances <= balls.precision).any(dim=1).float())
            if balls_wanted:
                centred = cdist_part(fake_centred[start:start + batch], real_centred, batch)
                inside = strictly_inside(centred, rows, real, balls.density, bounds)
                hits += inside.sum(dtype=torch.float64)
                covered |= inside.any(dim=0)
        if in_real_ball:
            out["precision"] = torch.cat(in_real_ball).mean().item()
        out["density"] = float(hits) / (k * len(fake))
        out["coverage"] = float(covered.double().mean())
    if "recall" in wanted:
        fake_radii = kth_radii_32(fake, prc_k, batch)
        out["recall"] = torch.cat([(cdist_part(rows, fake, batch) <= fake_radii).any(dim=1).float()
                                   for rows in real.split(batch)]).mean().item()
    return {name: value for name, value in out.items() if name in wanted}
