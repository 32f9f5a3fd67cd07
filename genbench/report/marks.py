"""The comparison table's rows and the written rules that give each cell its mark.

Every rule reads only the summary of metrics.csv (``genbench.report.summary``), so ``genbench report``
gives the same marks from the CSV alone. A rule's printed text is built from the constants its judge
uses and from the settings the run's records carry (T, bins, k, σ, K), so that it describes the run
it is printed under. The rules are printed under every table.

A row's ``judge`` marks one model seeing the whole summary, for rules relative to the best model and
to the real-vs-real reference column (``genbench.records.REFERENCES``); every figure's direction and
label come from its declaration (``genbench.outputs``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pandas as pd

from genbench.estimators import ACCURATE, ODE
from genbench.records import (
    DEQUANTIZED_BOUND,
    EXACT,
    IW_BOUND,
    LIKELIHOOD,
    MODEL_BOUND,
    NO_ESTIMATOR,
    OK,
    REFERENCES,
)
from genbench.report.summary import Summary

CHECK, CROSS, UNSURE, NOT_APPLICABLE = "✓", "✗", "?", "n/a"
NOT_REQUESTED = "not requested"
"""The cell of a row whose metrics the run did not ask for."""
NOT_MEASURED = "not measured"
"""The cell of a model that has no record of a metric other models have (a column added later)."""


@dataclasses.dataclass(frozen=True)
class Cell:
    mark: str
    text: str
    value: float = math.nan
    uncertainty: float = math.nan
    metric: str = ""
    """The metrics.csv name of ``value`` (its direction decides the best model)."""
    label: str = ""
    """The figure's short form for compact tables: ``FID 18``, ``0.82``, ``exact``."""

    def __str__(self) -> str:
        return f"{self.mark} {self.text}".strip()


Judge = Callable[[str, Summary], Cell]
Rule = Callable[[Summary], str]


@dataclasses.dataclass(frozen=True)
class Row:
    key: str
    title: str
    meaning: str
    rule: Rule
    """The rule's text for this summary (its thresholds and the run's settings)."""
    judge: Judge
    """judge(model, summary) → the model's cell."""
    metrics: tuple[str, ...]
    """The figures the row reads: a run that requested none of them has nothing to mark."""


# ------------------------------------------------------------------------------------------- helpers
def measured(row: pd.Series | None) -> bool:
    """Whether a summary row holds a finite figure (not missing, n/a or failed)."""
    return row is not None and row.status == OK and math.isfinite(row.value)


def requested(summary: Summary, metrics: tuple[str, ...]) -> bool:
    return any(metric in set(summary.rows.metric) for metric in metrics)


def unmeasured_cell(row: pd.Series | None, summary: Summary, metric: str) -> Cell | None:
    """The cell of a figure that is missing, n/a or failed (None when it was measured)."""
    if row is None:
        return Cell("", NOT_MEASURED if metric in set(summary.rows.metric) else NOT_REQUESTED)
    if measured(row):
        return None
    if row.estimator == NO_ESTIMATOR:
        return Cell(CROSS, row.reason, label="none")
    return Cell(NOT_APPLICABLE, row.reason if row.status != "failed" else f"failed: {row.reason}", label="n/a")


def significantly_worse(value: float, uncertainty: float, other: float, other_uncertainty: float,
                        higher_is_better: bool) -> bool:
    """Worse than ``other`` by more than twice the combined standard error (NaN counts as zero)."""
    gap = (other - value) if higher_is_better else (value - other)
    sigma = math.sqrt(sum(u * u for u in (uncertainty, other_uncertainty) if math.isfinite(u)))
    return gap > 2 * sigma


def measured_rows(metric: str, summary: Summary) -> dict[str, pd.Series]:
    """Every column's row of ``metric`` that holds a finite figure, by model label."""
    return {m: rows[metric] for m, rows in summary.by_model.items() if measured(rows.get(metric))}


