"""The run service's second stage, prepare: planned runs → everything their cells need, on disk and in memory.

Takes a ``Planned``; gives a ``Prepared``: the executor that runs the cells (None: this process) with this
process's threads set, each dataset loaded and its metrics prepared (reference features, weights: a missing file
stops the run here, before any training), a time budget converted to FLOPs, and the run directories written
(config.json, the environment) or, for a resume, the claimed ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from genbench.budget import parse_budget
from genbench.data.splits import Data
from genbench.infra.devices import resolve_device
from genbench.infra.memory import keep_freed_memory
from genbench.infra.rundir import RunDir
from genbench.infra.threads import configure_threads
from genbench.service import runner, sweep
from genbench.service.calibration import converted
from genbench.service.executors import LOCAL, automatic_jobs, make_executor
from genbench.service.executors.contract import AUTO, Executor, ExecutorChoice
from genbench.service.plan import Planned
from genbench.service.request import RunRequest


@dataclasses.dataclass(frozen=True)
class Prepared:
    """(plan, run directory, data) per dataset, the sweep's root (None for one dataset) and the executor (None:
    every cell in this process)."""

    datasets: list[tuple[runner.Plan, RunDir, Data]]
    root: Path | None = None
    executor: Executor | None = None


def prepare(planned: Planned) -> Prepared:
    """Start the executor, load and prepare each dataset, and write (or reuse, resuming) the run directories."""
    request = planned.request
    executor = start_executor(request, executor_choice(request), planned.plans)
    root = planned.out if planned.sweep else None
    if planned.reopened is not None:
        return Prepared([(plan, rundir, runner.prepare(plan)) for plan, rundir in zip(planned.plans, planned.reopened)],
                        root, executor)
    datas = [runner.prepare(plan) for plan in planned.plans]
    plans = [with_budget_in_flops(plan, data, executor) for plan, data in zip(planned.plans, datas)]
    rundirs = sweep.start(plans, planned.out) if planned.sweep else [runner.start(plans[0], planned.out)]
    return Prepared(list(zip(plans, rundirs, datas)), root, executor)


def executor_choice(request: RunRequest) -> ExecutorChoice:
    """The executor's flags; ``--jobs auto`` is left open (None) until ``start_executor`` knows the cells."""
    return ExecutorChoice(request.executor, None if request.jobs == AUTO else request.jobs, request.devices,
                          request.ray_address, request.cell_cpus, request.cell_gpus, request.threads)


def start_executor(request: RunRequest, choice: ExecutorChoice, plans: Sequence[runner.Plan]) -> Executor | None:
    """Build the executor (None: every cell in this process) and set this process's threads. The cores are
    read before ``threads`` applies: workers share them, and ``threads`` is then per worker. ``--jobs auto``
    becomes a count here (``executors.automatic_jobs``). The allocator keeps freed memory from here on
    (``infra.memory``)."""
    keep_freed_memory()
    cores = torch.get_num_threads()
    configure_threads(request.threads)
    if request.jobs == AUTO and choice.executor == LOCAL and choice.devices is None:
        choice = dataclasses.replace(choice, jobs=automatic_jobs(cells_worth_workers(plans), cores))
    return None if choice.in_process else make_executor(choice, cores)


def with_budget_in_flops(plan: Any, data: Any, executor: Any) -> Any:
    """``plan`` with a time budget converted to FLOPs on the threads each cell will train on (``calibration``)."""
    threads = getattr(executor, "threads", None) or torch.get_num_threads()
    return converted(plan, data, resolve_device(plan.run.device), threads)[0]


def cells_worth_workers(plans: Sequence[Any]) -> int:
    """The cells worth a worker process of their own (``--jobs auto``): models that train to a budget, on the
    CPU, for as long as the default or paper budget says (``Budget.worth_workers``). A smoke budget's cells,
    ``--epochs``', or a closed-form fit (naive Bayes, PCA) take seconds, no more than starting a worker costs
    (about 5 s: an interpreter, torch, the data)."""
    return sum(len(plan.run.seeds) for plan in plans if parse_budget(plan.run.budget).worth_workers()
               and plan.run.epochs is None and resolve_device(plan.run.device).type == "cpu"
               for model in plan.models if model.checkpoints is None and model.trains_by_budget)
