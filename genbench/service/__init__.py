"""The run service: what ``genbench run`` and ``genbench.run`` share. It turns a request (the run's flags)
into planned, prepared datasets, executes their cells, and hands back what was written; the CLI owns the
screen and the exit status, Python gets a ``Run``.

Its parts, one module each: the run's configuration (``run_config``), each model's plan (``model_plan``), a
cell as a unit of work (``cells``), the models of one dataset trained and measured (``runner``), a model's
metrics (``evaluation``), a sweep of cells (``sweep``) on an executor (``executors/``), ``genbench score``
(``scoring``), ``genbench stats`` (``reference_stats``), ``genbench check`` (``check``), and
``python -m genbench.service.ship_classifiers``."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genbench.errors import GenbenchError, UsageError
from genbench.service.executors.contract import AUTO
from genbench.service.request import RunRequest

if TYPE_CHECKING:
    import pandas as pd

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


def run(request: RunRequest) -> Finished:
    """Plan, prepare and execute a run (or finish one, ``resume``). Usage errors come before a run directory
    exists; a cell's failure is recorded, not raised."""
    prepared, root, executor = prepare(request)
    return execute(prepared, root, executor)


def prepare(request: RunRequest):
    """(plan, run directory, data) per dataset, the sweep's root (None for one dataset) and the executor
    (None: every cell in this process)."""
    from genbench.infra.rundir import RunDir, default_run_path
    from genbench.service import runner, sweep

    choice = executor_choice(request)
    if request.resume:
        if request.out is None:
            raise UsageError("--resume needs --out DIR, the run directory to finish")
        datasets = sweep.folders_of(request.out)
        paths = [request.out] if datasets is None else [path for _, path in datasets]
        if datasets is not None and request.dataset is not None and request.dataset != ",".join(d for d, _ in datasets):
            raise UsageError(f"--resume finishes the sweep in {request.out} over {','.join(d for d, _ in datasets)}; "
                             f"drop --dataset {request.dataset}")
        for path in paths:
            refuse_changed_flags(request, path, with_dataset=datasets is None)
        reopened = [runner.reopen(path, device=request.device, inception_weights=request.inception_weights,
                                  weights=request.weights)
                    for path in paths]
        executor = start_executor(request, choice, [plan for plan, _ in reopened])
        prepared = [(plan, rundir, runner.prepare(plan)) for plan, rundir in reopened]
        return prepared, request.out if datasets is not None else None, executor
    from genbench.service.run_config import RunConfig, check_names, from_flags

    runs = []
    for spec in sweep.dataset_list(request.dataset):
        config = from_flags(dataclasses.replace(request, dataset=spec and spec.label), RunConfig())
        check_names(config)
        runs.append(config)
    name = Path(runs[0].dataset.name).name if len(runs) == 1 else "sweep"
    out = request.out if request.out is not None else default_run_path(name)
    plans = [runner.plan(config) for config in runs]
    RunDir.refuse_existing(out)
    executor = start_executor(request, choice, plans)
    datas = [runner.prepare(plan) for plan in plans]
    plans = [with_budget_in_flops(plan, data, executor) for plan, data in zip(plans, datas)]
    if len(plans) == 1:
        return [(plans[0], runner.start(plans[0], out), datas[0])], None, executor
    return list(zip(plans, sweep.start(plans, out), datas)), out, executor


def refuse_changed_flags(request: RunRequest, path: Path, *, with_dataset: bool) -> None:
    """``UsageError`` when a setting of a resumed run differs from the run directory's configuration."""
    from genbench.infra.rundir import CONFIG
    from genbench.service.run_config import differences, from_flags, stored_run

    base = stored_run(path)
    asked = request if with_dataset else dataclasses.replace(request, dataset=None)
    differ = differences(from_flags(asked, base), base)
    if differ:
        raise UsageError(f"--resume finishes the run as {path / CONFIG} describes it; these flags differ "
                         f"from it: {'; '.join(differ)} (drop them, or start a new run with another --out)")


def executor_choice(request: RunRequest):
    """The executor's flags; ``--jobs auto`` is left open (None) until ``start_executor`` knows the cells."""
    from genbench.service.executors import ExecutorChoice

    return ExecutorChoice(request.executor, None if request.jobs == AUTO else request.jobs, request.devices,
                          request.ray_address, request.cell_cpus, request.cell_gpus, request.threads)


def start_executor(request: RunRequest, choice, plans: Sequence[Any]):
    """Build the executor (None: every cell in this process) and set this process's threads. The cores are
    read before ``threads`` applies: workers share them, and ``threads`` is then per worker. ``--jobs auto``
    becomes a count here (``executors.automatic_jobs``). The allocator keeps freed memory from here on
    (``infra.memory``)."""
    import torch

    from genbench.infra.memory import keep_freed_memory
    from genbench.infra.threads import configure_threads
    from genbench.service.executors import LOCAL, automatic_jobs, make_executor

    keep_freed_memory()
    cores = torch.get_num_threads()
    configure_threads(request.threads)
    if request.jobs == AUTO and choice.executor == LOCAL and choice.devices is None:
        choice = dataclasses.replace(choice, jobs=automatic_jobs(cells_worth_workers(plans), cores))
    return None if choice.in_process else make_executor(choice, cores)


def with_budget_in_flops(plan: Any, data: Any, executor: Any) -> Any:
    """``plan`` with a time budget converted to FLOPs on the threads each cell will train on (``calibration``)."""
    import torch

    from genbench.infra.devices import resolve_device
    from genbench.service.calibration import converted

    threads = getattr(executor, "threads", None) or torch.get_num_threads()
    return converted(plan, data, resolve_device(plan.run.device), threads)[0]


