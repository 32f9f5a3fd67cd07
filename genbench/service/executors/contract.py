"""The executors' contract: what the command line chooses (``ExecutorChoice``) and what an executor does with a
sweep's cells (``Executor``), apart from the executors themselves so that the registry of executors
(``genbench.catalog.EXECUTORS``) can name it without importing them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from genbench.errors import UsageError
from genbench.service.cells import CellLost, CellResult, CellTask

LOCAL, RAY = "local", "ray"
AUTO = "auto"
"""``--jobs auto``: the count ``automatic_jobs`` chooses."""


@runtime_checkable
class Executor(Protocol):
    """What runs a sweep's cells; a class with these methods can be registered in ``catalog.EXECUTORS``."""

    @classmethod
    def from_choice(cls, choice: ExecutorChoice, cores: int) -> Executor: ...

    def describe(self) -> str: ...

    def run(self, tasks: list[CellTask],
            started: Callable[[CellTask, str], None]) -> Iterator[CellResult | CellLost]: ...


@dataclasses.dataclass(frozen=True)
class ExecutorChoice:
    """The command line's choice: ``--executor``, ``--jobs``, ``--devices``, ``--ray-address``,
    ``--cell-cpus``, ``--cell-gpus`` and ``--threads``."""

    executor: str = LOCAL
    jobs: int | None = None
    devices: str | None = None
    ray_address: str | None = None
    cell_cpus: int = 1
    cell_gpus: float = 0.0
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.executor == RAY and (self.jobs is not None or self.devices is not None):
            raise UsageError("--jobs and --devices choose local workers; with --executor ray each cell is a Ray "
                             "task (set its resources with --cell-cpus and --cell-gpus)")
        if self.executor != RAY and (self.ray_address is not None or self.cell_cpus != 1 or self.cell_gpus != 0):
            raise UsageError("--ray-address, --cell-cpus and --cell-gpus are for Ray tasks; they need --executor ray")
        if self.cell_gpus < 0:
            raise UsageError(f"--cell-gpus must be 0 or more, got {self.cell_gpus:g}")

    @property
    def in_process(self) -> bool:
        """True for today's behaviour: every cell in this process, one after another."""
        return self.executor == LOCAL and (self.jobs or 1) == 1 and self.devices is None
