"""A sweep: models × datasets × seeds, its (model, dataset, seed) cells run by an executor, written by
this process alone.

One dataset keeps a run's usual layout (OUT is its run directory). Several (``--dataset a,b``) share
one folder:

    OUT/sweep.json      the datasets, in order, and their folders
    OUT/<dataset>/      each dataset's run directory, as ``genbench run --dataset <dataset>`` writes it
    OUT/metrics.csv     every dataset's records (written at the end; each dataset's own metrics.csv is
                        written as each of its cells finishes, and is what ``--resume`` reads)
    OUT/table.md, table.html, report.html    the lecture's table read across the datasets
    OUT/run.log

Whatever the executor, the driver writes each cell's records and files atomically as it comes back, so
``--resume`` and failure isolation work as in one process: a cell whose worker died is recorded as
failed with the reason (``records.LOST``) and run again by ``--resume``; nothing finished is redone.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pandas as pd
from tqdm.contrib.logging import logging_redirect_tqdm

from genbench.checkpoint import checkpoint_paths
from genbench.errors import UsageError
from genbench.infra import progress
from genbench.infra.atomic import write_bytes
from genbench.infra.rundir import CHECKPOINTS, METRICS, RunDir, safe_name
from genbench.records import normalise
from genbench.report.sweep import write_sweep_report
from genbench.service import runner
from genbench.service.cells import CellResult, CellTask
from genbench.service.executors import Executor
from genbench.specs import Spec, parse_dataset_spec

log = logging.getLogger(__name__)

SWEEP = "sweep.json"


def dataset_list(text: str | None) -> list[Spec | None]:
    """``--dataset a,b:key=v,PATH``: one spec per comma-separated part (None: the default dataset)."""
    if text is None:
        return [None]
    specs = [parse_dataset_spec(part) for part in text.split(",")]
    labels = [s.label for s in specs]
    twice = next((label for label in labels if labels.count(label) > 1), None)
    if twice is not None:
        raise UsageError(f"dataset {twice!r} is listed twice in --dataset")
    return specs


def dataset_folders(labels: list[str]) -> list[str]:
    """Each dataset's folder in a sweep: its label as a file name (a path's last part)."""
    folders = [safe_name(f"{Path(label.split(':')[0]).name}{label[len(label.split(':')[0]):]}") for label in labels]
    clash = next((f for f in folders if folders.count(f) > 1 or f in {METRICS}), None)
    if clash is not None:
        raise UsageError(f"two datasets of the sweep would share the folder {clash!r}; rename one of them")
    return folders


def start(plans: list[runner.Plan], out: Path) -> list[RunDir]:
    """Create a sweep's folder (refusing one that exists), its sweep.json and a run directory per dataset."""
    labels = [p.run.dataset.label for p in plans]
    folders = dataset_folders(labels)
    root = RunDir.create(out)
    root.write_json(SWEEP, {"datasets": [{"dataset": label, "folder": folder}
                                         for label, folder in zip(labels, folders)]})
    return [runner.start(p, out / folder) for p, folder in zip(plans, folders)]


def folders_of(out: Path) -> list[tuple[str, Path]] | None:
    """(dataset label, run directory) of each dataset of the sweep in ``out``; None when ``out`` is not a
    sweep (a single run directory)."""
    if not (Path(out) / SWEEP).is_file():
        return None
    stored = RunDir(out).read_json(SWEEP)
    try:
        return [(entry["dataset"], Path(out) / entry["folder"]) for entry in stored["datasets"]]
    except (KeyError, TypeError) as error:
        raise UsageError(f"{Path(out) / SWEEP} is not a genbench sweep description: {error}") from None


def saved_checkpoint(rundir: RunDir, label: str, seed: int) -> dict[str, bytes]:
    """The files of the cell's checkpoint in the run directory (a cell trained, then killed before it was
    measured), to send with its task; empty when there is none."""
    files = checkpoint_paths(rundir.file(CHECKPOINTS) / f"{safe_name(label)}-seed{seed}")
    return {path.name: path.read_bytes() for path in files} if files[1].exists() else {}


def tasks_of(runs: list[runner.DatasetRun]) -> list[CellTask]:
    return [CellTask(key, run.plan.run.to_dict(), cell.label, seed, run.data.name,
                     saved_checkpoint(run.rundir, cell.label, seed))
            for key, run in enumerate(runs) for cell, seed in run.pending()]


