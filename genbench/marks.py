"""The comparison table's rows and the written rules that give each cell its mark.

Every rule reads only the summary of metrics.csv (``genbench.summary``), so ``genbench report``
gives the same marks from the CSV alone. The rules are printed under every table.

A row's ``judge`` marks one model seeing every model's summary, for rules relative to the best
model and to the real-vs-real reference column (``genbench.reference``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping

import pandas as pd

from genbench.directions import higher_is_better as better_when_higher
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
    metric: str = ""
    """The metrics.csv name of ``value`` (its direction decides the best model)."""

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
    judge: Callable[[str, Mapping[str, ModelSummary]], Cell] | None = None
    """judge(model, summaries by model label) → the model's cell; None: not measured yet."""


def estimator_setting(estimator: str, name: str) -> str | None:
    """The value of ``name=value`` in an estimator description ("iw-bound(K=1000)" → "1000" for K)."""
    if f"{name}=" not in estimator:
        return None
    return estimator.split(f"{name}=", 1)[1].split(")")[0].split(",")[0].strip()


def likelihood_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    rows = summaries[model]
    row = rows.get("log_likelihood")
    missing = unmeasured_cell(row)
    if missing is not None:
        return missing
    figure = f"{format_estimate(row.value, row.uncertainty)} {row.unit}"
    speed = rows.get("likelihood_examples_per_second")
    if speed is not None and speed.status == OK:
        figure += f", {speed.value:.3g} examples/s"
    if row.estimator == "exact":
        return Cell(CHECK, f"exact, {figure}", row.value, row.uncertainty, "log_likelihood")
    if row.estimator.startswith("bound"):
        return Cell(CHECK, f"exact density, dequantized bound, {figure}", row.value, row.uncertainty, "log_likelihood")
    k = estimator_setting(row.estimator, "K") or "?"
    return Cell(UNSURE, f"bound (K={k}), {figure}", row.value, row.uncertainty, "log_likelihood")


SPEED_CHECK, SPEED_UNSURE = 1e-2, 1e-3
"""Sampling marks: ✓ at ≥ 1/100 of the fastest model's samples/s, ? at ≥ 1/1000, ✗ below. The fastest is
usually a trivial sampler (naive Bayes, PCA); a network that samples in one pass stays within two orders
of magnitude of it (1/14 on shapes on 2 CPU cores), while an autoregressive model makes one pass per
dimension (64 on digits, 400 on shapes) and falls behind by that factor again."""


def sampling_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    row = summaries[model].get("samples_per_second")
    missing = unmeasured_cell(row)
    if missing is not None:
        return missing
    fastest = max(r["samples_per_second"].value for m, r in summaries.items()
                  if m not in REFERENCES and "samples_per_second" in r and r["samples_per_second"].status == OK)
    ratio = row.value / fastest
    mark = CHECK if ratio >= SPEED_CHECK else UNSURE if ratio >= SPEED_UNSURE else CROSS
    batch = row.n if pd.notna(row.n) else "?"
    text = f"{row.value:.3g} samples/s at batch {batch} ({ratio:.2g}× the fastest)"
    return Cell(mark, text, row.value, row.uncertainty, "samples_per_second")


def measured(row: pd.Series | None) -> bool:
    """Whether a summary row holds a finite figure (not missing, n/a or failed)."""
    return row is not None and row.status == OK and math.isfinite(row.value)


def significantly_worse(value: float, uncertainty: float, other: float, other_uncertainty: float,
                        higher_is_better: bool) -> bool:
    """Worse than ``other`` by more than twice the combined standard error (NaN counts as zero)."""
    gap = (other - value) if higher_is_better else (value - other)
    sigma = math.sqrt(sum(u * u for u in (uncertainty, other_uncertainty) if math.isfinite(u)))
    return gap > 2 * sigma


def measured_rows(metric: str, summaries: Mapping[str, ModelSummary]) -> dict[str, pd.Series]:
    """Every column's row of ``metric`` that holds a finite figure, by model label."""
    return {m: rows[metric] for m, rows in summaries.items() if measured(rows.get(metric))}


