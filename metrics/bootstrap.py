"""The bootstrap (Efron & Tibshirani 1993, ch. 6 and 13) for sample-based metrics.

A replicate redraws the generated samples' rows with replacement, recomputes the figures, and
the spread of the replicates estimates their sampling error. The real reference set is held
fixed: every model is measured against the same one, so its own sampling error is shared by all
of them and cancels when they are compared (and a figure's uncertainty is that of the model's
n samples, given the reference).

- standard error: the replicates' standard deviation (ddof 1);
- 95% interval: the replicates' 2.5% and 97.5% percentiles, shifted so that their median sits on
  the full-sample figure (the full-sample figure stays the estimate; the replicates give only
  its spread, and this shift removes what a replicate's different make-up moves, below).

Recall takes ``distinct=True``: each drawn row is kept once. Recall asks whether real points
fall in the k-NN balls of the generated points, and a generated row drawn twice is its own
nearest neighbour at distance zero, which shrinks those balls. On ``rings`` (n = 1000, true vs
true, reference fixed) recall spreads 0.008 over independent draws; the plain bootstrap says
0.013-0.015 and the distinct-rows one 0.007-0.010. Every other figure (means, FID, KID, IS,
and precision, density and coverage, whose balls are the fixed reference's) uses the plain
bootstrap, which matches independent draws there (tests/test_fidelity.py checks both).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import torch

LEVEL = 0.95


@dataclasses.dataclass(frozen=True)
class Spread:
    """The bootstrap distribution of one figure, summarised."""

    stderr: float
    low: float
    high: float
    replicates: int
    distinct: bool = False

    def details(self) -> dict[str, object]:
        method = "bootstrap, repeated rows kept once" if self.distinct else "bootstrap"
        return {"replicates": self.replicates, "ci95": [self.low, self.high], "method": method,
                "interval": "percentile, median shifted onto the estimate"}


def resample(n: int, generator: torch.Generator, distinct: bool = False) -> torch.Tensor:
    """n row indices drawn uniformly with replacement from range(n); each once if ``distinct``."""
    rows = torch.randint(n, (n,), generator=generator)
    return rows.unique() if distinct else rows


def spread(values: Sequence[float], estimate: float, level: float = LEVEL, distinct: bool = False) -> Spread:
    """Standard deviation of the finite replicate values and their percentile interval, shifted
    so that its median is ``estimate`` (NaN with fewer than 2 finite values)."""
    finite = torch.tensor([v for v in values if math.isfinite(v)], dtype=torch.float64)
    if finite.numel() < 2:
        return Spread(math.nan, math.nan, math.nan, int(finite.numel()), distinct)
    tail = (1.0 - level) / 2
    low, median, high = torch.quantile(finite, torch.tensor([tail, 0.5, 1.0 - tail], dtype=torch.float64)).tolist()
    shift = estimate - median
    return Spread(float(finite.std(unbiased=True)), low + shift, high + shift, int(finite.numel()), distinct)


def bootstrap(statistic: Callable[..., Mapping[str, float]], sizes: Sequence[int], replicates: int,
              generator: torch.Generator, estimates: Mapping[str, float], *, distinct: bool = False,
              ) -> dict[str, Spread]:
    """Call ``statistic(*rows)`` on ``replicates`` resamplings of sets of the given ``sizes``
    (``rows[i]`` picks set i's rows) and summarise each figure around its full-sample ``estimates``."""
    draws: dict[str, list[float]] = {}
    for _ in range(replicates):
        figures = statistic(*(resample(n, generator, distinct) for n in sizes))
        for name, value in figures.items():
            draws.setdefault(name, []).append(float(value))
    return {name: spread(values, estimates[name], distinct=distinct) for name, values in draws.items()}