def worse_than_best(model: str, metric: str, summary: Summary) -> bool:
    """Whether ``model``'s figure is significantly worse than the best model's. Reference columns are not
    models, and a model whose samples are copies of the training set (``copies_training_set``) is never the
    best: a copy scores as well as the data it copies."""
    higher = summary.output(metric).higher_is_better
    row = summary.by_model[model][metric]
    models = [r for m, r in measured_rows(metric, summary).items()
              if m not in REFERENCES and (m == model or not copies_training_set(m, summary))]
    best = (max if higher else min)(models, key=lambda r: r.value)
    return significantly_worse(row.value, row.uncertainty, best.value, best.uncertainty, higher)


def relative_mark(model: str, metric: str, summary: Summary) -> str:
    """✓ not significantly worse than the real-vs-real reference; ✗ significantly worse than the
    best model; ? otherwise (and when no reference was measured). Reference columns get ✓."""
    if model in REFERENCES:
        return CHECK
    higher = summary.output(metric).higher_is_better
    row = summary.by_model[model][metric]
    found = measured_rows(metric, summary)
    reference = next((found[m] for m in REFERENCES if m in found), None)
    if reference is not None and not significantly_worse(row.value, row.uncertainty, reference.value,
                                                         reference.uncertainty, higher):
        return CHECK
    return CROSS if worse_than_best(model, metric, summary) else UNSURE


def level_mark(good: float) -> Callable[[str, str, Summary], str]:
    """A mark for figures whose ideal is known rather than measured: ✓ when the figure is at least
    as good as ``good`` (in the figure's direction); else ✗ when it is significantly worse than the
    best model's, ? otherwise."""
    def mark(model: str, metric: str, summary: Summary) -> str:
        value = summary.by_model[model][metric].value
        if (value >= good) if summary.output(metric).higher_is_better else (value <= good):
            return CHECK
        return CROSS if worse_than_best(model, metric, summary) else UNSURE

    return mark


@dataclasses.dataclass(frozen=True)
class Figure:
    metric: str
    where_known: bool = False
    """Measured only on some data (the modes of a known mixture): when no model has any figure of the row,
    the cell gives the reason of the first figure that is not such."""


def sample_cell(model: str, summary: Summary, figures: tuple[Figure, ...],
                mark: Callable[[str, str, Summary], str] = relative_mark) -> Cell:
    """The cell of a measured row. The marked figure is the first of ``figures`` that some model
    measured (the same for every column); the others that this model measured follow it, then the
    feature space and n; the mark is ``mark``'s (``relative_mark``: against real data and the best)."""
    rows = summary.by_model[model]
    marked = next((f for f in figures if any(measured(r.get(f.metric)) for r in summary.by_model.values())),
                  None)
    if marked is None:  # no model measured any: the reason of the row's main figure
        main = next((f for f in figures if not f.where_known and f.metric in rows), None) or figures[0]
        return unmeasured_cell(rows.get(main.metric), summary, main.metric) or Cell("", NOT_REQUESTED)
    row = rows.get(marked.metric)
    missing = unmeasured_cell(row, summary, marked.metric)
    if missing is not None:
        return missing
    parts = [summary.output(f.metric).cell(rows[f.metric].value, rows[f.metric].uncertainty)
             for f in (marked, *figures) if f is marked or (f.metric != marked.metric and measured(rows.get(f.metric)))]
    prefix = "real-vs-real reference: " if model in REFERENCES else ""
    where = ", ".join(p for p in (row.extractor, f"n={row.n}") if p)
    text = f"{prefix}{', '.join(dict.fromkeys(parts))} ({where})"
    return Cell(mark(model, marked.metric, summary), text, row.value, row.uncertainty, marked.metric,
                summary.output(marked.metric).compact(row.value))


def sigma_gap(symbol: str) -> str:
    return f"gap to {symbol} > 2√(u² + u_{symbol}²)"