def worse_than_best(model: str, metric: str, summaries: Mapping[str, ModelSummary]) -> bool:
    """Whether ``model``'s figure is significantly worse than the best model's (reference columns aside)."""
    higher_is_better = better_when_higher(metric)
    row = summaries[model][metric]
    models = [r for m, r in measured_rows(metric, summaries).items() if m not in REFERENCES]
    best = (max if higher_is_better else min)(models, key=lambda r: r.value)
    return significantly_worse(row.value, row.uncertainty, best.value, best.uncertainty, higher_is_better)


def relative_mark(model: str, metric: str, summaries: Mapping[str, ModelSummary]) -> str:
    """✓ not significantly worse than the real-vs-real reference; ✗ significantly worse than the
    best model; ? otherwise (and when no reference was measured). Reference columns get ✓."""
    if model in REFERENCES:
        return CHECK
    higher_is_better = better_when_higher(metric)
    row = summaries[model][metric]
    measured = measured_rows(metric, summaries)
    reference = next((measured[m] for m in REFERENCES if m in measured), None)
    if reference is not None and not significantly_worse(row.value, row.uncertainty, reference.value,
                                                         reference.uncertainty, higher_is_better):
        return CHECK
    return CROSS if worse_than_best(model, metric, summaries) else UNSURE


def level_mark(good: float) -> Callable[[str, str, Mapping[str, ModelSummary]], str]:
    """A mark for figures whose ideal is known rather than measured: ✓ when the figure is at least
    as good as ``good`` (in the metric's direction); else ✗ when it is significantly worse than the
    best model's, ? otherwise."""
    def mark(model: str, metric: str, summaries: Mapping[str, ModelSummary]) -> str:
        value = summaries[model][metric].value
        if (value >= good) if better_when_higher(metric) else (value <= good):
            return CHECK
        return CROSS if worse_than_best(model, metric, summaries) else UNSURE

    return mark


def unmeasured_cell(row: pd.Series | None) -> Cell | None:
    """The cell of a figure that is missing, n/a or failed (None when it was measured)."""
    if row is None:
        return Cell("", NOT_MEASURED)
    if measured(row):
        return None
    if row.estimator == NO_ESTIMATOR:
        return Cell(CROSS, row.reason)
    return Cell(NOT_APPLICABLE, row.reason if row.status != "failed" else f"failed: {row.reason}")


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


def sample_cell(model: str, summaries: Mapping[str, ModelSummary], figures: tuple[Figure, ...],
                mark: Callable[[str, str, Mapping[str, ModelSummary]], str] = relative_mark) -> Cell:
    """The cell of a measured row. The marked figure is the first of ``figures`` that some model
    measured (the same for every column); the others that this model measured follow it, then the
    feature space and n; the mark is ``mark``'s (``relative_mark``: against real data and the best)."""
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
    where = ", ".join(p for p in (row.extractor, f"n={row.n}") if p)
    text = f"{prefix}{', '.join(dict.fromkeys(parts))} ({where})"
    return Cell(mark(model, marked.metric, summaries), text, row.value, row.uncertainty, marked.metric)


QUALITY_FIGURES = (Figure("high_quality", "high quality"), Figure("fid", "FID"), Figure("is", "IS"))
COVERAGE_FIGURES = (Figure("coverage", "coverage"), Figure("recall", "recall"), Figure("modes_captured", "modes"))


def quality_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    return sample_cell(model, summaries, QUALITY_FIGURES)


def coverage_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    return sample_cell(model, summaries, COVERAGE_FIGURES)


SMOOTHNESS_FIGURES = (Figure("smoothness_mean", "mean step"), Figure("smoothness_p99", "p99 step"))
INTERPRETABILITY_FIGURES = (Figure("mig", "MIG"), Figure("factor_vae_score", "FactorVAE score"))
STRAIGHT = math.pi / 2
"""✓ needs decoded paths straighter, on the whole, than a half-circle: mean step (length / end distance) < π/2."""
DISENTANGLED = 0.2
"""✓ needs MIG ≥ 0.2."""


