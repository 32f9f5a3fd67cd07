"""Measure a fitted model with a list of metrics; one metric's failure does not stop the others."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from genbench import catalog
from genbench.data.splits import Data
from genbench.errors import GenbenchError
from genbench.infra import turns
from genbench.metric import EvalContext, Metric
from genbench.model import GenerativeModel
from genbench.records import NO_ESTIMATOR, TIMED, Record, to_frame

log = logging.getLogger(__name__)


WAITED = "waited for a turn"
"""The key of ``measure``'s ``seconds`` under which it adds the time spent waiting for a turn at the machine."""


def measure(model: GenerativeModel, data: Data, metrics: Sequence[Metric], context: EvalContext,
            seconds: dict[str, float] | None = None) -> list[Record]:
    """Every metric's records for ``model``: measured, n/a with the reason, or failed with it. Beside other
    workers of a pool, this one pauses between metrics while another times, and times alone
    (``infra.turns``). ``seconds``, when given, gets each metric's own seconds and, under ``WAITED``, those spent
    waiting for turns (the pauses between metrics, a timed metric's wait for the machine to itself)."""
    records: list[Record] = []
    seconds = {} if seconds is None else seconds
    for metric in metrics:
        seconds[WAITED] = seconds.get(WAITED, 0.0) + turns.give_way()
        started, waited_before = time.perf_counter(), seconds[WAITED]
        try:
            records.extend(metric.declared(metric_records(model, data, metric, context, seconds)))
        except GenbenchError as error:  # a metric that breaks its own declarations fails its records alone
            log.warning("%s on %s: %s", model.name, data.name, error)
            records.extend(metric.declared(metric.failed(str(error))))
        waited_inside = seconds[WAITED] - waited_before  # a timed metric's wait for the machine to itself
        seconds[metric.name] = seconds.get(metric.name, 0.0) + time.perf_counter() - started - waited_inside
    return records


def metric_records(model: GenerativeModel, data: Data, metric: Metric, context: EvalContext,
                   seconds: dict[str, float] | None = None) -> list[Record]:
    """One metric's records for ``model``: measured, n/a with the reason, or failed with it; a timed metric's wait
    for its turn is added to ``seconds[WAITED]``."""
    if model.samples_only and not metric.from_samples:
        return metric.not_available(f"samples only: {metric.name} needs the model itself, not a file of its samples")
    missing = metric.missing_capability(model)
    if missing:
        return metric.not_available(missing, estimator=NO_ESTIMATOR)
    reason = metric.unavailable_reason(model, data)
    if reason:
        return metric.not_available(reason)
    try:
        if not metric.timed:
            return metric.compute(model, data, context)
        with turns.alone() as waited:
            if seconds is not None:
                seconds[WAITED] = seconds.get(WAITED, 0.0) + waited.seconds
            threads = torch.get_num_threads()
            return [dataclasses.replace(r, details={**r.details, "threads": threads}) if r.estimator == TIMED else r
                    for r in metric.compute(model, data, context)]
    except OSError:  # a full disk is the run's to stop on, not one metric's failure
        raise
    except Exception as error:  # noqa: BLE001 - a metric (a plugin's, too) that raises fails its own records
        contain(error, log, "%s on %s: %s failed: %s", model.name, data.name, metric.name, error)
        return metric.failed(f"{type(error).__name__}: {error}")


def contain(error: Exception, logger: logging.Logger, message: str, *args: Any) -> None:
    """What a contained failure (a model's training, a metric) does before it becomes a record: free the GPU's
    memory after running out of it, and log it, with the traceback (in run.log) only when unexpected."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
    logger.warning(message, *args, exc_info=not isinstance(error, GenbenchError))


def eval_context(**fields: Any) -> EvalContext:
    """An evaluation context with genbench's feature extractors (``catalog.EXTRACTORS``)."""
    return EvalContext(extractors=catalog.EXTRACTORS, **fields)


def evaluate(
    model: GenerativeModel,
    data: Data,
    metrics: Sequence[str | Metric] | None = None,
    *,
    seed: int = 0,
    label: str | None = None,
    device: str | torch.device | None = None,
) -> pd.DataFrame:
    """Tidy records (the columns of metrics.csv) of ``metrics`` (names or objects) for ``model``."""
    names = catalog.METRICS.defaults() if metrics is None else metrics
    resolved = [m if isinstance(m, Metric) else catalog.METRICS.get(m)() for m in names]
    context = eval_context(seed=seed, device=torch.device(device) if device else model.device)
    records = measure(model, data, resolved, context)
    return to_frame(r.identify(model=label or model.name, dataset=data.name, seed=seed, family=model.family)
                    for r in records)
