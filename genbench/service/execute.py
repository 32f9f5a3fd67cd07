"""The run service's third stage, execute: the prepared cells computed, each dataset's tables and report written.

Takes a ``Prepared``; gives a ``Finished``: the run directory (a sweep's root) and each dataset's outcome. The
cells run on the executor (or in this process), the log goes to the run directory's run.log as well, a cell's
failure is recorded, not raised, and Ctrl-C or a refused write becomes an error that says what is intact and how
to finish (``RunInterrupted``, ``RunStopped``); the run directories are released whatever happens."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from genbench.errors import GenbenchError
from genbench.infra.rundir import LOG, METRICS, RunDir
from genbench.infra.threads import fit_to_the_load
from genbench.service import runner, sweep
from genbench.service.cells import CellTask
from genbench.service.prepare import Prepared
from genbench.service.runner import RunOutcome

log = logging.getLogger("genbench")


class RunInterrupted(GenbenchError):
    """Ctrl-C during a run: what finished is in metrics.csv; the message says how to finish it."""


class RunStopped(GenbenchError):
    """The system refused a write or a read mid-run (a full disk): what finished is intact."""


@dataclasses.dataclass(frozen=True)
class Finished:
    """What a run wrote: its directory (a sweep's root when ``several``) and each dataset's outcome."""

    path: Path
    outcomes: list[RunOutcome]
    several: bool

    @property
    def failed_cells(self) -> list[str]:
        return [f"{cell} on {o.path.name}" if self.several else cell for o in self.outcomes for cell in o.failed_cells]


def execute(prepared: Prepared, *, command: str = "run", extra_cells: tuple[CellTask, ...] = ()) -> Finished:
    """Execute the cells of one or more prepared datasets, with the log in the run directory's run.log; a sweep
    over several (``prepared.root``) also writes its own metrics.csv and report across datasets. ``extra_cells``
    are columns beside the planned models (scored samples)."""
    root = prepared.root
    path = root if root is not None else prepared.datasets[0][1].path

    def work() -> list[RunOutcome]:
        try:
            runs = [runner.DatasetRun(plan, rundir, data, extra_cells) for plan, rundir, data in prepared.datasets]
            outcomes = sweep.execute(runs, prepared.executor)
            if root is not None:
                sweep.write_sweep(root, runs)
            return outcomes
        finally:  # the directories have no writer any more: a later process may resume them
            for rundir in [RunDir(root)] if root is not None else []:
                rundir.release()
            for _, rundir, _ in prepared.datasets:
                rundir.release()

    return Finished(path, logged(command, path, work, fit_threads=prepared.executor is None),
                    several=root is not None)


def logged(command: str, path: Path, work: Callable[[], list[RunOutcome]], *,
           fit_threads: bool = True) -> list[RunOutcome]:
    """``work()`` with genbench's log also in ``path``/run.log; an interruption or a refused write becomes
    an error that says what is intact and how to finish. ``fit_threads``: this process computes the cells,
    so its threads are fitted to the load first (a pool's workers compute on the threads it gave them)."""
    if fit_threads:
        say_if_busy()
    file_handler = logging.FileHandler(path / LOG, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(file_handler)
    log.info("run directory: %s", path)
    try:
        return work()
    except KeyboardInterrupt:
        finished = f"finished cells are in {METRICS}" if any(path.rglob(METRICS)) else "no cell had finished"
        raise RunInterrupted(f"interrupted; {finished}; finish with: genbench run --resume --out {path}") from None
    except OSError as error:  # every file is written atomically: what finished is intact
        if isinstance(error, BrokenPipeError):
            raise
        raise RunStopped(f"stopped: {os_error_text(error)}; the cells in {METRICS} are intact; when it is fixed, "
                         f"finish with: genbench run --resume --out {path}") from None
    finally:
        log.removeHandler(file_handler)
        file_handler.close()


def os_error_text(error: OSError) -> str:
    where = f" {error.filename}" if error.filename else ""
    return f"cannot write or read{where}: {error.strerror or error}"


def say_if_busy() -> None:
    """Once the input is checked (so that a usage error stays one line) and before the long work: fit the
    threads to the load average, or, where the user fixed them, say that the machine is busy."""
    fit_to_the_load(running=False)
