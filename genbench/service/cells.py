"""One cell of a sweep as a unit of work that any process can run: a (model, dataset, seed) task in,
its records and files out.

A worker (a local process, a Ray task) runs a task by ``genbench.service.worker.run_task``: it plans the task's
run from its configuration, loads the data from its own data folder and prepares the metrics (once per dataset
and process), runs the cell into a scratch folder, and sends back the records, the timings, every file the cell
wrote and its log. This module holds only the plain data that travels. Only
the driver writes the run directory (``genbench.service.sweep``), so a worker needs no access to it: a cell
resumed from its checkpoint gets the checkpoint's files in the task.

Seeds and generators come from the cell's seed alone, so a cell's records do not depend on the worker
that ran it or on what it ran before; at the same thread count (torch's and numpy's BLAS, which
``--threads`` and every worker set) they are identical to a run in the driver's own process.
"""

from __future__ import annotations

import dataclasses
import os
import socket
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
