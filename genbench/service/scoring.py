"""``genbench score``: a model known only by its samples, measured under a dataset's protocol.

The samples (a folder of images or an array file, ``genbench.data.sample_files``) become a column
(``SampleSet``) measured by the metrics computed from samples alone, exactly as ``genbench run``
measures a model on that dataset: the same extractor, n, reference split and seed. Either a new run
directory holds it beside the real-data reference (``--out``), or it joins a finished run's tables
(``--into``), where the rows that need the model itself say "samples only".
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genbench import catalog
from genbench.data.sample_files import read_samples
from genbench.data.splits import Data
from genbench.defaults import DEFAULT_DATASET
from genbench.errors import UsageError
from genbench.infra.rundir import CONFIG, RunDir, default_run_path
from genbench.infra.threads import configure_threads
from genbench.metric import Metric
from genbench.metrics.samples import DrawOptions
from genbench.records import REFERENCES
from genbench.sample_set import SampleSet
from genbench.service import runner
from genbench.service.execute import Finished, execute
from genbench.service.prepare import Prepared
from genbench.service.reference_stats import with_reference
from genbench.service.request import ScoreRequest
from genbench.specs import Spec, parse_dataset_spec, parse_specs

log = logging.getLogger(__name__)

SCORED = "scored"
"""config.json's entry of the columns ``genbench score`` added: label → the samples file's description."""


def default_metrics() -> tuple[Spec, ...]:
    """The default metrics that measure samples alone (fidelity, modes, memorisation)."""
    return tuple(Spec(name) for name in catalog.METRICS.defaults() if catalog.METRICS.get(name).from_samples)


def protocol_n(metric: Metric, data: Data) -> int | None:
    """How many samples ``metric`` compares on ``data`` (None: it draws none)."""
    config = metric.config
    if not metric.from_samples or not isinstance(config, DrawOptions):
        return None
    return config.sample_count(config.reference_split(data))


def check_sample_count(rows: int, metrics: tuple[Metric, ...], data: Data, n_given: bool) -> None:
    """Refuse a file with fewer samples than the protocol compares (unless ``--n`` set the protocol)."""
    needed = max((n for n in (protocol_n(m, data) for m in metrics) if n is not None), default=0)
    if rows < needed:
        advice = ("lower --n to score at a smaller n" if n_given else
                  f"pass --n {rows} to score at n = {rows}, whose figures are not comparable with n = {needed}")
        raise UsageError(f"the samples file holds {rows} samples; {data.name}'s protocol compares {needed} "
                         f"(n: the reference split's size, at most 10 000); {advice}")
    if rows > needed:
        log.info("scoring the first %d of the %d samples (the protocol's n)", needed, rows)


def samples_cell(label: str, samples: Path, data: Data, metrics: tuple[Metric, ...], seed: int,
                 n_given: bool) -> tuple[runner.Cell, dict[str, Any]]:
    """The column of a samples file, read and checked against the data and the protocol's n."""
    x, source = read_samples(samples, data.info)
    check_sample_count(len(x), metrics, data, n_given)
    cell = runner.Cell(label, lambda: SampleSet(x, data.info, source), trained=False, seeds=(seed,),
                       provenance={"samples": source})
    return cell, source


def with_n(specs: tuple[Spec, ...], n: int | None) -> tuple[Spec, ...]:
    """The metric specs with ``n`` set on those that draw samples (None: unchanged)."""
    if n is None:
        return specs
    return tuple(s.with_defaults(n=n) if issubclass(catalog.METRICS.get(s.name).config_class, DrawOptions) else s
                 for s in specs)


ScoreColumn = tuple[runner.Plan, RunDir, Data, runner.Cell]
"""What the execute stage needs to measure the samples: the plan, the run directory, the loaded data and the
samples' column."""


def prepare_new(samples: Path, run: runner.RunConfig, label: str, out: Path, n_given: bool,
                before_work: Callable[[], None] = lambda: None) -> ScoreColumn:
    """A new run directory for the samples' column and the real-data (or true-density) reference;
    ``before_work`` runs once the command and the samples are checked, before anything heavy (threads)."""
    if label in REFERENCES:
        raise UsageError(f"--label {label} is the name of a reference column; choose another")
    the_plan = runner.plan(run)
    RunDir.refuse_existing(out)
    data = runner.load_data(the_plan)
    cell, source = samples_cell(label, samples, data, the_plan.metrics, run.seeds[0], n_given)
    before_work()
    runner.prepare(the_plan, data)
    rundir = runner.start(the_plan, out)
    rundir.write_json(CONFIG, {**rundir.read_json(CONFIG), SCORED: {label: source}})
    return the_plan, rundir, data, cell


