"""Where a sweep's cells run: this process (``--jobs 1``, the default), local worker processes
(``--jobs N``, ``genbench.service.executors.local``) or Ray tasks (``--executor ray``,
``genbench.service.executors.ray_cluster``).

An executor takes the cells' tasks (``genbench.service.cells.CellTask``) and yields each one's outcome as it
finishes (a ``CellResult``, or a ``CellLost`` when its worker died); ``genbench.service.sweep`` writes them.
Executors are registered by name in ``genbench.catalog.EXECUTORS`` (the choices of ``--executor``) and
share this interface (``Executor``):

    from_choice(choice, cores) -> Executor                      (a class method: the command line's choice)
    describe() -> str
    run(tasks, started) -> Iterator[CellResult | CellLost]     (started(task, worker) as each begins)

Workers share the cores: torch waits for all its threads at every kernel, so N workers of T threads
on fewer than N·T cores run many times slower (three runs of two threads on two cores, each about
20× slower here). ``threads_per_worker`` divides the cores.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from genbench.errors import UsageError
from genbench.service.cells import CellLost, CellResult, CellTask

log = logging.getLogger(__name__)

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


def threads_per_worker(jobs: int, cores: int, requested: int | None = None) -> int:
    """Torch threads for each of ``jobs`` workers on ``cores`` cores: ``requested`` (``--threads``), else an
    equal share, at least one; a warning when jobs × threads oversubscribes the cores."""
    threads = requested if requested is not None else max(1, cores // jobs)
    if jobs * threads > cores:
        log.warning("%d workers × %d thread(s) oversubscribe the %d core(s) torch may use; each will run many "
                    "times slower (use --jobs %d, or fewer --threads)", jobs, threads, cores, max(1, cores))
    return threads


def automatic_jobs(cells: int, cores: int) -> int:
    """``--jobs auto``'s count for ``cells`` cells worth spreading (see ``service.cells_worth_workers``) on
    ``cores`` cores: one single-threaded worker per core, at most one per cell; 1 (every cell in this process)
    where ``--threads`` or ``OMP_NUM_THREADS`` fixed the threads.

    A cell's small networks keep two threads of one process half idle (each kernel is microseconds, and the
    threads meet at every one), so single-threaded workers get through the default run sooner
    (``docs/benchmarks.md``). They need no free core: a single thread waits for no other, so beside busy
    processes each worker runs at its share of the machine, without the oversubscribed threads' slowdown
    (``genbench.infra.threads``); their timed metrics take the threads the load leaves (``infra.turns``)."""
    from genbench.infra.threads import threads_chosen_by_user

    return 1 if threads_chosen_by_user() else max(1, min(cells, cores))


def cuda_devices(text: str) -> list[str]:
    """``--devices``: ``auto`` (every visible CUDA device) or ``cuda:0,cuda:1``."""
    import torch

    if text == "auto":
        count = torch.cuda.device_count()
        if count == 0:
            raise UsageError("--devices auto found no CUDA device; drop --devices to run on the CPU")
        return [f"cuda:{i}" for i in range(count)]
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices or len(set(devices)) != len(devices) or not all(
            d.startswith("cuda:") and d[5:].isdigit() for d in devices):
        raise UsageError(f"--devices takes distinct devices separated by commas (cuda:0,cuda:1) or auto; got {text!r}")
    count = torch.cuda.device_count()
    missing = next((d for d in devices if int(d[5:]) >= count), None)
    if missing is not None:
        raise UsageError(f"--devices {missing}: this machine has {count} CUDA device(s); drop --devices to run on "
                         "the CPU" if count == 0 else f"--devices {missing}: this machine has {count} CUDA device(s)")
    return devices


def make_executor(choice: ExecutorChoice, cores: int) -> Executor:
    """The executor the command line chose; ``cores``: the torch threads this process may use."""
    from genbench.catalog import EXECUTORS

    return EXECUTORS.get(choice.executor).from_choice(choice, cores)