def cells_worth_workers(plans: Sequence[Any]) -> int:
    """The cells worth a worker process of their own (``--jobs auto``): models that train to a budget, on the
    CPU, for as long as the default or paper budget says (``Budget.worth_workers``). A smoke budget's cells,
    ``--epochs``', or a closed-form fit (naive Bayes, PCA) take seconds, no more than starting a worker costs
    (about 5 s: an interpreter, torch, the data)."""
    from genbench.budget import parse_budget
    from genbench.infra.devices import resolve_device

    return sum(len(plan.run.seeds) for plan in plans if parse_budget(plan.run.budget).worth_workers()
               and plan.run.epochs is None and resolve_device(plan.run.device).type == "cpu"
               for model in plan.models if model.checkpoints is None and model.trains_by_budget)


def say_if_busy() -> None:
    """Once the input is checked (so that a usage error stays one line) and before the long work: fit the
    threads to the load average, or, where the user fixed them, say that the machine is busy."""
    from genbench.infra.threads import fit_to_the_load

    fit_to_the_load(running=False)


def execute(prepared: Sequence[tuple], root: Path | None, executor, *, command: str = "run",
            extra_cells: tuple = ()) -> Finished:
    """Execute the cells of one or more prepared datasets with ``executor`` (None: in this process), with
    the log in the run directory's run.log; a sweep over several (``root``) also writes its own metrics.csv
    and report across datasets. ``extra_cells`` are columns beside the planned models (scored samples)."""
    from genbench.infra.rundir import RunDir
    from genbench.service import runner, sweep

    path = root if root is not None else prepared[0][1].path

    def work() -> list[RunOutcome]:
        try:
            runs = [runner.DatasetRun(plan, rundir, data, extra_cells) for plan, rundir, data in prepared]
            outcomes = sweep.execute(runs, executor)
            if root is not None:
                sweep.write_sweep(root, runs)
            return outcomes
        finally:  # the directories have no writer any more: a later process may resume them
            for rundir in [RunDir(root)] if root is not None else []:
                rundir.release()
            for _, rundir, _ in prepared:
                rundir.release()

    return Finished(path, logged(command, path, work, fit_threads=executor is None), several=root is not None)


def logged(command: str, path: Path, work: Callable[[], list[RunOutcome]], *,
           fit_threads: bool = True) -> list[RunOutcome]:
    """``work()`` with genbench's log also in ``path``/run.log; an interruption or a refused write becomes
    an error that says what is intact and how to finish. ``fit_threads``: this process computes the cells,
    so its threads are fitted to the load first (a pool's workers compute on the threads it gave them)."""
    from genbench.infra.rundir import LOG, METRICS

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


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished run directory as Python sees it: ``records`` (metrics.csv, one row per model, seed and
    measurement), ``table`` (the comparison table, one row per property and model with its mark, text,
    value and uncertainty; a sweep's has a ``dataset`` column) and ``report`` (report.html)."""

    path: Path
    records: pd.DataFrame
    table: pd.DataFrame
    report: Path

    @property
    def failed(self) -> list[str]:
        """The cells that failed, as "model seed s" (on a sweep: "... on dataset")."""
        frame = self.records
        where = frame.dataset if "dataset" in frame and self.is_sweep else None
        return sorted({f"{m} seed {s}" + (f" on {where.iloc[i]}" if where is not None else "")
                       for i, (m, s, st) in enumerate(zip(frame.model, frame.seed, frame.status)) if st == "failed"})

    @property
    def is_sweep(self) -> bool:
        from genbench.service import sweep

        return sweep.folders_of(self.path) is not None

    def __repr__(self) -> str:
        models = ", ".join(dict.fromkeys(self.records.model)) if len(self.records) else "nothing measured"
        return f"Run({str(self.path)!r}: {models})"


def open_run(path: str | Path) -> Run:
    """A finished run directory (or a sweep's root) read back: ``UsageError`` when it is not one."""
    import pandas as pd

    from genbench.infra.rundir import METRICS, RunDir
    from genbench.report import REPORT_HTML, TABLE_CSV
    from genbench.service import sweep

    path = Path(path)
    datasets = sweep.folders_of(path) if path.is_dir() else None
    rundir = RunDir.existing(path) if datasets is None else RunDir(path)
    if not rundir.file(METRICS).is_file():
        raise UsageError(f"{path} has no {METRICS}: it is not a finished genbench run")
    if datasets is None:
        table = read_table(rundir.file(TABLE_CSV))
    else:
        table = pd.concat([read_table(folder / TABLE_CSV).assign(dataset=name) for name, folder in datasets],
                          ignore_index=True)
    return Run(path, rundir.read_metrics(required=True), table, rundir.file(REPORT_HTML))


def read_table(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise UsageError(f"{path} is missing: rebuild the tables with genbench report {path.parent}")
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def as_specs(value: str | Sequence[Any] | None) -> str | None:
    """Python's lists (``["vae", "gan"]``, ``[0, 1]``) as the command line's comma-separated text."""
    if value is None or isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


def run_from_python(**settings: Any) -> Run:
    """``genbench.run``: the request from keyword arguments, executed, read back; its cells run in this process
    unless ``jobs`` says otherwise."""
    names = {f.name for f in dataclasses.fields(RunRequest)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise UsageError(f"genbench.run got unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
    for key in ("models", "dataset", "metrics", "seeds"):
        settings[key] = as_specs(settings.get(key))
    settings.setdefault("jobs", None)  # workers would import the caller's script again: only when asked
    for key in ("out", "reference", "checkpoints"):
        if settings.get(key) is not None:
            settings[key] = Path(settings[key]).expanduser()
    finished = run(RunRequest(**settings))
    return open_run(finished.path)
