"""What the memorisation metric adds to the default run on digits, measured beside the rest of the run.

Run with:  .venv/bin/pytest tests/benchmarks/test_memorisation_time.py --benchmark-columns=median,min,max,rounds

Every default model is trained once at the default budget (its fit time is kept in ``extra_info``); then, over
every column of the default run (the eight models and the real-data reference), the benchmark times

- ``memorisation``: the memorisation metric alone, its training features and k-means cells already prepared
  (as ``genbench run`` prepares them once, before any model trains);
- ``other-default-metrics``: every other default metric, prepared the same way.

The share it adds to the run is memorisation / (fit + other metrics + memorisation), each a median of 3 rounds
in one session; ``extra_info`` holds each model's own memorisation seconds.
"""

from __future__ import annotations

import time

import pytest
import torch

import genbench
from genbench import catalog
from genbench.reference import RealData
from genbench.service.evaluation import eval_context, measure

ROUNDS = 3


@pytest.fixture(scope="module")
def fitted(digits):
    models, seconds = {}, {}
    for name in catalog.MODELS.defaults():
        start = time.perf_counter()
        model = genbench.make_model(name)
        models[name] = model.fit(digits.train, digits.val, generator=torch.Generator().manual_seed(0))
        seconds[name] = time.perf_counter() - start
    models["real-data"] = RealData(digits.train)
    return models, seconds


def prepared(names, digits):
    metrics = [catalog.METRICS.get(name)() for name in names]
    context = eval_context(seed=0)
    for metric in metrics:
        metric.prepare(digits, context)
    return metrics, context


@pytest.mark.parametrize("which", ["memorisation", "other-default-metrics"])
def test_measurement_time(benchmark, fitted, digits, which):
    models, fit_seconds = fitted
    names = ["memorisation"] if which == "memorisation" else [m for m in catalog.METRICS.defaults()
                                                                if m != "memorisation"]
    metrics, context = prepared(names, digits)
    per_model: dict[str, float] = {}

    def measure_all():
        for label, model in models.items():
            start = time.perf_counter()
            records = measure(model, digits, metrics, context)
            per_model[label] = time.perf_counter() - start
            assert not [r for r in records if r.status == "failed"], label

    benchmark.pedantic(measure_all, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["fit_seconds_total"] = sum(fit_seconds.values())
    benchmark.extra_info["per_model_seconds_last_round"] = {k: round(v, 3) for k, v in per_model.items()}
