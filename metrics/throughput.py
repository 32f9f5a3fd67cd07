"""Efficient sampling: samples per second of ``model.sample`` over a sweep of batch sizes.

Each batch size is called ``warmup`` times untimed, then timed call by call (the device
synchronised before and after each) until ``repeats`` calls and ``min_seconds`` have passed.
The figure is the median rate, b / median(seconds per call), with the spread of the per-call
rates as its uncertainty. A batch size whose call would take longer than ``max_call_seconds``, by linear
extrapolation from the last one timed, is not timed (n/a, with the estimate): on a CPU the rate has
stopped growing long before, and a many-step sampler (DDIM, 20 network passes a call) would spend
minutes there. Peak memory is the CUDA allocator's high-water mark during the
timed calls; on the CPU no allocator reports one, and the record says so.

Timed records carry ``estimator = "timed"``: they change from run to run, unlike every other
figure, and comparisons of metrics.csv across runs leave them out.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable

import torch

from genbench.config import Config, require, require_positive
from genbench.data.splits import Data
from genbench.errors import UsageError
from genbench.infra.devices import synchronize
from genbench.metric import EvalContext, Metric
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import REFERENCES, TIMED, Record

BEST = "samples_per_second"
PEAK_MEMORY = "peak_memory_mib"


def per_batch(metric: str, batch_size: int) -> str:
    """The name of a sweep record: ``samples_per_second[batch=256]``."""
    return f"{metric}[batch={batch_size}]"


def time_calls(call: Callable[[], object], device: torch.device, *, warmup: int, repeats: int,
               min_seconds: float) -> list[float]:
    """Seconds per call of ``call``, after ``warmup`` untimed calls, synchronised on the GPU."""
    for _ in range(warmup):
        call()
    synchronize(device)
    seconds: list[float] = []
    started = time.perf_counter()
    while len(seconds) < repeats or time.perf_counter() - started < min_seconds:
        synchronize(device)
        start = time.perf_counter()
        call()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def rate(items: int, seconds: list[float]) -> tuple[float, float]:
    """(items / median seconds, standard error of the per-call rates)."""
    rates = [items / s for s in seconds]
    spread = statistics.stdev(rates) / math.sqrt(len(rates)) if len(rates) > 1 else math.nan
    return items / statistics.median(seconds), spread


@dataclasses.dataclass(frozen=True)
class ThroughputOptions(Config):
    batch_sizes: tuple[int, ...] = (1, 16, 256, 4096)
    warmup: int = 1
    repeats: int = 5
    min_seconds: float = 0.1
    """With ``repeats``, how long each batch size is timed: a fast sampler makes hundreds of calls in 0.1 s, and
    each batch size of every model costs at least this much of a run."""
    max_call_seconds: float = 2.0

    def validate(self) -> None:
        require(len(self.batch_sizes) > 0, "batch_sizes needs at least one size")
        require_positive(repeats=self.repeats, min_seconds=self.min_seconds, max_call_seconds=self.max_call_seconds,
                         **{f"batch_sizes[{i}]": b for i, b in enumerate(self.batch_sizes)})
        require(self.warmup >= 0, f"warmup must be 0 or more, got {self.warmup}")


class SamplingThroughput(Metric):
    """Samples per second of model.sample over batch sizes, after warm-up, with peak GPU memory."""

    name = "sampling-speed"
    timed = True
    config_class = ThroughputOptions
    requires_any = frozenset({Capability.SAMPLE})

    outputs = (
        Output(BEST, "samples/s", "samples/s", HIGHER, headline=True, log_scale=True),
        Output(PEAK_MEMORY, "peak memory", "MiB", LOWER),
    )

    @property
    def produces(self) -> tuple[str, ...]:
        """The best batch size's figure, then the sweep: samples/s and peak memory per batch size."""
        return (BEST, *(per_batch(m, b) for b in self.config.batch_sizes for m in (BEST, PEAK_MEMORY)))

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        if model.name in REFERENCES:
            return "reference column: drawing stored data says nothing of generation speed"
        return None

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        device = model.device
        generator = context.generator(self.name)
        records, best, last = [], None, None
        for batch_size in self.config.batch_sizes:
            if last is not None and last.value > 0 and batch_size / last.value > self.config.max_call_seconds:
                records += self.skipped(batch_size, batch_size / last.value, last.n)
                continue
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            try:
                seconds = time_calls(lambda b=batch_size: model.sample(b, generator), device,
                                     warmup=self.config.warmup, repeats=self.config.repeats,
                                     min_seconds=self.config.min_seconds)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                records.append(Record.failed(per_batch(BEST, batch_size), "out of memory"))
                continue
            value, spread = rate(batch_size, seconds)
            details = {"batch_size": batch_size, "calls": len(seconds), "device": device.type}
            record = Record(per_batch(BEST, batch_size), value, spread, n=batch_size,
                            estimator=TIMED, details=details)
            records.append(record)
            last = record
            if best is None or value > best.value:
                best = record
            if device.type == "cuda":
                peak = torch.cuda.max_memory_allocated(device) / 2**20
                records.append(Record(per_batch(PEAK_MEMORY, batch_size), peak, n=batch_size,
                                      estimator=TIMED, details=details))
            else:
                records.append(Record.not_available(per_batch(PEAK_MEMORY, batch_size),
                                                    "peak memory is read from the CUDA allocator; this ran on the CPU"))
        if best is None:
            raise UsageError("every batch size ran out of memory")
        return [dataclasses.replace(best, metric=BEST), *records]

    def skipped(self, batch_size: int, seconds: float, timed_batch: int) -> list[Record]:
        reason = (f"not timed: a call would take about {seconds:.2g} s at the rate of batch {timed_batch} "
                  f"(max_call_seconds={self.config.max_call_seconds:g})")
        return [Record.not_available(per_batch(m, batch_size), reason) for m in (BEST, PEAK_MEMORY)]
