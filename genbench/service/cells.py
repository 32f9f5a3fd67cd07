"""One cell of a sweep as a unit of work that any process can run: a (model, dataset, seed) task in,
its records and files out.

A worker (a local process, a Ray task) plans the task's run from its configuration, loads the data
from its own data folder and prepares the metrics (once per dataset and process), runs the cell into
a scratch folder, and sends back the records, the timings, every file the cell wrote and its log. Only
the driver writes the run directory (``genbench.service.sweep``), so a worker needs no access to it: a cell
resumed from its checkpoint gets the checkpoint's files in the task.

Seeds and generators come from the cell's seed alone, so a cell's records do not depend on the worker
that ran it or on what it ran before; at the same thread count (torch's and numpy's BLAS, which
``--threads`` and every worker set) they are identical to a run in the driver's own process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from genbench.records import Record


@dataclasses.dataclass(frozen=True)
class CellTask:
    """What a worker needs to run one cell; plain data, so that it pickles to any process or node."""

    key: int
    """Which of the sweep's datasets (the driver's index)."""
    run: dict[str, Any]
    """The dataset's ``RunConfig.to_dict()``."""
    label: str
    seed: int
    dataset: str
    """The dataset's name, for messages."""
    checkpoint: dict[str, bytes] = dataclasses.field(default_factory=dict)
    """The files of a checkpoint the run directory already holds for this cell (measured, not retrained)."""

    @property
    def name(self) -> str:
        return f"{self.label} seed {self.seed} on {self.dataset}"


@dataclasses.dataclass(frozen=True)
class CellResult:
    """A finished cell (its model may still have failed: that is in the records)."""

    task: CellTask
    records: list[Record]
    timing: dict[str, float]
    files: dict[str, bytes]
    """Every file the cell wrote, by its path in the dataset's run directory."""
    worker: str
    log: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    """The worker's log records of this cell, (level, message), for the driver's run.log."""


@dataclasses.dataclass(frozen=True)
class CellLost:
    """A cell that returned nothing: its worker died, or the task could not start."""

    task: CellTask
    reason: str
    worker: str


def worker_name() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


_prepared: dict[str, tuple[Any, Any]] = {}
"""This process's plans and prepared data, by run configuration: a worker loads each dataset once."""


def prepared(run: dict[str, Any]) -> tuple[Any, Any]:
    from genbench.service import runner
    from genbench.service.run_config import RunConfig

    key = json.dumps(run, sort_keys=True)
    if key not in _prepared:
        the_plan = runner.plan(RunConfig.from_dict(run))
        _prepared[key] = (the_plan, runner.prepare(the_plan))
    return _prepared[key]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))


def run_task(task: CellTask, device: str | None = None, worker: str | None = None) -> CellResult:
    """Run one cell in this process (a worker's side); ``device`` overrides the run's (a worker's GPU)."""
    from genbench.infra.devices import resolve_device
    from genbench.infra.rundir import CHECKPOINTS, RunDir
    from genbench.service import runner

    collect = _Collect()
    logging.getLogger("genbench").addHandler(collect)
    try:
        the_plan, data = prepared(task.run)
        cell = next(c for c in runner.run_cells(the_plan, data) if c.label == task.label)
        with tempfile.TemporaryDirectory(prefix="genbench-cell-") as scratch:
            root = Path(scratch)
            for name, content in task.checkpoint.items():
                (root / CHECKPOINTS).mkdir(exist_ok=True)
                (root / CHECKPOINTS / name).write_bytes(content)
            records, timing = runner.run_cell(cell, data, the_plan.metrics, task.seed,
                                              resolve_device(device or the_plan.run.device), RunDir(root),
                                              the_plan.run.weights())
            given = {f"{CHECKPOINTS}/{name}" for name in task.checkpoint}
            files = {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
                     if path.is_file() and path.relative_to(root).as_posix() not in given}
    finally:
        logging.getLogger("genbench").removeHandler(collect)
    return CellResult(task, records, timing, files, worker or worker_name(), collect.lines)
