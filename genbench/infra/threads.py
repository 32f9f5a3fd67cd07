"""How many threads torch computes with on the CPU, how its OpenMP threads wait, and whether the machine
is busy.

torch starts with one intra-op thread per core it may use: it respects ``OMP_NUM_THREADS`` and the
process's CPU affinity mask (``taskset``, a container's cpuset). ``--threads N`` sets the number for
one command. Beside other busy processes those threads oversubscribe the cores, and torch's kernels,
which wait for every thread at each step, then run many times slower (measured in
``tests/benchmarks/threads.py``); with fewer threads they do not. genbench says so from the load
average, at the start and, once, after any cell that ran on an oversubscribed machine.

genbench fits the thread count to the load where the user has not chosen it (``--threads`` and
``OMP_NUM_THREADS`` win; every ``OMP_*``/``GOMP_*`` variable is recorded): at the start of a run, before every
cell and, within a cell's training, every ``LOOK_EVERY`` seconds, it sets what the load average leaves free
(``fitting_threads``), between 1 and the cores. Busy processes that start while a model trains then slow
it for about half a minute (the one-minute load average's lag), not to its end.

The default run on the CPU trains its cells in single-threaded worker processes instead (``--jobs auto``,
``service.executors.automatic_jobs``): a single thread waits for no other, so it needs none of this, and
the workers time alone, on the threads the load leaves (``genbench.infra.turns``).

It leaves libgomp's waiting alone. A shorter spin (``GOMP_SPINCOUNT``) helps beside busy processes, but
quiet training of small networks, whose kernels are microseconds apart, pays for it: an autoencoder's fit
on digits took 30.0 s at libgomp's default, 34 s at a spin of 10 000 and 45 s at 1 000 (median of 3,
side by side, 2026-12-02); with the threads fitted to the load, one thread waits for nobody.

The thread count can move a trained model's last digits (sums are split differently), so figures
reproduce exactly between runs with the same thread count: pass ``--threads`` for that.
environment.json records the count and the OpenMP settings, and each cell's records carry their threads.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Mapping

from genbench.infra import turns

log = logging.getLogger(__name__)

SLACK = 0.9
"""Load beyond the cores, in runnable processes, that still counts as a quiet machine. One busy
process adds 1 to the load; less is the one-minute average's fading trace of work already done
(0.6 a minute after a pip install), which would slow nothing."""


OPENMP_PREFIXES = ("OMP_", "GOMP_", "KMP_", "MKL_")

LOOK_EVERY = 10.0
"""Seconds between two looks at the load average within a cell's training (``keep_fitting``)."""

_threads_by_user = False
_last_look = -math.inf


def openmp_settings(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The OpenMP and MKL variables in force (environment.json): the user's, and those a library sets as it is
    imported (scikit-learn's ``KMP_DUPLICATE_LIB_OK`` and ``KMP_INIT_AT_FORK``); genbench sets none."""
    return {k: v for k, v in sorted(environ.items()) if k.startswith(OPENMP_PREFIXES)}


def threads_chosen_by_user(environ: Mapping[str, str] = os.environ) -> bool:
    """True when ``--threads`` or ``OMP_NUM_THREADS`` fixed the thread count: genbench then never adapts it."""
    return _threads_by_user or "OMP_NUM_THREADS" in environ


def fitting_threads(cores: int, load: float | None, threads: int, *, running: bool) -> int:
    """The threads that fit beside the load: the cores minus what others use (the load, less this process's
    own ``threads`` while ``running``), between 1 and ``cores``. No load average: the cores."""
    if load is None:
        return cores
    others = max(0.0, load - (threads if running else 0))
    return max(1, min(cores, int(cores + SLACK - others)))


def adapt_threads(*, running: bool) -> tuple[int, int] | None:
    """Set torch's threads to what fits beside the load, unless the user chose them; (before, after) when
    the count changed, else None."""
    if threads_chosen_by_user():
        return None
    import torch  # defers torch

    before = torch.get_num_threads()
    after = fitting_threads(available_cores(), load_average(), before, running=running)
    if after == before:
        return None
    torch.set_num_threads(after)
    from threadpoolctl import threadpool_limits  # defers threadpoolctl

    threadpool_limits(limits=after, user_api="blas")
    return before, after


def fit_to_the_load(*, running: bool, warned: bool = False) -> bool:
    """Fit the threads to the load (``adapt_threads``), saying so; where the user fixed them, warn that the
    machine is busy unless ``warned`` already. ``running``: this process's threads are in the load (between
    and within cells). Returns whether the warning has been given."""
    import torch  # defers torch

    changed = adapt_threads(running=running)
    if changed is not None:
        log.info("the load average is %.1f on %d core(s): computing on %d thread(s) from here, not %d "
                 "(--threads N fixes the count)", load_average() or 0.0, available_cores(), changed[1], changed[0])
        return warned
    busy = None if warned else busy_machine(torch.get_num_threads(), running=running)
    if busy:
        log.warning("%s", busy)
    return warned or busy is not None


def keep_fitting(now: float | None = None) -> None:
    """Within a long loop (an epoch of training): pause while another worker of the pool times
    (``turns.give_way``), and at most every ``LOOK_EVERY`` seconds fit the threads to the load, saying so
    (never a warning: that was given before the cell)."""
    global _last_look
    turns.give_way()
    now = time.monotonic() if now is None else now
    if now - _last_look >= LOOK_EVERY:
        _last_look = now
        fit_to_the_load(running=True, warned=True)


@dataclasses.dataclass(frozen=True)
class Timing:
    """How a pool's worker times, alone (``genbench.infra.turns``): on ``threads`` torch threads (the user's
    ``--threads``), or, where None, on those the load leaves free of the ``cores`` once the pool's own
    ``pool_threads`` are counted out (every core on a quiet machine: the other workers are paused)."""

    cores: int
    pool_threads: int
    threads: int | None = None

    def threads_now(self) -> int:
        if self.threads is not None:
            return self.threads
        return fitting_threads(self.cores, load_average(), self.pool_threads, running=True)


def available_cores() -> int:
    """The cores this process may run on (its affinity mask; all of them where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def configure_threads(requested: int | None) -> int:
    """Set torch's intra-op threads, and those of the BLAS numpy calls (KID's kernels), to ``requested``
    (None: leave each library's choice); return torch's number. Both matter for exact reproduction: a
    float32 matrix product's last digits depend on how it is split among threads."""
    import torch  # defers torch

    global _threads_by_user
    if requested is not None:
        _threads_by_user = True
        torch.set_num_threads(requested)
        from threadpoolctl import threadpool_limits  # defers threadpoolctl

        threadpool_limits(limits=requested, user_api="blas")
    return torch.get_num_threads()


def busy_machine(threads: int, load: float | None = None, cores: int | None = None, *,
                 running: bool = False) -> str | None:
    """A sentence when the load average says the cores are oversubscribed: before genbench computes,
    when ``threads`` more would oversubscribe them; while it runs (``running``: its own threads are in
    the load already), when the load exceeds the cores."""
    load = load_average() if load is None else load
    cores = available_cores() if cores is None else cores
    if load is None or load + (0 if running else threads) <= cores + SLACK:
        return None
    fits = fitting_threads(cores, load, threads, running=running)
    advice = (f"pass --threads {fits} (or set OMP_NUM_THREADS={fits})" if fits < threads else
              "it already runs on one thread; timings (samples/s, examples/s) will read low")
    return (f"the machine is busy: load average {load:.1f} on {cores} core(s), and genbench computes on "
            f"{threads} thread(s); oversubscribed cores slow torch many times over, so {advice}")
