"""What a report says of training, from metrics.csv alone: the compute every trained model was granted and spent
(the ``training-compute`` metric's records), and which models are budget-limited (the ``learning-curve`` metric's
records, judged by ``genbench.curves.budget_limited``).

Each of the quality, coverage and likelihood cells reads its own figure's curve (``ROW_FIGURES``: FID or KID,
coverage, the validation loss). A cell whose figure was still improving when the budget ran out says so. Its ✗
for quality or coverage becomes ? only where the improvement is within reach of the best model's figure
(``within_reach``): the ✗ may then be the budget's, not the family's. A likelihood cell keeps its
mark, which reads how the likelihood is had (exact or a bound, and how fast), not the figure.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from genbench.budget import readable_flops
from genbench.curves import Improvement, budget_limited
from genbench.outputs import base_name
from genbench.records import OK, REFERENCES
from genbench.report.marks import CROSS, UNSURE, Cell, significantly_worse
from genbench.report.summary import Summary

CURVE_FIGURES = ("curve_fid", "curve_kid", "curve_coverage", "curve_val_loss")
TRAINING_FLOPS, TRAINING_SECONDS = "training_flops", "training_seconds"
ROW_FIGURES = {"quality": ("curve_fid", "curve_kid"), "coverage": ("curve_coverage",),
               "likelihood": ("curve_val_loss",)}
"""The curve figures each row's budget note reads."""
LIMITED_ROWS = ("quality", "coverage")
"""The rows whose ✗ a budget-limited model's cell turns into ?, where within reach."""
NOTED_ROWS = tuple(ROW_FIGURES)


def budget_noted(cell: Cell, summary: Summary, model: str, row: str) -> Cell:
    """``cell`` of row ``row`` with its budget note where its figure was still improving at the end; a ✗ for
    quality or coverage becomes ? where the improvement is within reach of the best (module docstring)."""
    found = limitations(summary, model, ROW_FIGURES[row])
    if not found:
        return cell
    text = limitation_text(summary, found)
    if row in LIMITED_ROWS and cell.mark == CROSS:
        best = best_ends(summary, found[0].figure)
        change = found[0]
        higher = bool(summary.output(change.figure).higher_is_better)
        if best is not None and within_reach(change, best[1], higher):
            return dataclasses.replace(cell, mark=UNSURE, text=f"{cell.text}; ? not ✗: {text}, and one more "
                                       f"doubling at that gain would reach the best ({best[0]}'s "
                                       f"{best[1][0]:.3g} ± {best[1][1]:.1g})")
        if best is not None:
            return dataclasses.replace(cell, text=f"{cell.text}; ✗ stands: {text}, but one more doubling at that "
                                       f"gain would leave it measurably behind the best ({best[0]}'s "
                                       f"{best[1][0]:.3g} ± {best[1][1]:.1g})")
    return dataclasses.replace(cell, text=f"{cell.text}; {text}")


def within_reach(change: Improvement, best: tuple[float, float], higher_is_better: bool) -> bool:
    """Whether one more doubling at ``change``'s gain would leave its figure not measurably worse than ``best``
    (value, standard error), by the marks' band (``genbench.curves``, module docstring)."""
    return not significantly_worse(change.projected(higher_is_better), change.end[1], *best, higher_is_better)


def best_ends(summary: Summary, figure: str) -> tuple[str, tuple[float, float]] | None:
    """(model, (value, standard error)) of the best end of ``figure``'s curve among the run's models."""
    higher = bool(summary.output(figure).higher_is_better)
    ends = {}
    for model in summary.models:
        if model in REFERENCES:
            continue
        points = curve_points(summary, model).figures.get(figure)
        if points and math.isfinite(points[-1][1]):
            ends[model] = (points[-1][1], points[-1][2])
    if not ends:
        return None
    model = (max if higher else min)(ends, key=lambda m: ends[m][0])
    return model, ends[model]


@dataclasses.dataclass(frozen=True)
class CurvePoints:
    """One model's learning curves: per figure, its points (share of the planned steps, value, standard error),
    the end last, and whether it stopped early."""

    figures: dict[str, list[tuple[float, float, float]]]
    stopped_early: bool
    flops: dict[str, float]
    """FLOPs at each point's label (``1/8`` … ``end``)."""


def curve_figure(metric: str) -> str | None:
    """The curve figure a record name holds at a point, in the first feature space (``curve_fid[at=1/2]`` →
    ``curve_fid``); None for any other record, a further space's point (``curve_fid[wavelet][at=1/2]``) included."""
    name = base_name(metric)
    return name if name in CURVE_FIGURES and metric.startswith(f"{name}[at=") else None


def curve_points(summary: Summary, model: str) -> CurvePoints:
    """The learning-curve records of ``model`` in ``summary``, grouped by figure and ordered along training."""
    figures: dict[str, list[tuple[float, float, float, bool]]] = {}
    stopped, flops = False, {}
    for metric, row in summary.by_model.get(model, {}).items():
        name = curve_figure(metric)
        if name is None or row.status != OK:
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


def limitations(summary: Summary, model: str, figures: Sequence[str] = CURVE_FIGURES) -> list[Improvement]:
    """The curve figures of ``model`` (among ``figures``) that still improved measurably over its last doubling of
    compute."""
    if model in REFERENCES:
        return []
    points = curve_points(summary, model)
    curves = {name: values for name, values in points.figures.items() if name in figures}
    better = {name: bool(summary.output(name).higher_is_better) for name in curves}
    return budget_limited(curves, better, points.stopped_early)


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

