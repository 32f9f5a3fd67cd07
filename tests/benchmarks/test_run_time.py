"""How long `genbench run` takes on the default dataset, whole and per model.

Run with:  .venv/bin/pytest tests/benchmarks --benchmark-columns=median,min,max,rounds
"""

from __future__ import annotations

import itertools

import pytest
import torch

import genbench
from genbench.evaluation import measure
from genbench.metric import EvalContext
from genbench.metrics.likelihood import LogLikelihood

ROUNDS = 3


def test_genbench_run_on_digits(benchmark, tmp_path):
    """The README's first command: naive-bayes, pca and vae on digits, default budget, one seed."""
    from genbench.cli import main

    counter = itertools.count()
    result = benchmark.pedantic(lambda: main(["run", "--out", str(tmp_path / f"r{next(counter)}"), "--quiet"]),
                                rounds=ROUNDS, iterations=1)
    assert result == 0


@pytest.mark.parametrize("name", ["naive-bayes", "pca", "vae"])
def test_fit_and_measure_one_model(benchmark, digits, name):
    """One cell of that run: fit with the default budget, then the test log-likelihood (K=1000)."""

    def cell():
        model = genbench.make_model(name).fit(digits.train, digits.val, generator=torch.Generator().manual_seed(0))
        return measure(model, digits, [LogLikelihood()], EvalContext())

    records = benchmark.pedantic(cell, rounds=ROUNDS, iterations=1)
    assert records[0].status == "ok"
