"""What ``genbench run`` was asked to do (config.json's "run" entry), built from the command line without
importing torch, so that usage errors come before anything heavy loads."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genbench import catalog
from genbench.catalog import METRICS, MODELS
from genbench.defaults import DEFAULT_DATASET, DEFAULT_SEEDS
from genbench.errors import UsageError
from genbench.infra.rundir import CONFIG, RunDir
from genbench.specs import (
    Spec,
    check_dataset_name,
    parse_dataset_spec,
    parse_seeds,
    parse_spec,
    parse_specs,
    weight_files,
)
from genbench.specs import check_names as check_spec_names

if TYPE_CHECKING:
    from genbench.service.request import RunRequest


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What ``genbench run`` was asked to do (config.json's "run" entry)."""

    dataset: Spec = Spec(DEFAULT_DATASET)
    models: tuple[Spec, ...] = tuple(Spec(m) for m in MODELS.defaults())
    metrics: tuple[Spec, ...] = tuple(Spec(m) for m in METRICS.defaults())
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    device: str = "auto"
    budget: str = "default"
    """A named budget or FLOPs (``genbench.budget``); a time is converted to FLOPs at the start of the run."""
    budget_asked: str | None = None
    """The time the budget was asked as (``10min``), where it was converted to FLOPs (``budget``)."""
    budget_calibration: dict[str, Any] | None = None
    """How the time was converted: each model's FLOPs per second on this machine and the rate used."""
    epochs: int | None = None
    data_dir: str | None = None
    download: bool = False
    inception_weights: str | None = None
    weights: str | None = None
    """Extractor weights files (``--weights dinov2-vit-b-14=PATH``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.label,
            "models": [s.label for s in self.models],
            "metrics": [s.label for s in self.metrics],
            "seeds": list(self.seeds),
            "device": self.device,
            "budget": self.budget,
            "budget_asked": self.budget_asked,
            "budget_calibration": self.budget_calibration,
            "epochs": self.epochs,
            "data_dir": self.data_dir,
            "download": self.download,
            "inception_weights": self.inception_weights,
            "weights": self.weights,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return cls(
            dataset=parse_dataset_spec(data["dataset"]),
            models=tuple(parse_spec(m) for m in data["models"]),
            metrics=tuple(parse_spec(m, "metric") for m in data["metrics"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            device=data.get("device", "auto"),
            budget=data.get("budget", "default"),
            budget_asked=data.get("budget_asked"),
            budget_calibration=data.get("budget_calibration"),
            epochs=data.get("epochs"),
            data_dir=data.get("data_dir"),
            download=bool(data.get("download", False)),
            inception_weights=data.get("inception_weights"),
            weights=data.get("weights"),
        )

    def weight_files(self) -> dict[str, Path]:
        """Local weight files by extractor name, for ``EvalContext.weights``."""
        return weight_files(self.weights, inception=self.inception_weights)


FLAGS = {"dataset": "--dataset/--resize", "models": "--models/--checkpoints", "metrics": "--metrics/--reference",
         "seeds": "--seeds", "budget": "--budget", "epochs": "--epochs", "data_dir": "--data-dir"}
"""The settings a run directory fixes, with the flags that set them: ``--resume`` accepts these flags only
with the values the run was started with (device, download and the Inception weights file may change)."""


def from_flags(args: argparse.Namespace | RunRequest, base: RunConfig) -> RunConfig:
    """The run the command line (or ``genbench.run``) asks for: each flag given, else ``base``'s setting.
    Parses every spec and seed (``UsageError`` on malformed ones); names are checked by ``check_names``."""
    dataset = parse_dataset_spec(args.dataset) if args.dataset else base.dataset
    models = tuple(parse_specs(args.models)) if args.models is not None else base.models
    seeds = tuple(parse_seeds(args.seeds)) if args.seeds is not None else base.seeds
    if args.checkpoints is not None:
        from genbench.service.model_plan import checkpoint_specs  # defers torch

        saved, saved_seeds = checkpoint_specs(args.checkpoints, catalog.MODELS)
        models = (models if args.models is not None else ()) + tuple(saved)
        seeds = seeds if args.seeds is not None or not saved_seeds else tuple(saved_seeds)
    metrics = tuple(parse_specs(args.metrics, "metric")) if args.metrics is not None else base.metrics
    if args.reference is not None:
        from genbench.service.reference_stats import with_reference  # defers torch

        metrics = with_reference(metrics, args.reference)
    same_time = args.budget is not None and args.budget == base.budget_asked  # a resumed run's converted time
    return dataclasses.replace(
        base, dataset=dataset.with_defaults(resize=args.resize), models=models, metrics=metrics, seeds=seeds,
        device=args.device or base.device, budget=base.budget if same_time else (args.budget or base.budget),
        epochs=args.epochs if args.epochs is not None else base.epochs,
        data_dir=args.data_dir if args.data_dir is not None else base.data_dir,
        download=args.download or base.download, inception_weights=args.inception_weights or base.inception_weights,
        weights=args.weights or base.weights)


def differences(run: RunConfig, stored: RunConfig) -> list[str]:
    """The flags whose settings differ between ``run`` and ``stored``, with both values."""
    mine, theirs = run.to_dict(), stored.to_dict()
    return [f"{flag} ({_shown(mine[field])} here, {_shown(theirs[field])} in the run)"
            for field, flag in FLAGS.items() if mine[field] != theirs[field]]


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def check_names(run: RunConfig) -> None:
    """``UnknownNameError`` for a model, metric or dataset name nothing knows, without importing torch."""
    check_spec_names(run.models, catalog.MODELS)
    check_spec_names(run.metrics, catalog.METRICS)
    check_dataset_name(run.dataset.name, catalog.DATASETS)


def stored_run(path: Path) -> RunConfig:
    """The run a run directory's config.json describes; ``UsageError`` when it is not a genbench run's."""
    stored = RunDir.existing(path).read_json(CONFIG)
    try:
        return RunConfig.from_dict(stored["run"])
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"{Path(path) / CONFIG} is not a genbench run configuration: {error}") from None
