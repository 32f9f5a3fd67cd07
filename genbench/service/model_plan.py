"""What a run does for each model column: train it, or load a trained checkpoint and only measure it.

A model spec is a name (or import path) with options; two options are genbench's, not the model's:

- ``label=NAME``: the column's name in tables and metrics.csv (default: the spec's text);
- ``checkpoint=PATH``: evaluate a saved model instead of training one. PATH is a checkpoint
  (``model.save(PATH)`` or a run's ``checkpoints/<label>-seed<k>``, with or without ``.pt``/``.json``)
  used for every seed, or holds ``{seed}`` (``runs/a/checkpoints/vae-seed{seed}``) for one per seed.
  The model's options come from the checkpoint, so no other option may be given.

``checkpoint_specs(folder)`` turns a folder of checkpoints (``--checkpoints DIR``) into such specs.
Before anything is measured, ``refuse_foreign_checkpoints`` compares each checkpoint's record of its
training data (the training examples' fingerprint) with the run's dataset and refuses a mismatch.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genbench.budget import trains_by_budget
from genbench.checkpoint import checkpoint_paths, read_description
from genbench.config import Config
from genbench.data.splits import Data, fingerprint
from genbench.errors import CheckpointError, UsageError
from genbench.model import GenerativeModel
from genbench.registry import Registry
from genbench.specs import Spec

log = logging.getLogger(__name__)

LABEL, CHECKPOINT = "label", "checkpoint"
SEED_FIELD = "{seed}"
SEEDED_STEM = re.compile(r"^(?P<label>.+)-seed(?P<seed>\d+)$")


@dataclasses.dataclass(frozen=True)
class SavedModel:
    """One checkpoint a column loads: where it is, its weights' hash, and what it records of its origin."""

    path: Path
    sha256: str
    trained_on: dict[str, Any]
    saved_by: dict[str, Any]

    def provenance(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "trained_on": self.trained_on,
                "saved_by": self.saved_by}


@dataclasses.dataclass(frozen=True)
class ModelPlan:
    label: str
    model_class: type[GenerativeModel]
    config: Config
    checkpoints: Mapping[int, SavedModel] | None = None
    """By seed: the checkpoint each cell loads instead of training (None: the model is trained)."""

    def make(self) -> GenerativeModel:
        return self.model_class(self.config)

    @property
    def trains_by_budget(self) -> bool:
        """Whether the column's model trains to the run's budget (``genbench.budget.trains_by_budget``)."""
        return trains_by_budget(self.model_class.config_class.field_names())

    def resolved(self) -> dict[str, Any]:
        """config.json's entry for this column."""
        entry: dict[str, Any] = {"name": self.model_class.name, "config": self.config.to_dict()}
        if self.checkpoints is not None:
            entry["checkpoints"] = {str(seed): saved.provenance() for seed, saved in self.checkpoints.items()}
        return entry


def plan_model(spec: Spec, registry: Registry[GenerativeModel], seeds: tuple[int, ...],
               run_wide: Mapping[str, Any]) -> ModelPlan:
    """The column of ``spec``: its class, label and resolved options, or the checkpoints it loads.
    ``run_wide`` options (budget, epochs) apply to the models that train to a budget."""
    options = spec.option_dict()
    label = options.pop(LABEL, spec.label)
    checkpoint = options.pop(CHECKPOINT, None)
    model_class = registry.get(spec.name)
    if checkpoint is None:
        fields = model_class.config_class.field_names()
        wide = run_wide if trains_by_budget(fields) else {}
        options = {**{k: v for k, v in wide.items() if k in fields and v is not None}, **options}
        return ModelPlan(label, model_class, model_class.config_class.from_options(options, owner=f"model {spec.name}"))
    if options:
        raise UsageError(f"{spec.label}: a model loaded from a checkpoint takes its options from the checkpoint; "
                         f"drop {', '.join(f'{k}={v}' for k, v in options.items())}")
    saved = {seed: saved_model(checkpoint, seed) for seed in seeds}
    configs = {seed: saved_config(entry, model_class, spec) for seed, entry in saved.items()}
    if len(set(configs.values())) > 1:
        raise UsageError(f"{spec.label}: the checkpoints of seeds {', '.join(map(str, seeds))} hold models with "
                         "different options; one column is one model")
    return ModelPlan(label, model_class, configs[seeds[0]], saved)