# -------------------------------------------------------------------------------------------- sampling
SPEED_CHECK, SPEED_UNSURE = 1e-2, 1e-3
"""Sampling marks: ✓ at ≥ 1/100 of the fastest model's samples/s, ? at ≥ 1/1000, ✗ below. The fastest is
usually a trivial sampler (naive Bayes, PCA); a network that samples in one pass stays within two orders
of magnitude of it (1/14 on shapes on 2 CPU cores), while an autoregressive model makes one pass per
dimension (64 on digits, 400 on shapes) and falls behind by that factor again, as does a diffusion model's
T = 1000-pass ancestral sampler (1/38 000 on digits). DDIM's 20 passes land between (1/450 on digits: ?)."""
SAMPLES_PER_SECOND = "samples_per_second"


def sampling_cell(model: str, summary: Summary) -> Cell:
    row = summary.by_model[model].get(SAMPLES_PER_SECOND)
    missing = unmeasured_cell(row, summary, SAMPLES_PER_SECOND)
    if missing is not None:
        return missing
    fastest = max(r[SAMPLES_PER_SECOND].value for m, r in summary.by_model.items()
                  if m not in REFERENCES and measured(r.get(SAMPLES_PER_SECOND))
                  and (m == model or not copies_training_set(m, summary)))
    ratio = row.value / fastest
    mark = CHECK if ratio >= SPEED_CHECK else UNSURE if ratio >= SPEED_UNSURE else CROSS
    batch = row.n if pd.notna(row.n) else "?"
    text = f"{row.value:.3g} samples/s at batch {batch} ({ratio:.2g}× the fastest)"
    return Cell(mark, text, row.value, row.uncertainty, SAMPLES_PER_SECOND, f"{row.value:.2g}/s")


def sampling_rule(summary: Summary) -> str:
    return (f"Figure: samples per second of model.sample at its best batch size (after warm-up, synchronised on "
            f"the GPU). ✓ at ≥ {SPEED_CHECK:g} of the fastest model's (one pass of a network is within that of a "
            f"trivial sampler), ? at ≥ {SPEED_UNSURE:g} (a few tens of passes, as DDIM makes), ✗ below (one pass "
            "per dimension, as an autoregressive model makes, or a diffusion model's T = 1000 passes, falls there); "
            "✗ when the model cannot sample. A model whose samples are copies of the training set (✗ for novel "
            "samples) is never the fastest that others are measured against: looking up stored examples is not "
            "generating.")


# ------------------------------------------------------------------------------- quality and coverage
QUALITY_FIGURES = (Figure("high_quality", where_known=True), Figure("fid"), Figure("is"))
COVERAGE_FIGURES = (Figure("coverage"), Figure("recall"), Figure("modes_captured", where_known=True))


def capped_for_copies(cell: Cell, model: str, summary: Summary) -> Cell:
    """A sample-quality cell of a model that copies its training set: its figure kept, its ✓ capped at ?, and
    the reason said (FID and coverage reward copies)."""
    if cell.mark != CHECK or model in REFERENCES or not copies_training_set(model, summary):
        return cell
    return dataclasses.replace(cell, mark=UNSURE, text=f"{cell.text}; capped at ?: {COPIES_REASON}")


def quality_cell(model: str, summary: Summary) -> Cell:
    return capped_for_copies(sample_cell(model, summary, QUALITY_FIGURES), model, summary)


def coverage_cell(model: str, summary: Summary) -> Cell:
    return capped_for_copies(sample_cell(model, summary, COVERAGE_FIGURES), model, summary)


SAMPLE_RULE = (
    "The figure, in the dataset's feature space (the extractor and n are in the cell), has a standard error u "
    "(bootstrap, or seed-to-seed over several seeds; zero when neither was measured). R is the real-vs-real "
    "figure at the same n (the true-density or real-data column), B the best figure among the models. ✓ when "
    "the model is not measurably worse than real data (|gap to R| ≤ 2√(u² + u_R²) or better than R); ✗ when it "
    f"is measurably worse than the best model ({sigma_gap('B')}); ? otherwise, or when no reference was "
    "measured; n/a when the figure could not be measured (the reason is given); ✗ when the model cannot sample. "
    "The reference column itself is ✓."
)


