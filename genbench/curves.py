"""Learning curves: what a model reports while it trains, at points of its training budget, and the rule that
says when a figure is the budget's rather than the family's.

A model trained by genbench's training loop (``baselines.training``) is evaluated at ``FRACTIONS`` of its planned
optimiser steps and once more at the end of training (the model it returns), each time by the ``TrainingMonitor``
that ``GenerativeModel.fit(monitor=...)`` was given: the run's ``learning-curve`` metric measures a cheap subset of
the default metrics there (``genbench.metrics.learning_curve``). Scaling-law papers plot the same thing (loss
against training compute, one curve per model): the curve shows whether a model had converged or was still
learning when its budget ran out.

**Budget-limited** (``budget_limited``): a figure that still improved over the last doubling of training compute,
from the point at half the steps to the end, by more than twice the standard error of the change,

    improvement > 2 √(u_half² + u_end²),

is budget-limited: more compute would have given a better figure. A model that stopped early (its validation loss
no longer improved) is not budget-limited.

**Within reach** (``genbench.report.training.within_reach``): nearly every model is still improving when a finite
budget ends, so a ✗ is the budget's, not the family's, only where the improvement could move it. One more doubling
at the last doubling's gain, the figure projected to

    p = end + gain (in the figure's better direction, ``Improvement.projected``),

would no longer be measurably worse than the best model's figure at its end, by the marks' own band
(``genbench.report.marks.significantly_worse``). Curves flatten, so the projection is optimistic: a ✗ that it
leaves out of reach stands.

Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

FRACTIONS = (1 / 8, 1 / 4, 1 / 2)
"""The shares of its planned steps at which a model is evaluated while it trains; the end of training is the last
point."""
HALF = 1 / 2
"""The point the budget-limited rule compares the end with: the last doubling of training compute."""
SIGMAS = 2.0


@dataclasses.dataclass(frozen=True)
class CurvePoint:
    """Where a model's training stands when it is evaluated: the share of its planned steps (1 at the end of a
    full budget; the end of an early-stopped one is below 1), the optimiser steps, training FLOPs and examples
    so far, the training seconds so far (evaluation excluded), and its validation loss (mean and standard error)
    where the model has one."""

    fraction: float
    step: int
    flops: float
    examples: int
    seconds: float
    val_loss: tuple[float, float] | None = None
    final: bool = False
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class TrainingMonitor(Protocol):
    """What ``GenerativeModel.fit(monitor=...)`` takes: called with the model (in evaluation mode, gradients off,
    its own random streams saved and restored around the call) at each of ``fractions`` of its planned steps and
    at the end of training. It must not change the model."""

    fractions: tuple[float, ...]

    def __call__(self, model: Any, point: CurvePoint) -> None: ...


@dataclasses.dataclass(frozen=True)
class Improvement:
    """A figure's change over the last doubling: from ``start`` to ``end`` (each value and standard error), in the
    figure's better direction (positive: it improved)."""

    figure: str
    start: tuple[float, float]
    end: tuple[float, float]
    gain: float
    uncertainty: float

    @property
    def measurable(self) -> bool:
        return self.gain > SIGMAS * self.uncertainty

    def projected(self, higher_is_better: bool) -> float:
        """The figure one more doubling at this gain would reach (module docstring)."""
        return self.end[0] + (self.gain if higher_is_better else -self.gain)

    def describe(self, label: str, digits: int = 3) -> str:
        def shown(pair: tuple[float, float]) -> str:
            value, error = pair
            return f"{value:.{digits}g} ± {error:.1g}" if math.isfinite(error) else f"{value:.{digits}g}"

        return f"{label} went from {shown(self.start)} to {shown(self.end)}"


def improvement(figure: str, start: tuple[float, float], end: tuple[float, float], higher_is_better: bool,
                ) -> Improvement:
    """The change of one figure from ``start`` to ``end`` (value, standard error), NaN errors counting as zero."""
    gain = (end[0] - start[0]) if higher_is_better else (start[0] - end[0])
    errors = [e for e in (start[1], end[1]) if math.isfinite(e)]
    return Improvement(figure, start, end, gain, math.sqrt(sum(e * e for e in errors)))


def budget_limited(curves: Mapping[str, Sequence[tuple[float, float, float]]], higher_is_better: Mapping[str, bool],
                   stopped_early: bool = False) -> list[Improvement]:
    """The figures that improved measurably over the last doubling (module docstring), from each figure's points
    (fraction of the planned steps, value, standard error), the end last. Empty when the model stopped early or a
    curve lacks the half-way point or the end."""
    if stopped_early:
        return []
    found = []
    for figure, points in curves.items():
        finite = [p for p in points if math.isfinite(p[1])]
        half = next((p for p in finite if math.isclose(p[0], HALF)), None)
        if half is None or len(finite) < 2 or finite[-1][0] <= HALF:
            continue
        end = finite[-1]
        change = improvement(figure, (half[1], half[2]), (end[1], end[2]), higher_is_better[figure])
        if change.measurable:
            found.append(change)
    return found
