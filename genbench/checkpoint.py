"""Checkpoints: a model's state_dict (``NAME.pt``) beside its config and data description (``NAME.json``).

Loading uses ``torch.load(..., weights_only=True)``, checks the weights against the SHA-256
recorded in the JSON, and loads them strictly, so a corrupt, truncated or mismatched checkpoint
raises ``CheckpointError`` with the reason instead of crashing or silently retraining.

The JSON also says where the model came from: its class's import path (so that a model from
outside genbench loads without being registered), the data it was trained on (dataset name and
the training examples' fingerprint, which a run compares with its own before it measures the
model), and the genbench and torch versions that saved it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from genbench.data.info import DataInfo
from genbench.errors import CheckpointError, GenbenchError
from genbench.infra.atomic import write_bytes, write_json
from genbench.infra.environment import package_versions
from genbench.registry import Registry, class_path


class Checkpointable(Protocol):
    """What a checkpoint writes from and reads into a model: all of it ``genbench.model.GenerativeModel``'s (not
    imported here: the model contract imports this module for ``save`` and ``load``)."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    config: Any
    info_: DataInfo
    history_: list[dict[str, Any]]
    training_: dict[str, Any]
    learning_curve_: list[dict[str, Any]]
    trained_on_: dict[str, Any]

    @property
    def is_fitted(self) -> bool: ...

    def state_dict(self) -> dict[str, torch.Tensor]: ...

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> Any: ...

    def build(self, info: DataInfo, seed: int = 0) -> None: ...

    def to(self, device: str | torch.device) -> Any: ...

FORMAT = "genbench-checkpoint"
VERSION = 1


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights .pt, description .json) for a stem, a .pt path or a .json path."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".pt", ".json") else path
    return stem.with_name(stem.name + ".pt"), stem.with_name(stem.name + ".json")


def save_checkpoint(model: Checkpointable, path: str | Path) -> tuple[Path, Path]:
    """Write the weights, then the description that vouches for them (each atomically)."""
    if not model.is_fitted:
        raise CheckpointError(f"{model.name} is not fitted: there is nothing to save")
    weights_path, description_path = checkpoint_paths(path)
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    weights = buffer.getvalue()
    write_bytes(weights_path, weights)
    write_json(description_path, {
        "format": FORMAT,
        "version": VERSION,
        "model": model.name,
        "class": class_path(type(model)),
        "config": model.config.to_dict(),
        "info": model.info_.to_dict(),
        "history": model.history_,
        "training": model.training_,
        "learning_curve": model.learning_curve_,
        "trained_on": model.trained_on_,
        "saved_by": package_versions(("genbench", "torch")),
        "weights": weights_path.name,
        "sha256": hashlib.sha256(weights).hexdigest(),
    })
    return weights_path, description_path


def read_description(path: str | Path) -> dict[str, Any]:
    _, description_path = checkpoint_paths(path)
    try:
        description = json.loads(description_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {description_path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"checkpoint description {description_path} is corrupt: {error}") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise CheckpointError(f"{description_path} is not a genbench checkpoint description")
    if description.get("version") != VERSION:
        raise CheckpointError(f"{description_path} has checkpoint version {description.get('version')}; "
                              f"this genbench reads version {VERSION}")
    return description


def load_checkpoint(
    path: str | Path,
    *,
    model_class: type[Checkpointable] | None = None,
    registry: Registry[Checkpointable] | None = None,
    device: str | torch.device = "cpu",
) -> Checkpointable:
    """Rebuild a model from its checkpoint; the class comes from ``model_class`` or ``registry``."""
    weights_path, description_path = checkpoint_paths(path)
    description = read_description(path)
    name = description.get("model")
    if model_class is None:
        if registry is None:
            raise ValueError("load_checkpoint needs model_class or registry")
        model_class = saved_class(description, registry, description_path)
    elif model_class.name != name:
        raise CheckpointError(f"{description_path} holds a {name!r} model, not a {model_class.name!r}")
    try:
        config = model_class.config_class.from_dict(description["config"])
        info = DataInfo.from_dict(description["info"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{description_path} has an unusable config or data description: {error}") from None
    try:
        weights = weights_path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint weights {weights_path}: {error}") from None
    if hashlib.sha256(weights).hexdigest() != description.get("sha256"):
        raise CheckpointError(f"{weights_path} does not match the checksum in {description_path.name} "
                              "(truncated or corrupt); delete both files to train afresh")
    try:
        state = torch.load(io.BytesIO(weights), map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling raises many types; all mean "unreadable"
        raise CheckpointError(f"cannot load {weights_path}: {type(error).__name__}: {error}") from None
    model = model_class(config)
    model.build(info)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:
        first_line = str(error).strip().splitlines()
        raise CheckpointError(f"{weights_path} does not fit a {name} with the saved config: "
                              f"{' '.join(line.strip() for line in first_line[:3])}") from None
    model.history_ = list(description.get("history", []))
    model.training_ = dict(description.get("training") or {})
    model.learning_curve_ = list(description.get("learning_curve") or [])
    model.trained_on_ = dict(description.get("trained_on") or {})
    return model.to(device).eval()


def saved_class(description: dict[str, Any], registry: Registry[Checkpointable],
                description_path: Path) -> type[Checkpointable]:
    """The class a checkpoint was saved from: its import path where that still imports to a class
    of the saved name (a model from outside genbench needs no registration), else the saved name
    looked up in ``registry``."""
    name, path = description.get("model"), description.get("class")
    if isinstance(path, str):
        try:
            target = registry.get(path)
        except GenbenchError:
            target = None
        if target is not None and target.name == name:
            return target
    try:
        return registry.get(name)
    except GenbenchError as error:
        raise CheckpointError(f"{description_path}: {error}") from None
