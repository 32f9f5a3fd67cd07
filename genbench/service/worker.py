"""A cell run on a worker's side (a local worker process, a Ray task): ``run_task`` takes a ``CellTask`` and gives
its ``CellResult`` (``genbench.service.cells`` says what travels, and why only the driver writes the run
directory)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from genbench.infra.devices import resolve_device
from genbench.infra.rundir import CHECKPOINTS, RunDir
from genbench.service import runner
from genbench.service.cells import CellResult, CellTask, worker_name
from genbench.service.run_config import RunConfig

_prepared: dict[str, tuple[Any, Any]] = {}
"""This process's plans and prepared data, by run configuration: a worker loads each dataset once."""


def prepared(run: dict[str, Any]) -> tuple[Any, Any]:
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
                                              the_plan.run.weight_files())
            given = {f"{CHECKPOINTS}/{name}" for name in task.checkpoint}
            files = {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
                     if path.is_file() and path.relative_to(root).as_posix() not in given}
    finally:
        logging.getLogger("genbench").removeHandler(collect)
    return CellResult(task, records, timing, files, worker or worker_name(), collect.lines)
