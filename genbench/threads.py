"""How many threads torch computes with on the CPU, and whether the machine is busy.

torch starts with one intra-op thread per core it may use: it respects ``OMP_NUM_THREADS`` and the
process's CPU affinity mask (``taskset``, a container's cpuset). ``--threads N`` sets the number for
one command. Beside other busy processes those threads oversubscribe the cores, and torch's kernels,
which wait for every thread at each step, then run many times slower (measured in
``tests/benchmarks/threads.py``); with fewer threads they do not. genbench says so from the load
average, at the start and, once, after any cell that ran on an oversubscribed machine.

The thread count can move a trained model's last digits (sums are split differently), so figures
reproduce exactly between runs with the same thread count; environment.json records it.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

SLACK = 0.9
"""Load beyond the cores, in runnable processes, that still counts as a quiet machine. One busy
process adds 1 to the load; less is the one-minute average's fading trace of work already done
(0.6 a minute after a pip install), which would slow nothing."""


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
    import torch

    if requested is not None:
        torch.set_num_threads(requested)
        from threadpoolctl import threadpool_limits

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
    fits = max(1, int(cores + SLACK - load + (threads if running else 0)))
    advice = (f"pass --threads {fits} (or set OMP_NUM_THREADS={fits})" if fits < threads else
              "it already runs on one thread; timings (samples/s, examples/s) will read low")
    return (f"the machine is busy: load average {load:.1f} on {cores} core(s), and genbench computes on "
            f"{threads} thread(s); oversubscribed cores slow torch many times over, so {advice}")
