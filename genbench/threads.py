"""How many threads torch computes with on the CPU, how its OpenMP threads wait, and whether the machine
is busy.

torch starts with one intra-op thread per core it may use: it respects ``OMP_NUM_THREADS`` and the
process's CPU affinity mask (``taskset``, a container's cpuset). ``--threads N`` sets the number for
one command. Beside other busy processes those threads oversubscribe the cores, and torch's kernels,
which wait for every thread at each step, then run many times slower (measured in
``tests/benchmarks/threads.py``); with fewer threads they do not. genbench says so from the load
average, at the start and, once, after any cell that ran on an oversubscribed machine.

genbench defends itself where the user has not chosen (``--threads``, ``OMP_*``/``GOMP_*`` variables win
and are recorded):

- **How idle OpenMP threads wait.** libgomp's threads spin for ``GOMP_SPINCOUNT`` iterations (300 000 by
  default) before they sleep. Beside busy processes a spinning thread burns the time slice that the
  thread everyone waits for needs. genbench sets a shorter spin (``OPENMP_DEFAULTS``) when it is imported
  before torch (libgomp reads the variable once, when torch loads it); the CLI, local workers and Ray
  cells always import it first.
- **How many threads.** At the start of a run and before every cell, the thread count is set to what
  the load average leaves free (``fitting_threads``), between 1 and the cores.

The thread count can move a trained model's last digits (sums are split differently), so figures
reproduce exactly between runs with the same thread count: pass ``--threads`` for that.
environment.json records the count and the OpenMP settings, and each cell's records carry their threads.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping

log = logging.getLogger(__name__)

SLACK = 0.9
"""Load beyond the cores, in runnable processes, that still counts as a quiet machine. One busy
process adds 1 to the load; less is the one-minute average's fading trace of work already done
(0.6 a minute after a pip install), which would slow nothing."""


OPENMP_DEFAULTS = {"GOMP_SPINCOUNT": "1000"}
"""What genbench sets where the user has not: measured in tests/benchmarks/threads.py."""

OPENMP_PREFIXES = ("OMP_", "GOMP_", "KMP_", "MKL_")

_at_import: dict[str, dict[str, str]] = {"from_user": {}, "set_by_genbench": {}}
_threads_by_user = False


def set_openmp_defaults(environ: MutableMapping[str, str] = os.environ,
                        torch_loaded: bool | None = None) -> dict[str, str]:
    """Set ``OPENMP_DEFAULTS`` in ``environ`` where the user has not set them, and only before torch (and
    with it libgomp) is loaded; return what was set. Remembers the user's own OpenMP variables."""
    torch_loaded = "torch" in sys.modules if torch_loaded is None else torch_loaded
    user = {k: v for k, v in environ.items() if k.startswith(OPENMP_PREFIXES)}
    chosen = {} if torch_loaded else {k: v for k, v in OPENMP_DEFAULTS.items() if k not in environ}
    environ.update(chosen)
    if environ is os.environ:
        _at_import["from_user"], _at_import["set_by_genbench"] = user, chosen
    return chosen


def openmp_settings() -> dict[str, dict[str, str]]:
    """The OpenMP variables in force: the user's, and those genbench set (environment.json)."""
    return {"from_user": dict(_at_import["from_user"]), "set_by_genbench": dict(_at_import["set_by_genbench"])}


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
    import torch

    before = torch.get_num_threads()
    after = fitting_threads(available_cores(), load_average(), before, running=running)
    if after == before:
        return None
    torch.set_num_threads(after)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=after, user_api="blas")
    return before, after


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

    global _threads_by_user
    if requested is not None:
        _threads_by_user = True
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
    fits = fitting_threads(cores, load, threads, running=running)
    advice = (f"pass --threads {fits} (or set OMP_NUM_THREADS={fits})" if fits < threads else
              "it already runs on one thread; timings (samples/s, examples/s) will read low")
    return (f"the machine is busy: load average {load:.1f} on {cores} core(s), and genbench computes on "
            f"{threads} thread(s); oversubscribed cores slow torch many times over, so {advice}")
