"""A time budget (``--budget 10min``) turned into FLOPs, once, at the start of a run (``genbench.budget``).

Each model the run trains to a budget takes a few optimiser steps of its own batch size on the run's data, on the
threads its cell will train on (one per worker where workers train the cells): a short fit warms it up, a second one
is timed, and its FLOPs per step (counted by the training loop) over its seconds per step is the model's rate.
The budget is the time times the median of the models' rates, the same FLOPs for every model: the median model
trains for about the time asked, a model whose steps run faster or slower for less or more. The run records the
FLOPs as its budget and the time, the rates and the threads beside them (config.json), so a resumed run trains to
the same FLOPs however fast the machine is then.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import time
from typing import Any

import torch

from genbench.budget import flops_text, parse_budget, readable_flops
from genbench.data.splits import Data
from genbench.infra.rng import make_generator
from genbench.service.runner import plan as plan_run

log = logging.getLogger(__name__)

TIMED_STEPS = 4
"""Optimiser steps timed per model (after a warm-up fit of two)."""


def model_rate(plan: Any, data: Data, device: torch.device) -> dict[str, float]:
    """One trained model's FLOPs per step and per second on this machine's current threads (module docstring)."""
    batch = min(plan.config.batch_size, len(data.train))
    rates = []
    for steps in (2, TIMED_STEPS):
        model = plan.model_class(plan.config.replace(epochs=1))
        x = data.train.x[: steps * batch]
        started = time.perf_counter()
        model.fit(x, None, generator=make_generator(0), device=device)
        rates.append((model.training_["flops_per_step"], (time.perf_counter() - started) / steps))
    flops_per_step, seconds_per_step = rates[-1]
    return {"flops_per_step": flops_per_step, "seconds_per_step": seconds_per_step,
            "flops_per_second": flops_per_step / seconds_per_step}


def converted(the_plan: Any, data: Data, device: torch.device, threads: int) -> tuple[Any, dict[str, Any]]:
    """``the_plan`` with its time budget as FLOPs (module docstring), its models planned again with them, and
    what the conversion measured; a plan whose budget is no time, unchanged."""
    run = the_plan.run
    budget = parse_budget(run.budget)
    if not budget.is_time:
        return the_plan, {}
    trained = [m for m in the_plan.models if m.trains_by_budget and m.checkpoints is None]
    shared = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        rates = {m.label: model_rate(m, data, device) for m in trained}
    finally:
        torch.set_num_threads(shared)
    rate = statistics.median(r["flops_per_second"] for r in rates.values()) if rates else 0.0
    flops = max(1.0, budget.seconds * rate)
    calibration = {"seconds": budget.seconds, "threads": threads, "device": str(device),
                   "flops_per_second": rate, "models": rates}
    log.info("--budget %s: %s FLOPs per model (%s FLOP/s, the median of %d models' rates on %d thread(s))",
             run.budget, readable_flops(flops), readable_flops(rate), len(rates), threads)
    new_run = dataclasses.replace(run, budget=flops_text(flops), budget_asked=run.budget,
                                  budget_calibration=calibration)
    replanned = plan_run(new_run)
    return dataclasses.replace(the_plan, run=new_run, models=replanned.models), calibration
