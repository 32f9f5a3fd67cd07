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

import logging

from genbench.catalog import EXECUTORS
from genbench.errors import UsageError
from genbench.infra.threads import threads_chosen_by_user
from genbench.service.executors.contract import AUTO, LOCAL, RAY, Executor, ExecutorChoice

__all__ = ["AUTO", "LOCAL", "RAY", "Executor", "ExecutorChoice", "automatic_jobs", "make_executor",
           "threads_per_worker"]

log = logging.getLogger(__name__)

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
    return 1 if threads_chosen_by_user() else max(1, min(cells, cores))


def cuda_devices(text: str) -> list[str]:
    """``--devices``: ``auto`` (every visible CUDA device) or ``cuda:0,cuda:1``."""
    import torch  # defers torch

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
    return EXECUTORS.get(choice.executor).from_choice(choice, cores)