def write_files(rundir: RunDir, files: dict[str, bytes]) -> None:
    """A cell's files from its worker, each written atomically where the worker wrote it in its scratch folder;
    descriptions (.json) last, as ``save_checkpoint`` writes a checkpoint's, so that one vouches only for
    weights already in place."""
    for name, content in sorted(files.items(), key=lambda item: item[0].endswith(".json")):
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            log.warning("ignored a file a worker named outside the run directory: %s", name)
            continue
        write_bytes(rundir.path.joinpath(*relative.parts), content)


def execute(runs: list[runner.DatasetRun], executor: Executor | None,
            progress_note: Callable[[str], None] = log.info) -> list[runner.RunOutcome]:
    """Run every pending cell of every dataset (in this process when ``executor`` is None), write each as it
    finishes, then each dataset's tables; return each dataset's outcome."""
    for run in runs:
        skipped = runner.describe_skipped(run)
        if skipped:
            progress_note(skipped)
    if executor is None:
        for run in runs:
            runner.execute_cells(run, progress_note if len(runs) == 1 else named(run.data.name, progress_note))
    else:
        execute_tasks(runs, executor, progress_note)
    return [run.finish() for run in runs]


def named(dataset: str, progress_note: Callable[[str], None]) -> Callable[[str], None]:
    return lambda text: progress_note(f"{dataset}: {text}")


def execute_tasks(runs: list[runner.DatasetRun], executor: Executor, progress_note: Callable[[str], None]) -> None:
    tasks = tasks_of(runs)
    if not tasks:
        return
    progress_note(f"{len(tasks)} cell(s) to run: {executor.describe()}")
    several = len(runs) > 1
    running: set[str] = set()
    lost = 0

    def started(task: CellTask, worker: str) -> None:
        running.add(task.name)
        log.debug("%s: started on %s", task.name, worker)
        outcomes.set_postfix({"running": ", ".join(sorted(running)), "lost": lost})

    outcomes = progress.progress(executor.run(tasks, started), desc="cells", total=len(tasks), unit="cell")
    done = {"cells": 0}

    def still_running() -> str:
        return (f"{done['cells']} of {len(tasks)} cells done; running {', '.join(sorted(running)) or 'none'}"
                + (f"; {lost} lost" if lost else ""))

    with redirect_logging_past(outcomes), progress.alive(still_running, progress_note):
        for outcome in outcomes:
            done["cells"] += 1
            task, run = outcome.task, runs[outcome.task.key]
            running.discard(task.name)
            if isinstance(outcome, CellResult):
                write_files(run.rundir, outcome.files)
                for level, message in outcome.log:
                    log.log(level, "%s", message)
                run.record(task.label, task.seed, outcome.records, outcome.timing)
                text = runner.describe_cell(task.label, task.seed, outcome.records, outcome.timing)
            else:
                lost += 1
                run.record_lost(task.label, task.seed, outcome.reason)
                text = f"{task.label} seed {task.seed}: LOST ({outcome.reason}); --resume runs it again"
            where = f"{task.dataset}, {outcome.worker}" if several else outcome.worker
            progress_note(f"{text} [{where}]")
            outcomes.set_postfix({"running": ", ".join(sorted(running)) or "none", "lost": lost})


@contextlib.contextmanager
def redirect_logging_past(bar: object) -> Iterator[None]:
    """Log lines printed above a terminal's progress bar instead of through it, by a handler that keeps the
    console handler's level and filters (``--quiet``'s errors only; no tracebacks on the screen)."""
    if not hasattr(bar, "display") or getattr(bar, "disable", False):
        yield
        return

    logger = logging.getLogger("genbench")
    console = next((h for h in logger.handlers if isinstance(h, logging.StreamHandler)
                    and h.stream in (sys.stdout, sys.stderr)), None)
    with logging_redirect_tqdm(loggers=[logger]):
        if console is not None:
            above = logger.handlers[-1]
            above.setLevel(console.level)
            for keep in console.filters:
                above.addFilter(keep)
        yield


def write_sweep(out: Path, runs: list[runner.DatasetRun]) -> None:
    """The sweep's own files: every dataset's records in one metrics.csv, and the report across datasets."""
    root = RunDir(out)
    root.write_metrics(normalise(pd.concat([run.frame for run in runs], ignore_index=True)))
    write_sweep_report(root, [(run.data.name, run.rundir.path.name, run.frame) for run in runs])
