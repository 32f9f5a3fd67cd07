"""The comparison table's rows and the written rules that give each cell its mark.

Every rule reads only the summary of metrics.csv (``genbench.summary``), so ``genbench report``
gives the same marks from the CSV alone. The rules are printed under every table.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping

import pandas as pd

from genbench.formatting import format_estimate
from genbench.records import NO_ESTIMATOR, OK

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
    """None: this property is not measured yet."""
    higher_is_better: bool | None = None
    """Which way the cell's figure is better (for bold-facing the best); None: no order."""
    unit: str = ""


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


ROWS: tuple[Row, ...] = (
    Row("sampling", "Efficient sampling",
        "generating is cheap and uses the parallelism of the hardware", ""),
    Row("quality", "High-quality samples",
        "samples are indistinguishable from the training data", ""),
    Row("coverage", "Coverage",
        "samples represent the whole training distribution, not a subset", ""),
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
        likelihood_cell, higher_is_better=True, unit="nats"),
)
