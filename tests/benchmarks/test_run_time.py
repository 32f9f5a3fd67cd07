"""How long `genbench run` takes on digits, whole and per model, on the machine it runs on.

Run with:  .venv/bin/pytest tests/benchmarks/test_run_time.py --benchmark-columns=median,min,max,rounds

- ``test_genbench_run``: the README's first command (every default model and metric) and
  the foundation's configuration (naive-bayes, pca, vae; the test log-likelihood only).
- ``test_fit``: one model's training with the default budget; ``extra_info`` records the
  training examples per second (optimiser steps × batch size / seconds) and the epochs run.
The domain classifier behind the sample metrics is trained once, before timing (as on any
machine after its first run).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import genbench
from genbench import catalog

ROUNDS = 3
CONFIGURATIONS = {
    "all-default-models-and-metrics": [],
    "nb-pca-vae-likelihood": ["--models", "naive-bayes,pca,vae", "--metrics", "log-likelihood"],
}


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_genbench_run(benchmark, tmp_path, configuration):
    from genbench.cli import main

    counter = itertools.count()
    warm = ["run", "--models", "naive-bayes", "--out", str(tmp_path / "warm"), "--quiet"]
    assert main(warm) == 0  # trains and caches the domain classifier
    result = benchmark.pedantic(
        lambda: main(["run", "--out", str(tmp_path / f"r{next(counter)}"), "--quiet", *CONFIGURATIONS[configuration]]),
        rounds=ROUNDS, iterations=1)
    assert result == 0


@pytest.mark.parametrize("name", catalog.MODELS.names())
def test_fit(benchmark, digits, name):
    """Training on digits with the default budget; examples/s in extra_info."""
    def fit():
        return genbench.make_model(name).fit(digits.train, digits.val, generator=torch.Generator().manual_seed(0))

    model = benchmark.pedantic(fit, rounds=ROUNDS, iterations=1)
    epochs = len(model.history_) or 1
    batch = getattr(model.config, "batch_size", len(digits.train))
    steps = epochs * math.ceil(len(digits.train) / batch) if model.history_ else 1
    benchmark.extra_info["epochs"] = epochs
    benchmark.extra_info["training_examples_per_second"] = steps * batch / benchmark.stats.stats.median