def smoothness_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    def mark(model: str, metric: str, summaries: Mapping[str, ModelSummary]) -> str:
        p99 = summaries[model].get("smoothness_p99")
        steps = estimator_setting(p99.estimator, "T") if measured(p99) else None
        if steps is not None and p99.value >= float(steps) / 2:  # a step that carries half its path: a jump
            return CROSS
        return level_mark(STRAIGHT)(model, metric, summaries)

    return sample_cell(model, summaries, SMOOTHNESS_FIGURES, mark)


def interpretability_cell(model: str, summaries: Mapping[str, ModelSummary]) -> Cell:
    return sample_cell(model, summaries, INTERPRETABILITY_FIGURES, level_mark(DISENTANGLED))


SMOOTHNESS_RULE = (
    "Figure: decoded straight lines between latent codes (of test pairs; of prior draws for a model without an "
    "encoder), T steps each (10 by default), in the dataset's feature space (the quality metrics'). The mean step: "
    "Σ path length / Σ distance between the ends, 1 for straight, evenly walked paths (lower is better); then the "
    "p99 step: the 99th percentile of T·step / path length, 1 at an even pace, T for a path made in one step. "
    "✓ when the mean step is at most π/2 ≈ 1.57 (decoded paths straighter, on the whole, than a half-circle over the "
    "same ends) and the p99 step below T/2; ✗ when the p99 step reaches T/2 (1% of steps each carry half a path: "
    "jumps) or the mean step is measurably worse than the best model's (gap > 2√(u² + u_B²), u the standard "
    "errors); ? otherwise; ✗ when the model has no decoder; n/a without a feature space (categories).")
INTERPRETABILITY_RULE = (
    "Figure: MIG, the mutual information gap of the encoder's codes against the dataset's known factors (shapes; "
    "Chen et al. 2018; 20-bin histograms; 1 when each factor lives in one code dimension alone, 0 when no "
    "dimension stands out; higher is better); then the FactorVAE score (Kim & Mnih 2018; chance is 1/K for K "
    "factors). ✓ when MIG ≥ 0.2 (a factor's best dimension holds, on average, a fifth of the factor's entropy "
    "more than the next; on shapes' test split codes independent of the factors score below 0.01, the factors "
    "themselves 0.99); ✗ when MIG is measurably below the best model's (gap > 2√(u² + u_B²)); ? otherwise; ✗ when "
    "the model has no encoder; n/a on data without known factors.")
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
        "generating is cheap and uses the parallelism of the hardware",
        "Figure: samples per second of model.sample at its best batch size (after warm-up, synchronised on the "
        "GPU). ✓ at ≥ 1/100 of the fastest model's (one pass of a network is within that of a trivial sampler), "
        "? at ≥ 1/1000, ✗ below (one pass per dimension, as an autoregressive model makes, falls there); ✗ when "
        "the model cannot sample.",
        sampling_cell),
    Row("quality", "High-quality samples",
        "samples are indistinguishable from the training data", QUALITY_RULE, quality_cell),
    Row("coverage", "Coverage",
        "samples represent the whole training distribution, not a subset", COVERAGE_RULE, coverage_cell),
    Row("latent_smooth", "Well-behaved latent space",
        "every latent point decodes to a plausible example; small changes in z give small changes in x",
        SMOOTHNESS_RULE, smoothness_cell),
    Row("latent_interpretable", "Interpretable latent space",
        "moving along one latent dimension changes one interpretable property", INTERPRETABILITY_RULE,
        interpretability_cell),
    Row("likelihood", "Efficient likelihood",
        "the probability of a new example can be computed efficiently and accurately",
        "✓ when the model gives its exact likelihood (on discrete data a continuous density is "
        "measured through dequantization, a bound on the same event space); ? when only a bound "
        "is available (importance-weighted, K samples); ✗ when the model defines none; n/a when "
        "the model cannot represent the data.",
        likelihood_cell),
)
