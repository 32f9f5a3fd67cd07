"""Aggregate metrics.csv over seeds: one row per (model, metric) with its uncertainty.

With several seeds the value is the mean over seeds and the uncertainty the seed-to-seed
standard error (std with ddof 1, over √S); with one seed it is that record's own standard error
(over test examples or bootstrap). ``seeds`` says which it is.
"""

from __future__ import annotations

import math

import pandas as pd

from genbench.records import FAILED, NOT_AVAILABLE, OK

SUMMARY_COLUMNS = ["model", "metric", "value", "uncertainty", "seeds", "unit", "estimator", "extractor",
                   "n", "status", "reason"]


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
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
                     "extractor": first.extractor, "n": first.n, "status": status, "reason": reason})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def model_order(frame: pd.DataFrame) -> list[str]:
    """Models in order of first appearance."""
    return list(dict.fromkeys(frame.model))