CAP_RULE = (" A model marked ✗ for novel samples (its samples are copies of the training set) keeps its figure, but "
            "its mark is capped at ?, and it is never the best model B: FID and coverage reward copies.")


BUDGET_RULE = (" A budget-limited model (its learning curve, measured at ⅛, ¼, ½ and all of its training compute, "
               "still improved from half its compute to all of it by more than 2√(u_half² + u_end²)) gets ? instead "
               "of ✗, the reason said: more compute would have given a better figure.")


def quality_rule(summary: Summary) -> str:
    sigmas = summary.setting("high_quality", "sigmas")
    within = f"{sigmas:g}σ" if sigmas is not None else "kσ (the modes metric's sigmas)"
    return (f"Figure: the share of samples within {within} of a mode where the modes are known (rings; higher is "
            "better), else FID (lower is better). On 2-D coordinates FID compares only means and covariances, so "
            "a single Gaussian over the ring scores as well as the ring; the high-quality share does not. "
            + SAMPLE_RULE + CAP_RULE + BUDGET_RULE)


def coverage_rule(summary: Summary) -> str:
    k = summary.setting("coverage", "k")
    ball = f"{k}-nearest-neighbour ball" if k is not None else "k-nearest-neighbour ball"
    return (f"Figure: coverage, the share of real examples whose {ball} holds a sample (Naeem et al. 2020; "
            "higher is better). " + SAMPLE_RULE + CAP_RULE + BUDGET_RULE)


# -------------------------------------------------------------------------------------- novel samples
COPYING_Z = 3.09
"""✗ when C_T lies below −3.09 of its null standard deviations: the data-copying test rejects novelty at the
one-sided 0.1% level. A run marks ten columns or so; at 5% one table in two would call a novel model a copier."""
NOVEL_Z = 1.96
"""✓ needs C_T within 1.96 null standard deviations of 0 (two-sided 5%): the samples' distances to the training
set cannot be told from new data's."""
COPIES_REASON = "its samples are copies of the training set, and FID and coverage reward that"
NOVELTY_SHARES = (("near_copies", "near_copies_heldout"), ("exact_copies", "exact_copies_heldout"))
"""Each share of copies beside the held-out split's share of the same."""


@dataclasses.dataclass(frozen=True)
class Novelty:
    """What the novel-samples figures of one model say: copying (✗), indistinguishable from new data (✓), or
    neither (?); ``reasons`` name the evidence."""

    mark: str
    reasons: tuple[str, ...]
    measured: bool


def null_z(row: pd.Series) -> float:
    """C_T in units of its null standard deviation (the record's details say it; a single seed's stderr)."""
    null_std = row.details.get("null_std", row.uncertainty)
    return row.value / null_std if null_std and math.isfinite(null_std) and null_std > 0 else math.nan


def excess_copies(rows: dict[str, pd.Series], figure: str, baseline: str) -> tuple[bool, bool]:
    """(significantly above the held-out share, within 2σ of it): the share of copies against the held-out
    split's share of the same, gap to it > 2√(u² + u_h²)."""
    own, held = rows.get(figure), rows.get(baseline)
    if not (measured(own) and measured(held)):
        return False, True
    sigma = math.sqrt(sum(u * u for u in (own.uncertainty, held.uncertainty) if math.isfinite(u)))
    gap = own.value - held.value
    return gap > 2 * sigma, abs(gap) <= 2 * sigma