def prepare_into(samples: Path, into: Path, label: str, seed: int | None, dataset: Spec | None,
                 device: str | None, inception_weights: str | None, weights: str | None,
                 before_work: Callable[[], None] = lambda: None) -> ScoreColumn:
    """The samples' column added to a finished run, under that run's dataset, metrics and options."""
    the_plan, rundir = runner.reopen(into, device=device, inception_weights=inception_weights, weights=weights)
    run = the_plan.run
    if dataset is not None and dataset.label != run.dataset.label:
        raise UsageError(f"{into} measured {run.dataset.label}, not {dataset.label}; drop --dataset, or score into "
                         "a run on that dataset")
    frame = rundir.read_metrics()
    missing = [f"{m.label} seed {s}" for s in run.seeds for m in the_plan.models
               if not ((frame.model == m.label) & (frame.seed == s)).any()]
    if missing:
        raise UsageError(f"{into} is unfinished ({', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} not "
                         f"measured); finish it with genbench run --resume --out {into} first")
    if label in set(frame.model) or label in REFERENCES:
        raise UsageError(f"{into} already has a column {label!r}; choose another --label")
    seed = run.seeds[0] if seed is None else seed
    if seed not in run.seeds:
        raise UsageError(f"--seed {seed} is not one of the run's seeds ({', '.join(map(str, run.seeds))})")
    data = runner.load_data(the_plan)
    cell, source = samples_cell(label, samples, data, the_plan.metrics, seed, n_given=False)
    before_work()
    runner.prepare(the_plan, data)
    config = rundir.read_json(CONFIG)
    rundir.write_json(CONFIG, {**config, SCORED: {**config.get(SCORED, {}), label: {**source, "seed": seed}}})
    return the_plan, rundir, data, cell


def score_run_config(dataset: Spec, metrics: tuple[Spec, ...] | None, n: int | None, seed: int,
                     **settings: Any) -> runner.RunConfig:
    """The run ``genbench score`` makes: no models, the sample metrics, one seed."""
    return dataclasses.replace(runner.RunConfig(), dataset=dataset, models=(),
                               metrics=with_n(metrics if metrics is not None else default_metrics(), n),
                               seeds=(seed,), **settings)


def score(asked: ScoreRequest) -> Finished:
    """``genbench score``: the samples' column measured in a new run directory, or added to a finished run
    (``into``), executed by the run service's execute stage as a run's cells are."""
    samples = asked.samples.expanduser()
    label = asked.label or (samples.stem if samples.is_file() else samples.name)
    dataset = parse_dataset_spec(asked.dataset) if asked.dataset else None
    before_work = functools.partial(configure_threads, asked.threads)
    if asked.into is not None:
        given = [flag for flag, value in (("--metrics", asked.metrics), ("--n", asked.n),
                                          ("--data-dir", asked.data_dir), ("--reference", asked.reference))
                 if value is not None]
        if given:
            raise UsageError(f"--into measures under the run's own protocol; drop {', '.join(given)}")
        prepared = prepare_into(asked.samples, asked.into, label, asked.seed, dataset, asked.device,
                                asked.inception_weights, asked.weights, before_work)
    else:
        run = score_run_config(
            dataset or parse_dataset_spec(DEFAULT_DATASET),
            tuple(parse_specs(asked.metrics, "metric")) if asked.metrics is not None else None, asked.n,
            asked.seed if asked.seed is not None else 0, device=asked.device or "auto", data_dir=asked.data_dir,
            download=asked.download, inception_weights=asked.inception_weights, weights=asked.weights)
        if asked.reference is not None:
            run = dataclasses.replace(run, metrics=with_reference(run.metrics, asked.reference))
        out = asked.out if asked.out is not None else default_run_path(f"{Path(run.dataset.name).name}-{label}")
        prepared = prepare_new(asked.samples, run, label, out, asked.n is not None, before_work)
    plan, rundir, data, cell = prepared
    return execute(Prepared([(plan, rundir, data)]), command="score", extra_cells=(cell,))