def saved_config(saved: SavedModel, model_class: type[GenerativeModel], spec: Spec) -> Config:
    """The options a checkpoint holds, for ``model_class`` (which must be the class it was saved from)."""
    description_path = checkpoint_paths(saved.path)[1]
    description = read_description(saved.path)
    if description.get("model") != model_class.name:
        raise UsageError(f"{description_path} holds a {description.get('model')!r} model, not a "
                         f"{model_class.name!r} ({spec.label})")
    try:
        return model_class.config_class.from_dict(description["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"{description_path} has an unusable config: {error}") from None


def saved_model(pattern: str, seed: int) -> SavedModel:
    """The checkpoint ``pattern`` names for ``seed`` (``{seed}`` filled in), checked to be readable."""
    path = Path(pattern.replace(SEED_FIELD, str(seed))).expanduser()
    weights, description_path = checkpoint_paths(path)
    if not description_path.is_file():
        raise UsageError(f"no checkpoint at {description_path}" + (f" (seed {seed})" if SEED_FIELD in pattern else "")
                         + "; give the path that model.save or genbench run wrote (NAME.pt with NAME.json beside it)")
    try:
        description = read_description(path)
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    if not weights.is_file():
        raise UsageError(f"{description_path} has no weights file {weights.name} beside it")
    return SavedModel(weights.with_suffix("").resolve(), str(description.get("sha256", "")),
                      dict(description.get("trained_on") or {}), dict(description.get("saved_by") or {}))


def checkpoint_specs(folder: Path, registry: Registry[GenerativeModel]) -> tuple[list[Spec], list[int]]:
    """A spec per model in a folder of checkpoints (a run's ``checkpoints/``, or files saved by
    ``model.save``): ``<label>-seed<k>`` files become one column with a checkpoint per seed, other
    files one column each. Returns the specs and the seeds the seeded files hold."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--checkpoints takes a folder of checkpoints; {folder} is not a folder")
    stems = sorted(p.with_suffix("") for p in folder.glob("*.json") if p.with_suffix(".pt").is_file())
    if not stems:
        raise UsageError(f"{folder} holds no checkpoints (NAME.pt with NAME.json beside it)")
    columns: dict[str, tuple[str, str]] = {}
    seeds: set[int] = set()
    for stem in stems:
        match = SEEDED_STEM.match(stem.name)
        label, pattern = (match["label"], str(folder / f"{match['label']}-seed{SEED_FIELD}")) if match \
            else (stem.name, str(stem))
        if match:
            seeds.add(int(match["seed"]))
        try:
            description = read_description(stem)
        except CheckpointError as error:
            raise UsageError(str(error)) from None
        name = description.get("model", "")
        if name not in registry and isinstance(description.get("class"), str):
            name = description["class"]
        columns.setdefault(label, (name, pattern))
    specs = [Spec(name, ((CHECKPOINT, pattern), (LABEL, label))) for label, (name, pattern) in columns.items()]
    return specs, sorted(seeds)


def refuse_foreign_checkpoints(plans: tuple[ModelPlan, ...], data: Data) -> None:
    """Raise ``UsageError`` when a checkpoint was trained on data other than this run's training split."""
    train_fingerprint = fingerprint(data.info, [data.train.x])
    for plan in plans:
        for seed, saved in (plan.checkpoints or {}).items():
            recorded = saved.trained_on.get("train_fingerprint")
            if recorded is None:
                log.warning("%s (seed %s): %s does not record its training data; it cannot be checked against %s",
                            plan.label, seed, saved.path, data.name)
            elif recorded != train_fingerprint:
                raise UsageError(
                    f"{plan.label}: {saved.path} was trained on {saved.trained_on.get('dataset', 'other data')} "
                    f"(training fingerprint {recorded[:12]}…), not on this run's {data.name} training split "
                    f"({train_fingerprint[:12]}…); measure it on the dataset, options and split it was trained on")