def novelty(model: str, summary: Summary) -> Novelty:
    """The verdict of the novel-samples row on ``model`` (its rule: ``novelty_rule``)."""
    rows = summary.by_model[model]
    reasons, copying, alike = [], False, True
    ct = rows.get("copying_ct")
    if measured(ct):
        z = null_z(ct)
        if z < -COPYING_Z:
            copying = True
            reasons.append(f"the data-copying test finds copying (C_T is {-z:.3g} null σ below 0)")
        alike = alike and abs(z) <= NOVEL_Z
    for figure, baseline in NOVELTY_SHARES:
        above, within = excess_copies(rows, figure, baseline)
        if above:
            copying = True
            reasons.append(f"{summary.output(figure).label} exceed the held-out split's")
        alike = alike and within
    found = measured(ct) or any(measured(rows.get(f)) for f, _ in NOVELTY_SHARES)
    return Novelty(CROSS if copying else CHECK if alike else UNSURE, tuple(reasons), found)


def copies_training_set(model: str, summary: Summary) -> bool:
    """Whether the novel-samples row finds ``model``'s samples to be copies of the training set."""
    if model in REFERENCES:
        return False
    rows = summary.by_model.get(model, {})
    if not any(measured(rows.get(f)) for f in NOVELTY_MARKED):
        return False
    return novelty(model, summary).mark == CROSS


NOVELTY_MARKED = ("copying_ct", "near_copies", "exact_copies")
NOVELTY_FIGURES = (Figure("copying_ct"), Figure("copying_zu"), Figure("near_copies"), Figure("exact_copies"),
                   Figure("generalisation_gap"))


def novelty_cell(model: str, summary: Summary) -> Cell:
    rows = summary.by_model[model]
    marked = next((f for f in NOVELTY_MARKED if any(measured(r.get(f)) for r in summary.by_model.values())), None)
    if marked is None:
        return unmeasured_cell(rows.get("copying_ct"), summary, "copying_ct") or Cell("", NOT_REQUESTED)
    row = rows.get(marked)
    missing = unmeasured_cell(row, summary, marked)
    if missing is not None:
        return missing
    verdict = novelty(model, summary)
    parts = []
    for figure in (f.metric for f in NOVELTY_FIGURES):
        own = rows.get(figure)
        if not measured(own):
            continue
        output = summary.output(figure)
        if figure == "copying_ct":
            parts.append(f"C_T {own.value:.3g} (null σ {own.details.get('null_std', own.uncertainty):.2g})")
        elif figure == "copying_zu":
            parts.append(f"Z_U {own.value:.3g}")
        elif (figure, f"{figure}_heldout") in NOVELTY_SHARES:
            held = rows.get(f"{figure}_heldout")
            baseline = f" (held-out {summary.output(held.metric).format(held.value)})" if measured(held) else ""
            parts.append(f"{output.label} {output.format(own.value, own.uncertainty)}{baseline}")
        else:
            parts.append(f"{output.cell(own.value, own.uncertainty)} {own.unit}".strip())
    prefix = "real-vs-real reference: " if model in REFERENCES else ""
    where = ", ".join(p for p in (row.extractor, f"n={row.n}") if p)
    why = f"; {'; '.join(verdict.reasons)}" if verdict.reasons else ""
    text = f"{prefix}{', '.join(parts)} ({where}){why}"
    return Cell(verdict.mark, text, row.value, row.uncertainty, marked, summary.output(marked).compact(row.value))


