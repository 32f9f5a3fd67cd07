"""``genbench run``: train every model on one dataset for every seed, measure, write the run directory.

A cell is one (model, seed). Its records are appended to metrics.csv, atomically, as soon as it
finishes, so a killed run resumes (``resume=True``) without redoing finished cells. A cell that
fails (a non-finite loss, running out of memory) is recorded as failed with its reason and the
run goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from genbench import catalog
from genbench.budget import parse_budget
from genbench.checkpoint import checkpoint_paths, load_checkpoint, save_checkpoint
from genbench.data.resolve import dataset_source
from genbench.data.source import DatasetSource
from genbench.data.splits import Data
from genbench.errors import CheckpointError, GenbenchError, UsageError
from genbench.infra.atomic import remove_orphans
from genbench.infra.devices import resolve_device
from genbench.infra.environment import environment, machine_summary
from genbench.infra.rng import make_generator
from genbench.infra.rundir import (
    CHECKPOINTS,
    CONFIG,
    DATASET,
    ENVIRONMENT,
    LATENT,
    METRICS,
    SAMPLES,
    TIMINGS,
    RunDir,
    safe_name,
)
from genbench.infra.threads import fit_to_the_load
from genbench.metric import CellFiles, Metric
from genbench.model import GenerativeModel
from genbench.records import LOST, REAL_DATA, REFERENCES, TRUE_DISTRIBUTION, Record, normalise, to_frame
from genbench.reference import RealData, TrueModel
from genbench.report import write_report
from genbench.report.terminal import compact_table
from genbench.service.cell_figures import GRID_SIZE, save_latent_figures, save_sample_figures, save_samples
from genbench.service.evaluation import WAITED, contain, eval_context, measure
from genbench.service.model_plan import ModelPlan, SavedModel, plan_model, refuse_foreign_checkpoints
from genbench.service.run_config import RunConfig, stored_run

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Plan:
    """A run with every name resolved and every option validated, before anything is trained."""

    run: RunConfig
    source: DatasetSource
    models: tuple[ModelPlan, ...]
    metrics: tuple[Metric, ...]

    def resolved(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "dataset": {"name": self.source.name, "options": self.source.config.to_dict()},
            "models": {m.label: m.resolved() for m in self.models},
            "metrics": {s.label: {"name": m.name, "options": m.config.to_dict()}
                        for s, m in zip(self.run.metrics, self.metrics)},
        }


def plan(run: RunConfig) -> Plan:
    """Resolve names and options; raise ``UsageError`` on anything unknown or out of range."""
    resolve_device(run.device)
    source = dataset_source(run.dataset.name, run.dataset.option_dict(), catalog.DATASETS)
    source.check_available(data_dir=Path(run.data_dir) if run.data_dir else None, download=run.download)
    # a time budget reaches the models as FLOPs, once measured (``calibration``); until then they keep their default
    run_wide = {"budget": None if parse_budget(run.budget).is_time else run.budget, "epochs": run.epochs}
    models = tuple(plan_model(spec, catalog.MODELS, run.seeds, run_wide) for spec in run.models)
    labels = [m.label for m in models]
    clash = next((label for label in labels if labels.count(label) > 1 or label in REFERENCES), None)
    if clash is not None:
        raise UsageError(f"two columns would be called {clash!r}; give one another label (e.g. {clash}:label=NAME)")
    metrics = tuple(catalog.METRICS.get(s.name)(**s.option_dict()) for s in run.metrics)
    if not run.seeds:
        raise UsageError("at least one seed is needed")
    return Plan(run, source, models, metrics)


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    path: Path
    metrics: pd.DataFrame
    failed_cells: list[str]
    summary_text: str


def load_data(the_plan: Plan) -> Data:
    run = the_plan.run
    return the_plan.source.load(data_dir=Path(run.data_dir) if run.data_dir else None, download=run.download)


def prepare(the_plan: Plan, data: Data | None = None) -> Data:
    """Load the data (unless given) and make every check that needs it, before a run directory exists or
    anything is trained: checkpoints trained on other data are refused, and each metric prepares what all
    models share (extractor weights, reference features), so that a missing or mismatched file stops the
    run here with one line."""
    run = the_plan.run
    data = data if data is not None else load_data(the_plan)
    refuse_foreign_checkpoints(the_plan.models, data)
    context = eval_context(seed=run.seeds[0], device=resolve_device(run.device), weights=run.weight_files())
    for metric in the_plan.metrics:
        metric.prepare(data, context)
    return data


def start(the_plan: Plan, out: Path) -> RunDir:
    """Create the run directory of a planned and prepared run (refusing one that exists) and write its
    configuration. Everything that can refuse a run's input (``plan``, ``prepare``) comes before, so a
    refused run leaves no directory behind."""
    rundir = RunDir.create(out)
    rundir.write_json(CONFIG, the_plan.resolved())
    return rundir


def reopen(out: Path, device: str | None = None, inception_weights: str | None = None,
           weights: str | None = None) -> tuple[Plan, RunDir]:
    """The plan stored in an existing run directory, for ``--resume`` (device and weights file may change);
    ``prepare`` it before executing."""
    rundir = RunDir.existing(out).claim()
    run = stored_run(out)
    if device is not None:
        run = dataclasses.replace(run, device=device)
    if inception_weights is not None:
        run = dataclasses.replace(run, inception_weights=inception_weights)
    if weights is not None:
        run = dataclasses.replace(run, weights=weights)
    return plan(run), rundir


def describe_data(data: Data) -> dict[str, Any]:
    """dataset.json: what the run measured on, with the content fingerprint that caches key on."""
    return {
        "name": data.name,
        "info": data.info.to_dict(),
        "options": data.options,
        "splits": {name: len(data.split(name)) for name in ("train", "val", "test")},
        "fingerprint": data.fingerprint,
        "provenance": data.provenance,
    }


@dataclasses.dataclass(frozen=True)
class Cell:
    """One column of the table: a model to fit (and checkpoint), or the data's true distribution."""

    label: str
    make: Callable[[], GenerativeModel]
    trained: bool = True
    family: str = ""
    """The family its model declares (``GenerativeModel.family``), carried by every record of the column."""
    checkpoints: Mapping[int, SavedModel] | None = None
    """By seed, the checkpoint to measure instead of training (``--models NAME:checkpoint=PATH``)."""
    seeds: tuple[int, ...] | None = None
    """The seeds this column is measured for (None: every seed of the run)."""
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Added to the details of every record of the column (a samples file's description)."""

    def details(self, seed: int) -> dict[str, Any]:
        """What every record of (this column, seed) says of where the model came from."""
        if self.checkpoints is None:
            return dict(self.provenance)
        saved = self.checkpoints[seed]
        return {**self.provenance, "checkpoint": {"path": str(saved.path), "sha256": saved.sha256}}


def record_environment(rundir: RunDir, device: torch.device) -> None:
    """environment.json: this session's environment; a later session (resume, score) is appended to it."""
    now = environment(device)
    if not rundir.file(ENVIRONMENT).exists():
        rundir.write_json(ENVIRONMENT, now)
        return
    first = rundir.read_json(ENVIRONMENT)
    rundir.write_json(ENVIRONMENT, {**first, "later_sessions": [*first.get("later_sessions", []), now]})


def run_cells(the_plan: Plan, data: Data, extra_cells: tuple[Cell, ...] = ()) -> list[Cell]:
    """The run's columns: the planned models, ``extra_cells`` (a samples file), then the reference column
    (the true distribution where the data has one, else real data where a metric measures it). The driver
    and every worker build the same list from the same plan."""
    cells = [*(Cell(m.label, m.make, family=m.model_class.family, checkpoints=m.checkpoints) for m in the_plan.models),
             *extra_cells]
    if data.true_distribution is not None:
        truth = data.true_distribution
        cells.append(Cell(TRUE_DISTRIBUTION, lambda: TrueModel(truth, data.info), trained=False,
                          family=TrueModel.family))
    elif any(not m.missing_capability(RealData(data.train)) for m in the_plan.metrics):
        cells.append(Cell(REAL_DATA, lambda: RealData(data.train), trained=False, family=RealData.family))
    return cells


class DatasetRun:
    """The driver's side of one dataset's run directory: which cells remain, and writing each one as it
    finishes (metrics.csv and timings.json atomically), wherever it ran.

    ``data``: the plan's dataset, prepared (``prepare``). ``extra_cells``: columns beyond the plan's models
    (a samples file), placed after them and before the reference column."""

    def __init__(self, the_plan: Plan, rundir: RunDir, data: Data, extra_cells: tuple[Cell, ...] = ()):
        self.plan, self.rundir, self.data = the_plan, rundir, data
        removed = remove_orphans(rundir.path)
        if removed:
            log.info("removed %d partial file(s) a killed run left in %s", len(removed), rundir.path)
        self.device = resolve_device(the_plan.run.device)
        record_environment(rundir, self.device)
        rundir.write_json(DATASET, describe_data(data))
        self.frame = rundir.read_metrics()
        lost = self.frame.reason.str.startswith(LOST)
        self.done = set(zip(self.frame.model[~lost], self.frame.seed[~lost].astype("Int64")))
        self.timings = rundir.read_json(TIMINGS) if rundir.file(TIMINGS).exists() else {}
        self.cells = run_cells(the_plan, data, extra_cells)
        if not rundir.file(SAMPLES).joinpath("data.png").exists():
            save_samples(rundir.file(SAMPLES) / "data.png", data.test.x[:GRID_SIZE * 16], data,
                         f"{data.name}: test data")
        self.order = column_order(self.frame, [m.label for m in the_plan.models], [c.label for c in extra_cells])

    def skipped(self) -> list[tuple[str, int]]:
        """The (column, seed) cells already in metrics.csv."""
        return [(c.label, s) for s in self.plan.run.seeds for c in self.cells if (c.label, s) in self.done]

    def pending(self) -> list[tuple[Cell, int]]:
        """The cells still to run, seed by seed, in column order."""
        return [(cell, seed) for seed in self.plan.run.seeds for cell in self.cells
                if (cell.label, seed) not in self.done and (cell.seeds is None or seed in cell.seeds)]

    def record(self, label: str, seed: int, records: list[Record], timing: dict[str, float]) -> None:
        """Add a finished cell to metrics.csv and timings.json (atomically, in cell order), in place of its
        records as a lost cell."""
        earlier = (self.frame.model == label) & (self.frame.seed == seed)
        self.frame = in_cell_order(pd.concat([self.frame[~earlier], to_frame(records)], ignore_index=True),
                                   self.order, self.plan.run.seeds)
        self.rundir.write_metrics(self.frame)
        self.done.add((label, seed))
        self.timings[f"{label}/seed={seed}"] = timing
        self.rundir.write_json(TIMINGS, self.timings)

    def record_lost(self, label: str, seed: int, reason: str) -> None:
        """Record a cell whose worker died as failed for every metric, its reason marked ``LOST``, so that
        ``--resume`` runs it again."""
        family = next(c.family for c in self.cells if c.label == label)
        records = [r.identify(model=label, dataset=self.data.name, seed=seed, family=family)
                   for m in self.plan.metrics for r in m.declared(m.failed(f"{LOST}{reason}"))]
        self.record(label, seed, records, {})

    def finish(self) -> RunOutcome:
        """Write the tables, figures and report of what metrics.csv holds."""
        text = compact_table(write_report(self.rundir, self.frame), self.rundir.path)
        frame = self.frame
        failed = sorted({f"{m} seed {s}" for m, s, st in zip(frame.model, frame.seed, frame.status)
                         if st == "failed"})
        return RunOutcome(self.rundir.path, frame, failed, text)


def describe_skipped(dataset_run: DatasetRun) -> str | None:
    skipped = dataset_run.skipped()
    if not skipped:
        return None
    return (f"{len(skipped)} cell(s) already in {dataset_run.rundir.file(METRICS)}, skipped: "
            + ", ".join(f"{label} seed {seed}" for label, seed in skipped))


def execute_cells(dataset_run: DatasetRun, progress_note: Callable[[str], None] = log.info) -> None:
    """Run a dataset's pending cells in this process, one after another, writing each as it finishes.
    Before each cell the threads follow the load (``threads.fit_to_the_load``) unless the user fixed them."""
    the_plan, device, data = dataset_run.plan, dataset_run.device, dataset_run.data
    busy_said = False
    for cell, seed in dataset_run.pending():
        if device.type == "cpu":
            busy_said = fit_to_the_load(running=True, warned=busy_said)
        records, timing = run_cell(cell, data, the_plan.metrics, seed, device, dataset_run.rundir,
                                   the_plan.run.weight_files())
        dataset_run.record(cell.label, seed, records, timing)
        progress_note(describe_cell(cell.label, seed, records, timing))


def column_order(frame: pd.DataFrame, planned: list[str], extra: list[str]) -> list[str]:
    """The columns' order: the planned models, then the columns already in metrics.csv that this session
    did not plan (added by genbench score), then ``extra``, then the reference columns."""
    earlier = [label for label in dict.fromkeys(frame.model) if label not in {*planned, *extra, *REFERENCES}]
    return [*planned, *earlier, *extra, *REFERENCES]


def in_cell_order(frame: pd.DataFrame, order: list[str], seeds: tuple[int, ...]) -> pd.DataFrame:
    """Rows ordered by seed, then column (``column_order``), records of a cell in their own order: a
    resumed run writes the same metrics.csv as an uninterrupted one."""
    labels = {label: i for i, label in enumerate(order)}
    seed_order = {seed: i for i, seed in enumerate(seeds)}
    key = frame.seed.map(seed_order).astype(float) * (len(labels) + 1) + frame.model.map(labels).astype(float)
    return normalise(frame.iloc[key.argsort(kind="stable")])


def run_cell(
    cell: Cell, data: Data, metrics: tuple[Metric, ...], seed: int, device: torch.device, rundir: RunDir,
    weights: dict[str, Path] | None = None,
) -> tuple[list[Record], dict[str, float]]:
    """Fit one model for one seed (or load its checkpoint) and measure it.

    Failures become records with the reason, never exceptions: the run goes on.
    """
    saved = cell.checkpoints[seed] if cell.checkpoints is not None else None

    def finish(records: list[Record]) -> list[Record]:
        """The cell's identity on every record, where its model came from (a checkpoint, a file) and the
        machine that computed it (device, instruction set, threads)."""
        records = [r.identify(model=cell.label, dataset=data.name, seed=seed, family=cell.family) for r in records]
        origin = {**cell.details(seed), "machine": machine_summary(device)}
        return [dataclasses.replace(r, details={**r.details, **origin}) for r in records]

    def every_metric(make_records: Callable[[Metric], list[Record]]) -> list[Record]:
        return finish([r for m in metrics for r in m.declared(make_records(m))])

    model = cell.make()
    reason = model.unsupported_reason(data.info)
    if reason:
        return every_metric(lambda m: m.not_available(reason)), {}
    stem = rundir.file(CHECKPOINTS) / f"{safe_name(cell.label)}-seed{seed}"
    figure = f"{safe_name(cell.label)}-seed{seed}"
    context = eval_context(seed=seed, device=device, weights=weights or {}, files=CellFiles(rundir.path, figure))
    timing: dict[str, Any] = {}
    start_time = time.perf_counter()
    try:
        if saved is not None:
            model = load_checkpoint(saved.path, model_class=type(model), device=device)
            log.info("%s seed %s: measuring the checkpoint %s (not trained here)", cell.label, seed, saved.path)
        elif cell.trained and checkpoint_paths(stem)[1].exists():
            model = load_checkpoint(stem, model_class=type(model), device=device)
            log.info("%s seed %s: loaded %s", cell.label, seed, checkpoint_paths(stem)[0])
        elif cell.trained:
            monitor = training_monitor(metrics, data, context)
            model.fit(data.train, data.val, generator=make_generator(seed), device=device, monitor=monitor)
            curve_seconds = model.training_.get("curve_seconds", 0.0)
            timing["fit_seconds"] = time.perf_counter() - start_time - curve_seconds
            if curve_seconds:
                timing["curve_seconds"] = curve_seconds
            recoveries = sum(int(entry.get("recoveries", 0)) for entry in model.history_)
            if recoveries:
                timing["recoveries"] = recoveries
            save_checkpoint(model, stem)
    except OSError:  # a full disk stops the run (every file written so far is intact)
        raise
    except Exception as error:  # noqa: BLE001 - a model (a plugin's, too) that raises fails its own cell
        what = "checkpoint unusable" if isinstance(error, CheckpointError) else "training failed"
        contain(error, log, "%s seed %s: %s: %s", cell.label, seed, what, error)
        timing["fit_seconds"] = time.perf_counter() - start_time
        reason = f"{what}: {type(error).__name__}: {error}"
        return every_metric(lambda m: m.failed(reason)), timing
    if model.history_:
        history = pd.DataFrame(model.history_).to_csv(index=False)
        rundir.write_text(f"history-{safe_name(cell.label)}-seed{seed}.csv", history)
    start_time = time.perf_counter()
    try:
        save_sample_figures(model, data, rundir.file(SAMPLES) / figure, cell.label, seed)
        save_latent_figures(model, data, rundir.file(LATENT) / figure, cell.label, seed)
    except (GenbenchError, RuntimeError, ValueError) as error:  # a figure is never worth a failed cell
        log.warning("%s seed %s: a figure was not drawn: %s", cell.label, seed, error)
    timing["figures_seconds"] = time.perf_counter() - start_time
    start_time = time.perf_counter()
    spent: dict[str, float] = {}
    records = measure(model, data, metrics, context, spent)
    timing["evaluate_seconds"] = time.perf_counter() - start_time
    timing["by_metric"] = {name: seconds for name, seconds in spent.items() if name != WAITED}
    if spent.get(WAITED):
        timing["waited"] = spent[WAITED]
    return finish(records), timing


def training_monitor(metrics: tuple[Metric, ...], data: Data, context) -> Any:
    """What measures a model while it trains: the metrics' monitors (``Metric.while_training``) as one, or None."""
    monitors = [m for m in (metric.while_training(data, context) for metric in metrics) if m is not None]
    if len(monitors) <= 1:
        return monitors[0] if monitors else None
    return Monitors(monitors)


class Monitors:
    """Several metrics' training monitors called in turn, at the union of their points."""

    def __init__(self, monitors: list[Any]):
        self.monitors = monitors
        self.fractions = tuple(sorted({f for m in monitors for f in m.fractions}))

    def __call__(self, model: GenerativeModel, point) -> None:
        for monitor in self.monitors:
            if point.final or any(abs(point.fraction - f) < 1e-9 for f in monitor.fractions):
                monitor(model, point)


def describe_cell(label: str, seed: int, records: list[Record], timing: dict[str, Any]) -> str:
    seconds = sum(value for key, value in timing.items() if key.endswith("_seconds"))
    recoveries = int(timing.get("recoveries", 0))
    recovered = (f" (training recovered from {recoveries} bad step{'s' if recoveries > 1 else ''}: see its history "
                 "and run.log)" if recoveries else "")
    statuses = {r.status for r in records}
    if "failed" in statuses:
        reason = next(r.reason for r in records if r.status == "failed")
        return f"{label} seed {seed}: FAILED ({reason}){recovered}"
    shown = next((r for r in records if r.metric == "log_likelihood" and r.status == "ok"), None)
    figure = f", test log-likelihood {shown.value:.2f} nats ({shown.estimator})" if shown else ""
    return f"{label} seed {seed}: done in {seconds:.1f} s{where_time_went(timing)}{figure}{recovered}"


def where_time_went(timing: dict[str, Any], most: int = 3) -> str:
    """`` (training 212 s, learning curve 9 s, evaluation 41 s: fidelity 18, memorisation 9, …; waited 3 s for a
    turn)``: a cell's seconds by stage and its costliest metrics (empty when the cell recorded no metric's)."""
    by_metric = timing.get("by_metric") or {}
    if not by_metric:
        return ""
    stages = [(name, timing.get(key, 0.0)) for name, key in (("training", "fit_seconds"),
                                                            ("learning curve", "curve_seconds"),
                                                            ("figures", "figures_seconds"))]
    parts = [f"{name} {seconds:.0f} s" for name, seconds in stages if seconds >= 0.5]
    costly = sorted(by_metric.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{name} {seconds:.0f}" for name, seconds in costly[:most] if seconds >= 0.5)
    more = ", …" if len([s for _, s in costly if s >= 0.5]) > most else ""
    parts.append(f"evaluation {timing.get('evaluate_seconds', 0.0):.0f} s" + (f": {shown}{more}" if shown else ""))
    waited = timing.get("waited", 0.0)
    turn = f"; waited {waited:.0f} s for a turn" if waited >= 0.5 else ""
    return f" ({', '.join(parts)}{turn})"
