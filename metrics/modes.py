"""Modes captured and the share of high-quality samples on a mixture of Gaussians (``rings``).

The standard mode-collapse measure for GANs on 2-D mixtures, as defined by VEEGAN (Srivastava
et al. 2017, §5.1, "Synthetic dataset") and used since by PacGAN and GDPP on the same ring:

- a sample is **high quality** when it lies within ``sigmas`` = 3 standard deviations of the
  mean of its nearest mixture component: ‖x − μ_nearest(x)‖ ≤ 3σ;
- a mode is **captured** when at least ``min_count`` = 1 high-quality sample has it as its
  nearest component.

A sampler that drops modes scores fewer modes; one that smears mass between them scores a
lower high-quality share. Under the true mixture the share is P(χ²₂ ≤ 9) = 1 − e^−4.5 ≈ 0.989.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from genbench.config import require, require_positive
from genbench.data.splits import Data
from genbench.metric import EvalContext, Metric
from genbench.metrics.bootstrap import bootstrap
from genbench.metrics.samples import SampleOptions, figure_record, sample_provenance
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, Output
from genbench.records import Record

RAW_DESCRIPTION = {"name": "raw", "weights_sha256": None, "resize": "none: coordinates as they are"}
RULE = ("high quality: within sigmas·σ of the nearest mode's mean; captured: at least min_count high-quality "
        "samples nearest to the mode (Srivastava et al. 2017, VEEGAN, §5.1)")


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    captured: int
    high_quality: float
    counts: list[int]
    """High-quality samples per mode."""


def true_high_quality_share(sigmas: float, dim: int = 2) -> float:
    """P(‖ε‖ ≤ sigmas·σ) for ε ~ N(0, σ² I) in 2-D: 1 − exp(−sigmas²/2)."""
    if dim != 2:
        raise ValueError("the closed form is for 2-D mixtures")
    return 1.0 - math.exp(-(sigmas**2) / 2)


def mode_coverage(nearest: torch.Tensor, distance_in_sd: torch.Tensor, n_modes: int, *, sigmas: float = 3.0,
                  min_count: int = 1) -> ModeCoverage:
    """Modes captured and high-quality share from each sample's nearest mode (N,) and its distance
    to that mode's mean in units of σ (N,); the rule is in the module docstring."""
    good = distance_in_sd <= sigmas
    counts = torch.bincount(nearest[good].long(), minlength=n_modes)
    return ModeCoverage(int((counts >= min_count).sum()), float(good.double().mean()), counts.tolist())


@dataclasses.dataclass(frozen=True)
class ModesOptions(SampleOptions):
    sigmas: float = 3.0
    """A sample within this many standard deviations of its nearest mode is high quality."""
    min_count: int = 1
    """High-quality samples a mode needs to count as captured."""

    def validate(self) -> None:
        super().validate()
        require_positive(sigmas=self.sigmas)
        require(self.min_count >= 1, f"min_count must be at least 1, got {self.min_count}")


class RingModes(Metric):
    """Modes captured and share of high-quality samples (within 3σ of a mode), on Gaussian mixtures."""

    name = "modes"
    outputs = (
        Output("modes_captured", "modes captured", "modes", HIGHER, headline=True, style="count"),
        Output("high_quality", "high quality", better=HIGHER, headline=True, style="percent"),
    )
    config_class = ModesOptions
    requires_any = frozenset({Capability.SAMPLE})
    from_samples = True

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        truth = data.true_distribution
        if truth is None or not all(hasattr(truth, a) for a in ("means", "std", "nearest_mode")):
            return f"{data.name} is not a mixture with known modes (modes are measured on rings)"
        return None

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        o: ModesOptions = self.config
        truth = data.true_distribution
        n_modes = len(truth.means)
        n = o.sample_count(o.reference_split(data))
        nearest, distance = truth.nearest_mode(model.draw(n, context.generator(self.name), o.batch_size))

        def figures(rows: torch.Tensor) -> dict[str, float]:
            result = mode_coverage(nearest[rows], distance[rows], n_modes, sigmas=o.sigmas, min_count=o.min_count)
            return {"modes_captured": result.captured, "high_quality": result.high_quality}

        full = mode_coverage(nearest, distance, n_modes, sigmas=o.sigmas, min_count=o.min_count)
        estimates = {"modes_captured": full.captured, "high_quality": full.high_quality}
        spreads = bootstrap(figures, [n], o.replicates(n), context.generator(f"{self.name}/bootstrap"), estimates)
        details = {**sample_provenance(n, RAW_DESCRIPTION), "modes": n_modes, "sigmas": o.sigmas,
                   "min_count": o.min_count, "per_mode": full.counts, "rule": RULE}
        common = dict(n=n, extractor="raw", estimator=f"nearest mode within {o.sigmas:g}σ")
        return [figure_record("modes_captured", full.captured, spreads.get("modes_captured"), details,
                              **common),
                figure_record("high_quality", full.high_quality, spreads.get("high_quality"), details, **common)]