def novelty_rule(summary: Summary) -> str:
    ratio = summary.setting("near_copies", "ratio")
    ratio_text = f"{ratio:.2g}" if ratio is not None else "1/3"
    tau = summary.setting("copying_ct", "min_cell_samples")
    tau_text = f"{tau}" if tau is not None else "τ"
    return ("A row genbench adds to the classic six. Figure: C_T, the data-copying test of Meehan, Chaudhuri "
            "& Dasgupta (2020): in each k-means cell of the training set holding at least "
            f"{tau_text} samples, the Mann–Whitney Z of the samples' distances to their nearest training example "
            "against the held-out test split's, averaged with the cells' test shares; N(0, σ²) with the stated null "
            "σ when samples are as far from the training set as new data, strongly negative when they copy it, "
            "strongly positive when they underfit. Beside it: Z_U (the same test over the whole set), the share of "
            f"near copies (nearest training example closer than {ratio_text} of the second nearest) and of exact "
            "copies, each with the held-out split's share, and for likelihood models the train − test log-likelihood "
            f"gap (shown, not marked). ✗ when C_T < −{COPYING_Z:g} null σ (one-sided p < 0.001), or when near or "
            "exact copies exceed the held-out share by more than 2√(u² + u_h²); ✓ when |C_T| ≤ "
            f"{NOVEL_Z:g} null σ and both shares are within 2√(u² + u_h²) of the held-out ones (indistinguishable "
            "from new data); ? otherwise (C_T ≫ 0: the samples are farther from the training set than new data, "
            "which is underfitting, not copying). ✗ when the model cannot sample. A ✗ here caps the model's "
            "quality and coverage marks at ?. The real-data reference is measured on the validation split, which "
            "no model trained on.")


# ---------------------------------------------------------------------------------------- latent space
SMOOTHNESS_FIGURES = (Figure("smoothness_mean"), Figure("smoothness_p99"))
INTERPRETABILITY_FIGURES = (Figure("mig"), Figure("factor_vae_score"))
STRAIGHT = math.pi / 2
"""✓ needs decoded paths straighter, on the whole, than a half-circle: mean step (length / end distance) ≤ π/2."""
JUMP_SHARE = 0.5
"""✗ when the p99 step carries this share of its path (p99 of T·step/L ≥ T/2): jumps between regions."""
DISENTANGLED = 0.2
"""✓ needs MIG ≥ 0.2."""


def smoothness_cell(model: str, summary: Summary) -> Cell:
    def mark(model: str, metric: str, summary: Summary) -> str:
        p99 = summary.by_model[model].get("smoothness_p99")
        steps = p99.details.get("steps") if measured(p99) else None
        if steps is not None and p99.value >= JUMP_SHARE * steps:  # a step that carries half its path: a jump
            return CROSS
        return level_mark(STRAIGHT)(model, metric, summary)

    return sample_cell(model, summary, SMOOTHNESS_FIGURES, mark)


def smoothness_rule(summary: Summary) -> str:
    steps = summary.setting("smoothness_p99", "steps")
    t = f"T = {steps}" if steps is not None else "T (the metric's steps)"
    jump = f"{JUMP_SHARE * steps:g}" if steps is not None else "T/2"
    return (f"Figure: decoded straight lines between latent codes (of test pairs; of prior draws for a model "
            f"without an encoder), {t} steps each, in the dataset's feature space (the quality metrics'). The mean "
            "step: Σ path length / Σ distance between the ends, 1 for straight, evenly walked paths (lower is "
            "better); then the p99 step: the 99th percentile of T·step / path length, 1 at an even pace, T for a "
            f"path made in one step. ✓ when the mean step is at most π/2 ≈ {STRAIGHT:.2f} (decoded paths "
            f"straighter, on the whole, than a half-circle over the same ends) and the p99 step below {jump}; ✗ "
            f"when the p99 step reaches {jump} (1% of steps each carry half a path: jumps) or the mean step is "
            f"measurably worse than the best model's ({sigma_gap('B')}, u the standard errors); ? otherwise; ✗ "
            "when the model has no decoder; n/a without a feature space (categories).")


def interpretability_cell(model: str, summary: Summary) -> Cell:
    return sample_cell(model, summary, INTERPRETABILITY_FIGURES, level_mark(DISENTANGLED))


