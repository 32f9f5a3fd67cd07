"""What a metric declares about each figure it writes to metrics.csv, once: the one place where a
figure's name, label, unit and better direction are written.

A metric lists its ``Output``s (``Metric.outputs``). Every record it returns carries its output's
declaration in ``details["output"]``, so that everything built from metrics.csv (the tables and their
bold best model, the figures, LaTeX and HTML, the marks, ``genbench check``) reads the declaration
from the file itself: a metric from outside genbench shows in every table with nothing else to edit,
and ``genbench report`` needs neither the metric's code nor torch.

Figures of a sweep (``samples_per_second[batch=256]``) share the declaration of their base name.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from genbench.infra.formatting import format_estimate

HIGHER, LOWER = "higher", "lower"
STYLES = ("estimate", "percent", "count")


@dataclasses.dataclass(frozen=True)
class Output:
    """One figure of metrics.csv: its ``name`` there, a human ``label``, its ``unit``, which way is
    ``better`` (``"higher"``, ``"lower"`` or None), whether it is a ``headline`` figure (a panel of
    figures/metrics.png), how tables write it (``style``: ``"estimate"`` value ± uncertainty,
    ``"percent"`` of a share, ``"count"`` of whole things), whether its plot axis is logarithmic, and, for a
    figure with no better direction, the direction ``genbench check`` guards (``gate``)."""

    name: str
    label: str
    unit: str = ""
    better: str | None = None
    headline: bool = False
    style: str = "estimate"
    log_scale: bool = False
    gate: str | None = None
    """For a figure with no better direction (``better`` None), which way a regression gate holds it: ``"higher"``
    when a fall is a regression. The data-copying statistic C_T has no best value (0 is novel, far above 0 is
    underfitting), but a fall towards copying is what a gate must catch."""

    def __post_init__(self) -> None:
        for field, value in (("better", self.better), ("gate", self.gate)):
            if value not in (HIGHER, LOWER, None):
                raise ValueError(f"output {self.name}: {field} must be {HIGHER!r}, {LOWER!r} or None, got {value!r}")
        if self.style not in STYLES:
            raise ValueError(f"output {self.name}: style must be one of {', '.join(STYLES)}, got {self.style!r}")

    @property
    def higher_is_better(self) -> bool | None:
        return None if self.better is None else self.better == HIGHER

    @property
    def gated_higher(self) -> bool | None:
        """The direction ``genbench check`` holds the figure to (True: a fall regresses); None: not gateable."""
        direction = self.better or self.gate
        return None if direction is None else direction == HIGHER

    def format(self, value: float, uncertainty: float = math.nan) -> str:
        """The number as tables write it: ``18 ± 13``, ``98.7 ± 0.3%``; counts as ``8`` (no spread) or
        ``7.7 ± 0.3`` (one significant digit of their uncertainty)."""
        if self.style == "percent":
            return f"{format_estimate(100 * value, 100 * uncertainty)}%"
        if self.style == "count" and math.isfinite(value):
            if not (math.isfinite(uncertainty) and uncertainty > 0):
                return f"{value:.0f}" if value.is_integer() else f"{value:.4g}"
            return format_estimate(value, uncertainty, significant=1)
        return format_estimate(value, uncertainty)

    def cell(self, value: float, uncertainty: float = math.nan) -> str:
        """The figure in a table cell, with its label: ``FID 18 ± 13``, ``8 modes``."""
        if self.style == "count":
            return f"{self.format(value, uncertainty)} {self.unit or self.label}"
        return f"{self.label} {self.format(value, uncertainty)}".strip()

    def compact(self, value: float) -> str:
        """The figure in a few characters, for a compact table: ``FID 208``, ``coverage 0.39``, ``8 modes``."""
        if self.style == "percent":
            return f"{100 * value:.3g}%"
        if self.style == "count":
            return f"{value:.3g} {self.unit or self.label}"
        return f"{self.label} {value:.3g}"

    def title(self) -> str:
        """The label with the unit and direction, for a plot panel: ``FID (lower is better)``."""
        unit = f" ({self.unit})" if self.unit not in ("", self.label) and self.style != "count" else ""
        direction = f", {self.better} is better" if self.better else ""
        return f"{self.label}{unit}{direction}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Output:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def base_name(metric: str) -> str:
    """The declared name of a figure: ``samples_per_second[batch=256]`` → ``samples_per_second``."""
    return metric.split("[", 1)[0]


def is_sweep_point(metric: str) -> bool:
    """A figure at one point of a sweep (``samples_per_second[batch=256]``, ``curve_fid[at=1/8]``), as opposed to a
    figure in a further feature space (``fid[dinov2-vit-b-14]``), which is a measurement of its own."""
    return "=" in metric.partition("[")[2]


def undeclared(metric: str) -> Output:
    """What is known of a figure nothing declares (a record written by an older genbench): its name."""
    return Output(base_name(metric), base_name(metric))
