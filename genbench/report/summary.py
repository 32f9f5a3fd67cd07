"""metrics.csv summarised once, for every table, figure and mark of a report.

One row per (model, metric): with several seeds the value is the mean over seeds and the
uncertainty the seed-to-seed standard error (std with ddof 1, over √S); with one seed it is that
record's own standard error (over test examples or bootstrap). ``seeds`` says which it is. The
row's ``details`` are those of its first measured record (settings such as K, T, bins, k travel
there), and every figure's declaration (``genbench.outputs``) is read from its records.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pandas as pd

from genbench import catalog
from genbench.outputs import Output, base_name, is_sweep_point, undeclared
from genbench.records import FAILED, NOT_AVAILABLE, OK
from genbench.report.families import by_family

SUMMARY_COLUMNS = ["model", "metric", "value", "uncertainty", "seeds", "unit", "estimator", "extractor",
                   "n", "status", "reason", "details"]


def parse_details(text: str) -> dict[str, Any]:
    """A record's details column as a dict (empty when blank or unreadable)."""
    if not text:
        return {}
    try:
        details = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return details if isinstance(details, dict) else {}


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, metric), in the order of metrics.csv (see the module docstring)."""
    rows = []
    for (model, metric), group in frame.groupby(["model", "metric"], sort=False):
        ok = group[group.status == OK]
        source = ok if len(ok) else group
        first = source.iloc[0]
        if len(ok) > 1:
            values = ok.value.astype(float)
            value = float(values.mean())
            finite = values.map(math.isfinite).all()
            uncertainty = float(values.std(ddof=1) / math.sqrt(len(values))) if finite else math.nan
        elif len(ok) == 1:
            value, uncertainty = float(first.value), float(first.stderr)
        else:
            value, uncertainty = math.nan, math.nan
        status = OK if len(ok) else (FAILED if (group.status == FAILED).any() else NOT_AVAILABLE)
        reason = "" if len(ok) else "; ".join(dict.fromkeys(r for r in group.reason if r))
        rows.append({"model": model, "metric": metric, "value": value, "uncertainty": uncertainty,
                     "seeds": len(ok), "unit": first.unit, "estimator": first.estimator,
                     "extractor": first.extractor, "n": first.n, "status": status, "reason": reason,
                     "details": parse_details(first.details)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def model_families(frame: pd.DataFrame) -> dict[str, str]:
    """Each model's family, as its records declare it (none in a metrics.csv older than the ``family`` column)."""
    declared = frame[frame.family != ""].drop_duplicates("model")
    return dict(zip(declared.model, declared.family, strict=True))


def model_order(frame: pd.DataFrame) -> list[str]:
    """Models grouped by family (``genbench.report.families``), in order of first appearance within one: the
    column order of every table and figure."""
    return by_family(list(dict.fromkeys(frame.model)), model_families(frame))


@dataclasses.dataclass(frozen=True)
class Summary:
    """metrics.csv (``frame``) and its summary (``rows``), with the models in order and each figure's
    declaration: what every part of a report reads."""

    frame: pd.DataFrame

    @cached_property
    def rows(self) -> pd.DataFrame:
        return summarise(self.frame)

    @cached_property
    def models(self) -> list[str]:
        return model_order(self.frame)

    @cached_property
    def families(self) -> dict[str, str]:
        """Each model's declared family (``genbench.report.families``)."""
        return model_families(self.frame)

    @cached_property
    def by_model(self) -> dict[str, dict[str, pd.Series]]:
        """Each model's summary rows, by metric name."""
        return {model: {r.metric: r for _, r in self.rows[self.rows.model == model].iterrows()}
                for model in self.models}

    @cached_property
    def outputs(self) -> dict[str, Output]:
        """The declaration of every figure in the file, by its base name (``genbench.outputs``)."""
        declared: dict[str, Output] = {}
        for metric, details in zip(self.frame.metric, self.frame.details):
            name = base_name(metric)
            if name not in declared:
                output = parse_details(details).get("output")
                if isinstance(output, Mapping):
                    declared[name] = Output.from_dict(dict(output))
        missing = {base_name(m) for m in self.frame.metric} - set(declared)
        return {**registered_outputs(missing), **declared}

    def output(self, metric: str) -> Output:
        return self.outputs.get(base_name(metric)) or undeclared(metric)

    def setting(self, metric: str, key: str) -> Any:
        """A setting a figure's records carry in their details (K, T, bins, k), from its first measured
        record; None when no record says."""
        for rows in self.by_model.values():
            row = rows.get(metric)
            if row is not None and row.status == OK and key in row.details:
                return row.details[key]
        return None

    def without_sweeps(self) -> pd.DataFrame:
        """The summary without the rows of sweeps (per batch size, per training point, per step count; metrics.csv
        and figures/ keep those); a figure in a further feature space (``fid[dinov2-vit-b-14]``) stays."""
        return self.rows[~self.rows.metric.map(is_sweep_point)]


def registered_outputs(names: set[str]) -> dict[str, Output]:
    """Declarations of ``names`` from genbench's registered metrics, for records of an older genbench that
    did not carry theirs (this imports the metrics, and so torch)."""
    if not names:
        return {}

    found: dict[str, Output] = {}
    for name in catalog.METRICS.names():
        try:
            outputs = catalog.METRICS.get(name).outputs
        except Exception:  # noqa: BLE001 - a broken plugin leaves its figures undeclared, nothing more
            continue
        found.update({o.name: o for o in outputs if o.name in names})
    return found