def interpretability_rule(summary: Summary) -> str:
    bins = summary.setting("mig", "bins")
    histogram = f"{bins}-bin histograms" if bins is not None else "histograms of the metric's bins"
    return (f"Figure: MIG, the mutual information gap of the encoder's codes against the dataset's known factors "
            f"(shapes; Chen et al. 2018; {histogram}; 1 when each factor lives in one code dimension alone, 0 when "
            "no dimension stands out; higher is better); then the FactorVAE score (Kim & Mnih 2018; chance is 1/K "
            f"for K factors). ✓ when MIG ≥ {DISENTANGLED:g} (a factor's best dimension holds, on average, "
            f"{DISENTANGLED:.0%} of the factor's entropy more than the next; on shapes' test split codes independent "
            "of the factors score below 0.01, the factors themselves 0.99); ✗ when MIG is measurably below the best "
            f"model's ({sigma_gap('B')}); ? otherwise; ✗ when the model has no encoder; n/a on data without known "
            "factors.")


# ---------------------------------------------------------------------------------------- likelihood
LOG_LIKELIHOOD = "log_likelihood"
LIKELIHOOD_SPEED = "likelihood_examples_per_second"
EFFICIENT_SHARE = 2e-4
"""A likelihood is efficient when it runs at least this share (1/5000) of the examples/s of the fastest exact model
on the same data. Measured on digits, as shares of naive Bayes (1.0·10⁶ examples/s, the fastest exact model), in a
default run on 2 cores and in tests/benchmarks/likelihood_estimators.py on one contended core: the flow, one pass
per example, 1/200 and 1/1100; the VAE's K = 1000 bound 1/40 000 and 1/215 000; the diffusion model's T = 1000
bound 1/87 000 and 1/380 000, its 50-term bound 1/23 000, its ODE 1/87 000 (Hutchinson) and 1/2.7·10⁶ (exact
divergence). 1/5000 keeps the flow at least 4.5× above the line in both, and every bound and ODE measured (the 50-term
bound included) at least 4.6× below: the cost of a thousand passes, or of an ODE solve of a hundred evaluations, is
what the lecture's "efficiently" rules out. 1/1000 would have put the flow on the wrong side on a contended core."""


def likelihood_kind_text(row: pd.Series) -> tuple[str, str]:
    """(how the figure was had, in words; the short label) from the records' details."""
    kind = row.details.get(LIKELIHOOD)
    if kind == EXACT:
        return "exact", "exact"
    if kind == DEQUANTIZED_BOUND:
        return "exact density, dequantized bound", "exact density"
    if kind == ODE:
        settings = row.details.get("settings", {})
        solver = ", ".join(f"{k} {settings[k]}" for k in ("divergence", "rtol") if k in settings)
        text = f"ODE ({solver})" if solver else "ODE"
        return (f"{text}, dequantized" if row.details.get("dequantized") else text), "ODE"
    if kind == IW_BOUND:
        bound = f"bound (K={row.details.get('k', '?')})"
    elif kind == MODEL_BOUND:
        settings = dict(row.details.get("bound", {}))
        name = f"{settings.pop('bound')} bound" if "bound" in settings else "bound"
        bound = f"{name} ({', '.join(f'{k}={v}' for k, v in settings.items())})" if settings else name
    else:  # a record written before likelihood kinds were recorded
        bound = f"bound ({row.estimator})"
    return bound, bound


def fastest_exact(summary: Summary) -> tuple[str, float] | None:
    """(model, examples/s) of the fastest model whose likelihood is exact (or an exact density, dequantized) on
    this data; the reference columns (a known true density, far cheaper than any model) only where the run has no
    such model; None when it has neither."""
    speeds = measured_rows(LIKELIHOOD_SPEED, summary)
    exact = [(model, speeds[model].value) for model, row in measured_rows(LOG_LIKELIHOOD, summary).items()
             if model in speeds and row.details.get(LIKELIHOOD) in (EXACT, DEQUANTIZED_BOUND)]
    models = [pair for pair in exact if pair[0] not in REFERENCES] or exact
    return max(models, key=lambda pair: pair[1]) if models else None


