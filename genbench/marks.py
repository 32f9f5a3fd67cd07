"""The comparison table's rows and the written rules that give each cell its mark.

Every rule reads only the summary of metrics.csv (``genbench.summary``), so ``genbench report``
gives the same marks from the CSV alone. The rules are printed under every table.

A row's ``judge`` sees one model's summary; a row's ``compare`` sees every model's, for rules
relative to the best model and to the real-vs-real reference column (``genbench.reference``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping

import pandas as pd

from genbench.formatting import format_estimate
from genbench.records import NO_ESTIMATOR, OK
from genbench.reference import REFERENCES

CHECK, CROSS, UNSURE, NOT_APPLICABLE = "✓", "✗", "?", "n/a"
NOT_MEASURED = "not measured yet"


@dataclasses.dataclass(frozen=True)
class Cell:
    mark: str
    text: str
    value: float = math.nan
    uncertainty: float = math.nan

    def __str__(self) -> str:
        return f"{self.mark} {self.text}".strip()


ModelSummary = Mapping[str, pd.Series]
"""One model's summary rows, by metric name."""


@dataclasses.dataclass(frozen=True)
class Row:
    key: str
    title: str
    meaning: str
    rule: str
    judge: Callable[[ModelSummary], Cell] | None = None
    """None: this property is not measured yet (unless ``compare`` is set)."""
    compare: Callable[[str, Mapping[str, ModelSummary]], Cell] | None = None
    """A rule that needs every model's summary (by model label) to mark one model."""


def likelihood_cell(rows: ModelSummary) -> Cell:
    row = rows.get("log_likelihood")
    if row is None:
        return Cell("", NOT_MEASURED)
    if row.status != OK:
        mark = CROSS if row.estimator == NO_ESTIMATOR else NOT_APPLICABLE
        return Cell(mark, row.reason if row.status != "failed" else f"failed: {row.reason}")
    figure = format_estimate(row.value, row.uncertainty)
    if row.estimator == "exact":
        return Cell(CHECK, f"exact, {figure} {row.unit}", row.value, row.uncertainty)
    if row.estimator.startswith("bound"):
        return Cell(CHECK, f"exact density, dequantized bound, {figure} {row.unit}", row.value, row.uncertainty)
    k = row.estimator.split("K=")[1].split(")")[0] if "K=" in row.estimator else "?"
    return Cell(UNSURE, f"bound (K={k}), {figure} {row.unit}", row.value, row.uncertainty)


def significantly_worse(value: float, uncertainty: float, other: float, other_uncertainty: float,
                        higher_is_better: bool) -> bool:
    """Worse than ``other`` by more than twice the combined standard error (NaN counts as zero)."""
    gap = (other - value) if higher_is_better else (value - other)
    sigma = math.sqrt(sum(u * u for u in (uncertainty, other_uncertainty) if math.isfinite(u)))
    return gap > 2 * sigma


def relative_mark(model: str, metric: str, summaries: Mapping[str, ModelSummary], higher_is_better: bool) -> str:
    """✓ not significantly worse than the real-vs-real reference; ✗ significantly worse than the
    best model; ? otherwise (and when no reference was measured). Reference columns get ✓."""
    if model in REFERENCES:
        return CHECK
    row = summaries[model][metric]
    measured = {m: rows[metric] for m, rows in summaries.items()
                if metric in rows and rows[metric].status == OK and math.isfinite(rows[metric].value)}
    reference = next((measured[m] for m in REFERENCES if m in measured), None)
    if reference is not None and not significantly_worse(row.value, row.uncertainty, reference.value,
                                                         reference.uncertainty, higher_is_better):
        return CHECK
    models = [r for m, r in measured.items() if m not in REFERENCES]
    pick = max if higher_is_better else min
    best = pick(models, key=lambda r: r.value)
    if significantly_worse(row.value, row.uncertainty, best.value, best.uncertainty, higher_is_better):
        return CROSS
    return UNSURE


def unmeasured_cell(row: pd.Series | None) -> Cell | None:
    """The cell of a figure that is missing, n/a or failed (None when it was measured)."""
    if row is None:
        return Cell("", NOT_MEASURED)
    if row.status == OK and math.isfinite(row.value):
        return None
    if row.estimator == NO_ESTIMATOR:
        return Cell(CROSS, row.reason)
    return Cell(NOT_APPLICABLE, row.reason if row.status != "failed" else f"failed: {row.reason}")


