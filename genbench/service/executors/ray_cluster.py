"""``--executor ray``: each cell a Ray task, on a cluster (``--ray-address``) or a Ray started here.

Each task asks for ``cpus`` CPUs and ``gpus`` GPUs and computes on that many torch threads; Ray
assigns its GPU (CUDA_VISIBLE_DEVICES). Workers plan the cell's run and load its dataset from their
own data folder (``--data-dir`` as the driver was given it), so every node needs genbench, the
user's model packages and the data. Results come back to the driver through the object store as each
cell finishes; only the driver writes the run directory. A task is never retried by Ray: a worker or
node that dies makes its cell lost with Ray's reason, and ``--resume`` runs it again.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from genbench.errors import UsageError
from genbench.infra.memory import keep_freed_memory
from genbench.infra.threads import configure_threads
from genbench.service.cells import CellLost, CellResult, CellTask, worker_name

if TYPE_CHECKING:
    from genbench.service.executors.contract import ExecutorChoice

INSTALL = 'pip install "genbench[ray]"'
CONNECT_TIMEOUT = 10.0
"""Seconds to reach a cluster's address before giving up with an error that names it."""
DEFAULT_PORT = {"ray": 10001, "": 6379}
"""Ray's ports: the client server (ray://HOST) and the GCS (HOST, as ``ray start --head`` prints)."""


def import_ray() -> Any:
    try:
        import ray  # defers Ray (an extra)
    except ImportError:
        raise UsageError(f"--executor ray needs Ray, which is not installed; install it with: {INSTALL}") from None
    return ray


def host_and_port(address: str) -> tuple[str, int]:
    scheme, _, rest = address.rpartition("://")
    host, _, port = rest.partition(":")
    if not host:
        raise UsageError(f"--ray-address {address!r} names no host; write HOST:PORT or ray://HOST:PORT")
    try:
        return host, int(port) if port else DEFAULT_PORT.get(scheme, DEFAULT_PORT[""])
    except ValueError:
        raise UsageError(f"--ray-address {address!r}: the port must be a number") from None


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """``UsageError`` naming ``address`` when nothing answers there within ``timeout`` seconds (Ray itself
    would retry for minutes)."""
    if address == "auto":
        return
    host, port = host_and_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        raise UsageError(f"cannot reach the Ray cluster at {address} ({host}:{port}: {error.strerror or error}) "
                         f"within {timeout:g} s; is `ray start --head` running there?") from None


def run_in_ray(task: CellTask, threads: int, device: str | None) -> CellResult:
    """A Ray task's body: one cell on ``threads`` torch threads, in the worker Ray chose."""
    import ray  # defers Ray (an extra)

    from genbench.infra import progress  # defers tqdm
    from genbench.service.worker import run_task  # defers torch

    keep_freed_memory()
    configure_threads(threads)
    progress.set_enabled(False)
    logging.getLogger("genbench").setLevel(logging.INFO)
    node = ray.get_runtime_context().get_node_id()[:8]
    return run_task(task, device, f"Ray node {node}, {worker_name()}")


class RayCluster:
    """Each cell a Ray task, on a cluster (--ray-address) or on a Ray started here for the sweep.

    ``address`` None starts a local Ray (``cores`` CPUs) for the sweep."""

    def __init__(self, address: str | None, cpus: int, gpus: float, cores: int):
        self.address, self.cpus, self.gpus, self.cores = address, cpus, gpus, cores
        self.ray = import_ray()
        if address is not None:
            check_reachable(address)

    @classmethod
    def from_choice(cls, choice: ExecutorChoice, cores: int) -> RayCluster:
        """``--ray-address``, with ``--cell-cpus`` and ``--cell-gpus`` per cell; ``cores`` for a Ray started here."""
        return cls(choice.ray_address, choice.cell_cpus, choice.cell_gpus, cores)

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else f"a local Ray ({self.cores} CPUs)"
        gpus = f", {self.gpus:g} GPU(s)" if self.gpus else ""
        return f"Ray tasks on {where}, {self.cpus} CPU(s){gpus} per cell"

    def run(self, tasks: list[CellTask], started: Callable[[CellTask, str], None]) -> Iterator[CellResult | CellLost]:
        ray = self.ray
        started_here = not ray.is_initialized()
        if started_here:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            if self.address is None:
                ray.init(num_cpus=self.cores, **options)
            else:
                ray.init(address=self.address, **options)
        try:
            remote = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)(run_in_ray)
            device = "cuda" if self.gpus else None
            pending = {}
            for task in tasks:
                pending[remote.remote(task, self.cpus, device)] = task
                started(task, "Ray")
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done[0])
                yield self._outcome(done[0], task)
        finally:
            if started_here:
                ray.shutdown()

    def _outcome(self, ref: Any, task: CellTask) -> CellResult | CellLost:
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exceptions.RayTaskError as error:  # the cell's code raised before it could record a failure
            cause = error.cause if getattr(error, "cause", None) is not None else error
            return CellLost(task, f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1]}", "Ray")
        except exceptions.RayError as error:  # a worker or node died, the task was cancelled
            return CellLost(task, f"the Ray worker was lost ({type(error).__name__}: "
                                  f"{str(error).strip().splitlines()[0]})", "Ray")
