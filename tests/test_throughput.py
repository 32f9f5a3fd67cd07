"""The sampling-speed sweep: its records, and the batch sizes it leaves untimed when a call would run too long."""

from __future__ import annotations

import torch

from genbench.data.info import DataInfo, ValueType
from genbench.metrics.throughput import SamplingThroughput
from genbench.records import NOT_AVAILABLE, OK, TIMED
from genbench.service.evaluation import eval_context

INFO = DataInfo("vectors", (2,), ValueType.CONTINUOUS)


def records_of(model, **options):
    return {r.metric: r for r in SamplingThroughput(**options).compute(model, None, eval_context())}


def test_every_batch_size_is_timed_and_the_best_is_the_headline(sampler):
    model = sampler(lambda n, g: torch.zeros(n, 2), INFO)
    records = records_of(model, batch_sizes=(1, 64), repeats=2, min_seconds=0.01, warmup=0)
    sweep = [records[f"samples_per_second[batch={b}]"] for b in (1, 64)]
    assert all(r.status == OK and r.estimator == TIMED for r in sweep)
    assert records["samples_per_second"].value == max(r.value for r in sweep)
    assert records["peak_memory_mib[batch=1]"].status == NOT_AVAILABLE  # no CUDA allocator on the CPU


def test_a_batch_whose_call_would_exceed_max_call_seconds_is_not_timed(sampler):
    """Linear extrapolation from the last timed batch: at any real rate, 10⁶ samples take over 10⁻⁶ s."""
    calls = []
    model = sampler(lambda n, g: calls.append(n) or torch.zeros(n, 2), INFO)
    records = records_of(model, batch_sizes=(1, 1_000_000), repeats=2, min_seconds=0.01, warmup=0,
                         max_call_seconds=1e-6)
    skipped = records["samples_per_second[batch=1000000]"]
    assert skipped.status == NOT_AVAILABLE and "max_call_seconds=1e-06" in skipped.reason
    assert "at the rate of batch 1" in skipped.reason and set(calls) == {1}
    assert records["samples_per_second"].n == 1
