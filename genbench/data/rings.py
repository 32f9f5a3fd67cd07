"""A ring of Gaussians in 2-D: the standard mode-coverage benchmark, with a known density."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import torch

from genbench.config import require, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.data.source import DatasetSource, SampledSplits
from genbench.data.splits import Data, Split


@dataclasses.dataclass(frozen=True)
class RingsOptions(SampledSplits):
    n_train: int = 8000
    n_modes: int = 8
    radius: float = 2.0
    std: float = 0.05

    def validate(self) -> None:
        super().validate()
        require_positive(radius=self.radius, std=self.std)
        require(self.n_modes >= 1, f"n_modes must be at least 1, got {self.n_modes}")


class RingMixture:
    """p(x) = (1/M) Σ_m N(x; μ_m, σ² I), μ_m = r (cos 2πm/M, sin 2πm/M)."""

    kind = "density"

    def __init__(self, n_modes: int, radius: float, std: float):
        angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
        self.means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
        self.std = std

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 2) → (N,) log density in nats."""
        x = x.to(torch.float64).cpu()
        sq = torch.cdist(x, self.means).pow(2)  # (N, M)
        log_normal = -sq / (2 * self.std**2) - math.log(2 * math.pi * self.std**2)
        return torch.logsumexp(log_normal, dim=1) - math.log(len(self.means))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_with_modes(n, generator)[0]

    def sample_with_modes(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws (N, 2) and the index of the mode each came from (N,)."""
        mode = torch.randint(len(self.means), (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return (self.means[mode] + self.std * noise).float(), mode

    def nearest_mode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(index of the nearest mode, distance to it in units of σ), each (N,)."""
        dist = torch.cdist(x.to(torch.float64).cpu(), self.means)
        d, idx = dist.min(dim=1)
        return idx, d / self.std


class Rings(DatasetSource):
    """Mixture of 8 Gaussians on a circle (radius 2, σ 0.05): known density and modes."""

    name = "rings"
    config_class = RingsOptions

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        o: RingsOptions = self.config
        truth = RingMixture(o.n_modes, o.radius, o.std)
        generator = torch.Generator().manual_seed(o.seed)
        info = DataInfo("rings", (2,), ValueType.CONTINUOUS, latent_dim_hint=2,
                        feature_names=("x", "y"), n_classes=o.n_modes)
        splits = []
        for name, n in o.sizes():
            x, mode = truth.sample_with_modes(n, generator)
            splits.append(Split(x, info, labels=mode, name=name))
        return Data(info, *splits, options=o.to_dict(), true_distribution=truth,
                    provenance={"source": "generated", "seed": o.seed})
