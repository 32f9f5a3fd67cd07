"""``--jobs N``: N worker processes on this machine, each running one cell at a time.

Workers are started with ``spawn`` (a fresh interpreter: no torch state or threads inherited through
``fork``) and live for the whole sweep, so torch is imported and each dataset loaded once per worker.
Each worker computes on its share of the cores (``threads``) or on its own GPU (``device``). A worker
that dies (killed, out of memory) loses only its cell, which is reported lost with the signal or exit
code; a new worker takes its place. Workers die with the driver (Linux's parent-death signal), so a
killed sweep leaves no orphan computing. Workers on the CPU take turns for timed work (``infra.turns``): one
times, on the threads its ``Timing`` says, while the others pause.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import logging
import multiprocessing
import signal
import tempfile
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genbench.errors import UsageError
from genbench.infra.memory import keep_freed_memory
from genbench.infra.threads import Timing, configure_threads
from genbench.service.cells import CellLost, CellResult, CellTask, worker_name
from genbench.service.executors import cuda_devices, threads_per_worker

if TYPE_CHECKING:
    from genbench.service.executors.contract import ExecutorChoice


@dataclasses.dataclass
class Worker:
    number: int
    process: Any
    connection: Connection
    device: str | None
    task: CellTask | None = None

    @property
    def name(self) -> str:
        return f"worker {self.number} (pid {self.process.pid})"


class LocalPool:
    """Worker processes on this machine (--jobs, or one per GPU with --devices), each running one cell at a time.

    ``jobs`` worker processes; ``threads`` torch threads each; ``devices`` one per worker (or None);
    ``timing``: how a worker on the CPU times, alone (default: on the threads the load leaves free of all the
    workers' cores)."""

    def __init__(self, jobs: int, threads: int, devices: list[str] | None = None, timing: Timing | None = None):
        self.jobs, self.threads = jobs, threads
        self.devices = devices or [None] * jobs
        self.timing = timing or Timing(cores=jobs * threads, pool_threads=jobs * threads)
        self.context = multiprocessing.get_context("spawn")
        self._started = 0

    @classmethod
    def from_choice(cls, choice: ExecutorChoice, cores: int) -> LocalPool:
        """``--jobs`` workers sharing the ``cores``, or one worker per GPU of ``--devices``."""
        if choice.devices is not None:
            if choice.jobs is not None:
                raise UsageError(f"--devices starts one worker per device; drop --jobs {choice.jobs}")
            devices = cuda_devices(choice.devices)
            return cls(len(devices), choice.threads or 1, devices)
        jobs = choice.jobs or 1
        threads = threads_per_worker(jobs, cores, choice.threads)
        return cls(jobs, threads, timing=Timing(cores, jobs * threads, choice.threads))

    def describe(self) -> str:
        where = (f" on {', '.join(str(d) for d in self.devices)}" if any(self.devices) else
                 f", {self.threads} torch thread(s) each")
        return f"{self.jobs} local worker process(es){where}"

    def _start(self, device: str | None, turns: str) -> Worker:
        self._started += 1
        ours, theirs = self.context.Pipe()
        timing = (turns, self.timing) if device is None else None
        process = self.context.Process(target=worker_main, args=(theirs, self.threads, device, self._started, timing),
                                       name=f"genbench-worker-{self._started}", daemon=True)
        process.start()
        theirs.close()
        return Worker(self._started, process, ours, device)

    def run(self, tasks: list[CellTask], started: Callable[[CellTask, str], None]) -> Iterator[CellResult | CellLost]:
        """Yield each task's outcome as it finishes; ``started(task, worker)`` as each begins."""
        queue = collections.deque(tasks)
        with tempfile.TemporaryDirectory(prefix="genbench-turns-") as turns:
            yield from self._run(queue, started, turns)

    def _run(self, queue: collections.deque[CellTask], started: Callable[[CellTask, str], None],
             turns: str) -> Iterator[CellResult | CellLost]:
        workers = [self._start(device, turns) for device in self.devices[:max(1, min(self.jobs, len(queue)))]]
        try:
            while queue or any(w.task is not None for w in workers):
                for worker in workers:
                    if worker.task is None and queue:
                        worker.task = queue.popleft()
                        worker.connection.send(worker.task)
                        started(worker.task, worker.name)
                busy = [w for w in workers if w.task is not None]
                ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
                for worker in busy:
                    outcome = self._collect(worker, ready)
                    if outcome is None:
                        continue
                    yield outcome
                    worker.task = None
                    if isinstance(outcome, CellLost):
                        workers[workers.index(worker)] = self._start(worker.device, turns)
        finally:
            for worker in workers:
                stop(worker)

    def _collect(self, worker: Worker, ready: list[Any]) -> CellResult | CellLost | None:
        """The worker's outcome if it has one (a result, or its death), else None."""
        if worker.connection in ready:
            try:
                return worker.connection.recv()
            except (EOFError, OSError):
                pass
        elif worker.process.sentinel not in ready:
            return None
        worker.process.join(timeout=5)
        return CellLost(worker.task, f"the worker process died ({exit_reason(worker.process.exitcode)})", worker.name)


def exit_reason(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def stop(worker: Worker) -> None:
    try:
        worker.connection.send(None)
    except (OSError, ValueError):
        pass
    worker.process.join(timeout=2 if worker.task is None else 0)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(timeout=5)
    worker.connection.close()


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere nothing."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def worker_main(connection: Connection, threads: int, device: str | None, number: int,
                timing: tuple[str, Timing] | None = None) -> None:
    """A worker's life: set its threads (and join the pool's turns at timing: ``(folder, Timing)``), then run
    the tasks it receives until told to stop (None)."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    from genbench.infra import progress, turns  # defers tqdm
    from genbench.service.worker import run_task  # defers torch

    keep_freed_memory()
    configure_threads(threads)
    if timing is not None:
        turns.join(Path(timing[0]), timing[1].threads_now)
    progress.set_enabled(False)
    logging.getLogger("genbench").setLevel(logging.INFO)
    logging.getLogger("genbench").propagate = False
    name = f"worker {number} ({worker_name()})"
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            with turns.working():
                outcome: CellResult | CellLost = run_task(task, device, name)
        except Exception as error:  # noqa: BLE001 - a task that cannot start is its cell's failure, not the pool's
            outcome = CellLost(task, f"{type(error).__name__}: {error}", name)
        connection.send(outcome)
