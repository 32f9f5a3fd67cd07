"""What a report says of training, from metrics.csv alone: the compute every trained model was granted and spent
(the ``training-compute`` metric's records), and which models are budget-limited (the ``learning-curve`` metric's
records, judged by ``genbench.curves.budget_limited``).

A budget-limited model's ✗ for quality or coverage becomes ?, the reason said: the figure was still improving
when its budget ran out, so the ✗ may be the budget's, not the family's. Its likelihood cell says so too but keeps
its mark, which reads how the likelihood is had (exact or a bound, and how fast), not the figure.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from genbench.budget import readable_flops
from genbench.curves import Improvement, budget_limited
from genbench.outputs import base_name
from genbench.records import OK, REFERENCES
from genbench.report.marks import CROSS, UNSURE, Cell
from genbench.report.summary import Summary

CURVE_FIGURES = ("curve_fid", "curve_kid", "curve_coverage", "curve_val_loss")
TRAINING_FLOPS, TRAINING_SECONDS = "training_flops", "training_seconds"
LIMITED_ROWS = ("quality", "coverage")
"""The rows whose ✗ a budget-limited model's cell turns into ?."""
NOTED_ROWS = ("quality", "coverage", "likelihood")


def budget_noted(cell: Cell, row: str, text: str) -> Cell:
    """``cell`` of row ``row`` with a budget-limited model's note: a ✗ for quality or coverage becomes ?."""
    if row in LIMITED_ROWS and cell.mark == CROSS:
        return dataclasses.replace(cell, mark=UNSURE, text=f"{cell.text}; ? not ✗: {text}")
    return dataclasses.replace(cell, text=f"{cell.text}; {text}")


@dataclasses.dataclass(frozen=True)
class CurvePoints:
    """One model's learning curves: per figure, its points (share of the planned steps, value, standard error),
    the end last, and whether it stopped early."""

    figures: dict[str, list[tuple[float, float, float]]]
    stopped_early: bool
    flops: dict[str, float]
    """FLOPs at each point's label (``1/8`` … ``end``)."""


def curve_points(summary: Summary, model: str) -> CurvePoints:
    """The learning-curve records of ``model`` in ``summary``, grouped by figure and ordered along training."""
    figures: dict[str, list[tuple[float, float, float, bool]]] = {}
    stopped, flops = False, {}
    for metric, row in summary.by_model.get(model, {}).items():
        name = base_name(metric)
        if name not in CURVE_FIGURES or row.status != OK:
            continue
        point = row.details.get("point", {})
        final = bool(point.get("final"))
        fraction = float(point.get("fraction", math.nan))
        figures.setdefault(name, []).append((fraction, float(row.value), float(row.uncertainty), final))
        if final:
            stopped = stopped or bool(point.get("stopped_early"))
        flops[metric.split("[at=", 1)[-1].rstrip("]")] = float(point.get("flops", math.nan))
    ordered = {name: [(f, v, u) for f, v, u, _ in sorted(points, key=lambda p: (p[3], p[0]))]
               for name, points in figures.items()}
    return CurvePoints(ordered, stopped, flops)


def limitations(summary: Summary, model: str) -> list[Improvement]:
    """The curve figures of ``model`` that still improved measurably over its last doubling of compute."""
    if model in REFERENCES:
        return []
    points = curve_points(summary, model)
    better = {name: bool(summary.output(name).higher_is_better) for name in points.figures}
    return budget_limited(points.figures, better, points.stopped_early)


def limitation_text(summary: Summary, found: Sequence[Improvement]) -> str:
    """``budget-limited: FID while training went from 31 ± 1 at half its budget to 20 ± 1 at its end``."""
    changes = "; ".join(change.describe(summary.output(change.figure).label) for change in found)
    return f"budget-limited: {changes} (half its training compute → all of it)"


def granted_flops(summary: Summary) -> dict[str, float]:
    """The training FLOPs each trained model's budget granted, by model."""
    granted = {}
    for model, rows in summary.by_model.items():
        row = rows.get(TRAINING_FLOPS)
        if row is not None and row.status == OK and row.details.get("budget_flops"):
            granted[model] = float(row.details["budget_flops"])
    return granted


def compute_note(summary: Summary) -> str | None:
    """The sentence under the table on training compute (None when no model was trained to a budget):
    ``Training compute: every trained model was granted 3.6·10¹³ FLOPs (budget default); …``."""
    granted = granted_flops(summary)
    if not granted:
        return None
    levels = sorted(set(round(v, -int(math.floor(math.log10(v))) + 2) for v in granted.values()))
    budgets = sorted({str(summary.by_model[m][TRAINING_FLOPS].details.get("budget")) for m in granted})
    if len(levels) == 1:
        text = (f"Training compute: every trained model was granted {readable_flops(levels[0])} FLOPs (budget "
                f"{', '.join(budgets)}), so the families are compared at equal training compute")
    else:
        each = ", ".join(f"{m} {readable_flops(v)}" for m, v in granted.items())
        text = f"Training compute: the trained models were granted different FLOPs ({each}): not an equal comparison"
    spent = [m for m in granted if measured_value(summary, m, TRAINING_FLOPS) < 0.99 * granted[m]]
    if spent:
        text += f"; {', '.join(spent)} stopped early and spent less"
    limited = [m for m in granted if limitations(summary, m)]
    if limited:
        text += (f". Budget-limited (still improving at the end): {', '.join(limited)}"
                 + next_budget(summary, limited, granted))
    return text + "."


def measured_value(summary: Summary, model: str, metric: str) -> float:
    row = summary.by_model.get(model, {}).get(metric)
    return float(row.value) if row is not None and row.status == OK else math.nan


def next_budget(summary: Summary, limited: Sequence[str], granted: dict[str, float]) -> str:
    """``; --budget 7.2e+13 (twice this) would take about 9 min per model here``, from the limited models' seconds
    per FLOP."""
    rates = [measured_value(summary, m, TRAINING_SECONDS) / measured_value(summary, m, TRAINING_FLOPS)
             for m in limited]
    rates = [r for r in rates if math.isfinite(r) and r > 0]
    doubled = 2 * max(granted[m] for m in limited)
    if not rates:
        return f"; --budget {doubled:.3g} doubles the compute"
    minutes = doubled * max(rates) / 60
    return f"; --budget {doubled:.3g} (twice this) would take about {minutes:.0f} min per model here"

