"""Turns at the whole machine for timed work, among the worker processes of one pool (``--jobs N``).

Workers that share the cores each train on one thread. A figure timed beside them (samples/s, examples/s)
would read what was left of the machine, and would depend on what the other workers happened to run. So a
worker times alone: before a timed metric it waits until every other worker has paused, computes on a
thread per core (``alone``; fewer where other processes keep cores busy), then lets them go on. The others
pause at their next safe point (``give_way``): after an optimiser step and between two metrics.

The turns are a reader-writer lock on two files, with the writer first (``flock``, so the kernel releases a
dead worker's locks):

- ``room``: held shared by every worker while it runs a cell (``working``), exclusively by the one timing;
- ``gate``: taken exclusively by a worker that wants the room to itself, before it waits for the room. A
  worker at a safe point lets go of the room and passes the gate (shared) before it takes the room again,
  so it waits while anyone wants to time, and a timing worker never waits behind a stream of others.

In a process that joined no pool (every run in one process, a Ray task) each call does nothing; so does
joining where there is no ``flock`` (Windows).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

ROOM, GATE = "room", "gate"


class Turns:
    """This process's place in a pool's turns: the two lock files in ``folder``, and ``threads()``, the torch
    threads it times with (``threads.Timing.threads_now``)."""

    def __init__(self, folder: Path, threads: Callable[[], int]):
        self.room: IO[bytes] = open(Path(folder) / ROOM, "ab")  # noqa: SIM115 - held for the process's life
        self.gate: IO[bytes] = open(Path(folder) / GATE, "ab")  # noqa: SIM115
        self.threads = threads
        self.inside = False
        self.timing = False

    def enter(self) -> None:
        """Wait for anyone timing, or waiting to, then take the room with the other workers."""
        fcntl.flock(self.gate, fcntl.LOCK_SH)
        fcntl.flock(self.gate, fcntl.LOCK_UN)
        fcntl.flock(self.room, fcntl.LOCK_SH)
        self.inside = True

    def leave(self) -> None:
        fcntl.flock(self.room, fcntl.LOCK_UN)
        self.inside = False

    def give_way(self) -> float:
        """Let a worker that waits to time go first: the seconds this one paused."""
        if not self.inside or self.timing:
            return 0.0
        started = time.perf_counter()
        self.leave()
        self.enter()
        return time.perf_counter() - started

    @contextlib.contextmanager
    def alone(self) -> Iterator[Wait]:
        """The room to this process alone, computing on ``threads()`` threads, then back to sharing it; yields how
        long it waited for the others to pause."""
        import torch  # defers torch
        from threadpoolctl import threadpool_limits  # defers threadpoolctl

        if self.timing or not self.inside:
            yield Wait(0.0)
            return
        started = time.perf_counter()
        self.leave()
        fcntl.flock(self.gate, fcntl.LOCK_EX)
        fcntl.flock(self.room, fcntl.LOCK_EX)
        fcntl.flock(self.gate, fcntl.LOCK_UN)
        self.inside = self.timing = True
        waited = Wait(time.perf_counter() - started)
        shared, threads = torch.get_num_threads(), self.threads()
        torch.set_num_threads(threads)
        try:
            with threadpool_limits(limits=threads, user_api="blas"):
                yield waited
        finally:
            torch.set_num_threads(shared)
            self.timing = False
            fcntl.flock(self.room, fcntl.LOCK_SH)


@dataclasses.dataclass(frozen=True)
class Wait:
    """How long a worker waited for the machine to itself."""

    seconds: float


_turns: Turns | None = None


def join(folder: Path, threads: Callable[[], int]) -> None:
    """Make this process (a pool's worker) take turns with the others that joined ``folder``, timing on
    ``threads()`` threads."""
    global _turns
    _turns = Turns(folder, threads) if fcntl is not None else None


@contextlib.contextmanager
def working() -> Iterator[None]:
    """Around a cell: this worker computes beside the others (and pauses when one times)."""
    if _turns is None:
        yield
        return
    _turns.enter()
    try:
        yield
    finally:
        _turns.leave()


def give_way() -> float:
    """At a safe point of long work (after an optimiser step, between metrics): pause while another worker times;
    the seconds paused."""
    return _turns.give_way() if _turns is not None else 0.0


def alone() -> contextlib.AbstractContextManager[Wait]:
    """Around timed work: the machine to this worker, on the threads it joined with (every core on a quiet
    machine), once the others have paused; yields how long that took (``Wait``)."""
    return _turns.alone() if _turns is not None else contextlib.nullcontext(Wait(0.0))