def likelihood_cell(model: str, summary: Summary) -> Cell:
    """✓ accurate and efficient, ? one of the two, ✗ neither (``likelihood_rule``)."""
    rows = summary.by_model[model]
    row = rows.get(LOG_LIKELIHOOD)
    missing = unmeasured_cell(row, summary, LOG_LIKELIHOOD)
    if missing is not None:
        return missing
    how, label = likelihood_kind_text(row)
    parts = [f"{summary.output(LOG_LIKELIHOOD).format(row.value, row.uncertainty)} {row.unit}", how]
    speed = rows.get(LIKELIHOOD_SPEED)
    fastest = fastest_exact(summary)
    efficient = measured(speed) and fastest is not None and speed.value >= EFFICIENT_SHARE * fastest[1]
    if measured(speed):
        parts.append(f"{speed.value:.3g} examples/s")
    nfe = row.details.get("nfe")
    if isinstance(nfe, (int, float)) and math.isfinite(nfe) and nfe != 1:
        parts.append(f"{nfe:.3g} evaluations/example")
    accurate = row.details.get(LIKELIHOOD) in ACCURATE
    mark = CHECK if accurate and efficient else UNSURE if accurate or efficient else CROSS
    return Cell(mark, ", ".join(parts), row.value, row.uncertainty, LOG_LIKELIHOOD, label)


def likelihood_rule(summary: Summary) -> str:
    k = summary.setting(LOG_LIKELIHOOD, "k")
    samples = f"K = {k} samples" if k is not None else "K samples"
    fastest = fastest_exact(summary)
    scale = (f"here {fastest[0]}'s {fastest[1]:.3g} examples/s, so at least {EFFICIENT_SHARE * fastest[1]:.3g}"
             if fastest else "none in this run, so no model is shown efficient")
    scale += "; a reference column sets it only where no model is exact"
    return ("Accurate: the likelihood itself, exact (on discrete data a continuous density is measured through "
            "dequantization, a bound on the same event space) or a probability-flow ODE solved to its tolerance; "
            f"not a bound of unknown slack (importance-weighted with {samples}, or the model's own, such as a "
            f"variational bound). Efficient: at least 1/{round(1 / EFFICIENT_SHARE)} of the examples/s of the fastest "
            f"exact model on the same data ({scale}): a network pass per example is within it, a thousand passes "
            "(a T = 1000 bound, K = 1000 importance samples) or an ODE solve of a hundred evaluations are not. "
            "✓ accurate and efficient; ? one of the two; ✗ neither, or the model defines no likelihood; n/a when "
            "the model cannot represent the data.")


ROWS: tuple[Row, ...] = (
    Row("sampling", "Efficient sampling", "generating is cheap and uses the parallelism of the hardware",
        sampling_rule, sampling_cell, (SAMPLES_PER_SECOND,)),
    Row("quality", "High-quality samples", "samples are indistinguishable from the training data",
        quality_rule, quality_cell, tuple(f.metric for f in QUALITY_FIGURES)),
    Row("coverage", "Coverage", "samples represent the whole training distribution, not a subset",
        coverage_rule, coverage_cell, tuple(f.metric for f in COVERAGE_FIGURES)),
    Row("novelty", "Novel samples", "samples are new examples, not copies of the training set",
        novelty_rule, novelty_cell, tuple(f.metric for f in NOVELTY_FIGURES)),
    Row("latent_smooth", "Well-behaved latent space",
        "every latent point decodes to a plausible example; small changes in z give small changes in x",
        smoothness_rule, smoothness_cell, tuple(f.metric for f in SMOOTHNESS_FIGURES)),
    Row("latent_interpretable", "Interpretable latent space",
        "moving along one latent dimension changes one interpretable property", interpretability_rule,
        interpretability_cell, tuple(f.metric for f in INTERPRETABILITY_FIGURES)),
    Row("likelihood", "Efficient likelihood",
        "the probability of a new example can be computed efficiently and accurately", likelihood_rule,
        likelihood_cell, (LOG_LIKELIHOOD,)),
)