def measured(row: pd.Series | None) -> bool:
    return row is not None and row.status == OK and math.isfinite(row.value)


def figure_text(metric: str, label: str, row: pd.Series) -> str:
    if metric == "modes_captured":
        return f"{row.value:.0f} modes"
    if metric == "high_quality":
        return f"{label} {format_estimate(100 * row.value, 100 * row.uncertainty)}%"
    return f"{label} {format_estimate(row.value, row.uncertainty)}"


@dataclasses.dataclass(frozen=True)
class Figure:
    metric: str
    label: str
    higher_is_better: bool


def sample_cell(model: str, summaries: Mapping[str, ModelSummary], figures: tuple[Figure, ...]) -> Cell:
    """The cell of a sample-based row. The marked figure is the first of ``figures`` that some model
    measured (the same for every column); the others that this model measured follow it, then the
    feature space and n; the mark is ``relative_mark``'s."""
    marked = next((f for f in figures if any(measured(rows.get(f.metric)) for rows in summaries.values())),
                  figures[-1])
    rows = summaries[model]
    row = rows.get(marked.metric)
    missing = unmeasured_cell(row)
    if missing is not None:
        return missing
    parts = [figure_text(f.metric, f.label, rows[f.metric]) for f in (marked, *figures)
             if f is marked or (f.metric != marked.metric and measured(rows.get(f.metric)))]
    prefix = "real-vs-real reference: " if model in REFERENCES else ""
    text = f"{prefix}{', '.join(dict.fromkeys(parts))} ({row.extractor}, n={row.n})"
    mark = relative_mark(model, marked.metric, summaries, marked.higher_is_better)
    return Cell(mark, text, row.value, row.uncertainty)


QUALITY_FIGURES = (Figure("high_quality", "high quality", True), Figure("fid", "FID", False),
                   Figure("is", "IS", True))
COVERAGE_FIGURES = (Figure("coverage", "coverage", True), Figure("recall", "recall", True),
                    Figure("modes_captured", "modes", True))


def quality_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    return sample_cell(model, summaries, QUALITY_FIGURES)


def coverage_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    return sample_cell(model, summaries, COVERAGE_FIGURES)


SAMPLE_RULE = (
    "The figure, in the dataset's feature space (the extractor and n are in the cell), has a standard error u "
    "(bootstrap, or seed-to-seed over several seeds; zero when neither was measured). R is the real-vs-real "
    "figure at the same n (the true-density or real-data column), B the best figure among the models. ✓ when "
    "the model is not measurably worse than real data (|gap to R| ≤ 2√(u² + u_R²) or better than R); ✗ when it "
    "is measurably worse than the best model (gap to B > 2√(u² + u_B²)); ? otherwise, or when no reference was "
    "measured; n/a when the figure could not be measured (the reason is given); ✗ when the model cannot sample. "
    "The reference column itself is ✓."
)
QUALITY_RULE = (
    "Figure: the share of samples within 3σ of a mode where the modes are known (rings; higher is better), "
    "else FID (lower is better). On 2-D coordinates FID compares only means and covariances, so a single "
    "Gaussian over the ring scores as well as the ring; the high-quality share does not. " + SAMPLE_RULE)
COVERAGE_RULE = (
    "Figure: coverage, the share of real examples whose 5-nearest-neighbour ball holds a sample (Naeem et al. "
    "2020; higher is better). " + SAMPLE_RULE)


ROWS: tuple[Row, ...] = (
    Row("sampling", "Efficient sampling",
        "generating is cheap and uses the parallelism of the hardware", ""),
    Row("quality", "High-quality samples",
        "samples are indistinguishable from the training data", QUALITY_RULE, compare=quality_cell),
    Row("coverage", "Coverage",
        "samples represent the whole training distribution, not a subset", COVERAGE_RULE, compare=coverage_cell),
    Row("latent_smooth", "Well-behaved latent space",
        "every latent point decodes to a plausible example; small changes in z give small changes in x", ""),
    Row("latent_interpretable", "Interpretable latent space",
        "moving along one latent dimension changes one interpretable property", ""),
    Row("likelihood", "Efficient likelihood",
        "the probability of a new example can be computed efficiently and accurately",
        "✓ when the model gives its exact likelihood (on discrete data a continuous density is "
        "measured through dequantization, a bound on the same event space); ? when only a bound "
        "is available (importance-weighted, K samples); ✗ when the model defines none; n/a when "
        "the model cannot represent the data.",
        likelihood_cell),
)
