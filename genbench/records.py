"""Tidy measurement records: one row per (model, dataset, seed, metric), the long form of metrics.csv."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

OK, NOT_AVAILABLE, FAILED = "ok", "unavailable", "failed"
"""Statuses of a record. (Not "n/a": pandas reads that as a missing value.)"""
TIMED = "timed"
"""The ``estimator`` of a wall-clock measurement: it varies between runs of the same seed."""
NO_ESTIMATOR = "none"
"""The ``estimator`` of an n/a record whose model lacks the capability (a GAN's likelihood)."""

LIKELIHOOD = "likelihood"
"""The key of a log-likelihood record's ``details`` that says how it was had, one of:"""
EXACT, DEQUANTIZED_BOUND, IW_BOUND, MODEL_BOUND = "exact", "dequantized bound", "importance-weighted bound", \
    "model's bound"
"""``log_prob``; a continuous density's dequantized bound on discrete data; the importance-weighted bound
(``details["k"]``); the model's own bound (``details["bound"]``: its settings, such as T)."""

LOST = "lost: "
"""The start of a failed record's reason when its cell returned nothing (its worker process or node died):
``genbench run --resume`` runs such a cell again; it keeps every other finished cell, failed or not."""

TRUE_DISTRIBUTION = "true-density"
REAL_DATA = "real-data"
REFERENCES = (TRUE_DISTRIBUTION, REAL_DATA)
"""Labels of the reference columns in metrics.csv (the marks' real-vs-real figures): never the
best model, never marked against themselves (``genbench.reference`` holds their models)."""
REFERENCE_FAMILY = "reference"
"""The family of the reference columns, last in every table."""

COLUMNS = [
    "model", "family", "dataset", "seed", "metric", "value", "stderr", "unit", "n",
    "extractor", "estimator", "status", "reason", "details",
]


@dataclasses.dataclass(frozen=True)
class Record:
    """One measured figure. A metric fills the measurement; ``evaluate`` fills the identity.

    ``stderr`` is the standard error of ``value`` (NaN where none is defined), ``n`` the number
    of examples or samples it was computed from, ``estimator`` how (e.g. "exact",
    "iw-bound(K=1000)"), ``extractor`` the feature space of sample-based metrics, ``details``
    any further provenance (JSON-serialisable).
    """

    metric: str
    value: float = math.nan
    stderr: float = math.nan
    unit: str = ""
    n: int | None = None
    extractor: str = ""
    estimator: str = ""
    status: str = OK
    reason: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    model: str = ""
    family: str = ""
    """The family the model declares (``GenerativeModel.family``): the table groups its columns by it."""
    dataset: str = ""
    seed: int | None = None

    @classmethod
    def not_available(cls, metric: str, reason: str, **kw: Any) -> Record:
        return cls(metric=metric, status=NOT_AVAILABLE, reason=reason, **kw)

    @classmethod
    def failed(cls, metric: str, reason: str, **kw: Any) -> Record:
        return cls(metric=metric, status=FAILED, reason=reason, **kw)

    def identify(self, *, model: str, dataset: str, seed: int, family: str = "") -> Record:
        return dataclasses.replace(self, model=model, family=family, dataset=dataset, seed=seed)

    def row(self) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        row["details"] = json.dumps(self.details, sort_keys=True) if self.details else ""
        return {column: row[column] for column in COLUMNS}


def to_frame(records: Iterable[Record]) -> pd.DataFrame:
    """Records → a DataFrame with the columns of metrics.csv, in their fixed order."""
    frame = pd.DataFrame([r.row() for r in records], columns=COLUMNS)
    return normalise(frame)


def untimed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that the same seed reproduces exactly: all but wall-clock measurements."""
    return frame[frame.estimator != TIMED].reset_index(drop=True)


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Fix dtypes so that a frame read back from CSV equals the one written."""
    frame = frame.reindex(columns=COLUMNS).copy()
    for column in ("value", "stderr"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("seed", "n"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    for column in ("model", "family", "dataset", "metric", "unit", "extractor", "estimator", "status", "reason",
                   "details"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame.reset_index(drop=True)
