"""Domain classifiers shipped with genbench: frozen weight files for the built-in labelled datasets.

The ``domain`` extractor defines the feature space of every sample-quality figure on a dataset, so
it is part of the protocol: a classifier retrained on another machine or torch release gives other
weights and moves every FID. The built-in datasets whose data ship with genbench or are rendered by
it (``digits``, ``shapes``) therefore come with their classifier as a file in the package
(``genbench/features/shipped/``, about 140 kB each): ``<name>.pt``, the state dict, read with
``torch.load(weights_only=True)``, and ``<name>.json``, the cache entry's key (the dataset's content
fingerprint, the architecture, the training options), the classifier's test accuracy, the torch
release that trained it and the SHA-256 of the ``.pt``, checked before use. A dataset with no shipped
file (your own data, a new version of a dataset, or MNIST, Fashion-MNIST and CIFAR-10, whose files
genbench cannot hold) has its classifier trained once and cached, as before.

To regenerate the shipped files (after changing the architecture or training options, which changes
their keys), on a quiet machine, then commit them with the baselines that depend on them:

    python -m genbench.service.ship_classifiers digits shapes
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from genbench.errors import GenbenchError
from genbench.infra.atomic import write_json
from genbench.infra.cache import as_json, file_sha256, save_tensors

FOLDER = Path(__file__).resolve().parent / "shipped"
FORMAT = 1


def write_shipped(name: str, key: Mapping[str, Any], state: Mapping[str, torch.Tensor], meta: Mapping[str, Any],
                  folder: Path = FOLDER) -> Path:
    """Write a classifier as a shipped file pair ``domain-<name>.pt/.json`` with its key and SHA-256."""
    weights = folder / f"domain-{name}.pt"
    save_tensors(weights, state)
    meta = {**meta, "dataset": name, "trained_with": {"torch": torch.__version__}}
    write_json(weights.with_suffix(".json"), {"format": FORMAT, "key": as_json(key), "meta": meta,
                                              "sha256": file_sha256(weights)})
    return weights


def find_shipped(key: Mapping[str, Any], folder: Path = FOLDER) -> tuple[Path, dict[str, Any]] | None:
    """The shipped weights whose key is ``key`` and their metadata, or None; ``GenbenchError`` when the
    file's SHA-256 is not the one recorded (a damaged install)."""
    wanted = as_json(key)
    for description in sorted(folder.glob("*.json")):
        entry = json.loads(description.read_text(encoding="utf-8"))
        if entry.get("key") != wanted:
            continue
        weights = description.with_suffix(".pt")
        if not weights.is_file() or file_sha256(weights) != entry.get("sha256"):
            raise GenbenchError(f"{weights} does not match the SHA-256 in {description.name}: the installed "
                                "genbench is damaged; reinstall it")
        return weights, entry["meta"]
    return None
