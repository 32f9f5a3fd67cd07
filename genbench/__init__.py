"""genbench: train generative models behind one interface and measure them with the same metrics.

    import genbench
    data = genbench.load_dataset("digits")   # or "mnist", or your own: "path/to/images", "x.npz"
    model = genbench.make_model("vae", latent_dim=16).fit(data.train, data.val)
    x = model.sample(64)
    genbench.evaluate(model, data)          # tidy records (a pandas DataFrame)

    run = genbench.run(models=["vae", "gan"], budget="smoke")   # the whole benchmark, as `genbench run`
    run.table, run.records, run.report      # the comparison table, metrics.csv, report.html

Importing genbench loads nothing heavy; the registries are read on first use.

The folders are the layers, and imports point down (``tests/test_layers.py`` checks):

    genbench/            bottom: the contracts (model, metric, features, outputs, records, config, registry...)
    genbench/data/       bottom: datasets, registered or your own files, and their fixed splits
    genbench/infra/      bottom: atomic files, cache, run directory, environment, seeds, devices, threads, progress
    genbench.baselines   middle: one module per model family (the repository's baselines/ folder)
    genbench.metrics     middle: one module per metric (the repository's metrics/ folder)
    genbench/service/    top: the run service (plan, cells, runner, sweep, executors/), scoring, genbench check
    genbench/report/     top: tables, marks, figures and report.html from metrics.csv alone, without torch
    genbench/cli/        top: the command line, one module per command

Modules beside the contracts that a user imports to reach the layers below are front doors, in the top layer:
this one and ``__main__``, ``catalog`` (the registries, which name every baseline and metric) and ``testing``
(``check_model``, which loads datasets and saved models through this module).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genbench import catalog

if TYPE_CHECKING:
    import pandas as pd

    from genbench.data.splits import Data
    from genbench.model import GenerativeModel
    from genbench.service import Run

__version__ = "0.1.0"

__all__ = ["run", "open_run", "evaluate", "load_dataset", "load_model", "make_model", "list_datasets", "list_metrics",
           "list_models"]


def load_dataset(
    name: str | os.PathLike, *, data_dir: str | Path | None = None, download: bool = False, **options: Any
) -> Data:
    """Fixed train/val/test splits of a registered dataset, or of your own data at a path (a folder
    of PNG/JPEG images or a .npy, .npz or .pt file); ``options`` are the dataset's own.

    Files are read from ``data_dir`` (else ``$GENBENCH_DATA_DIR``, else ``~/.cache/genbench/data``)
    and downloaded only when ``download`` is true.
    """
    from genbench.data.resolve import dataset_source  # defers torch

    source = dataset_source(name, options, catalog.DATASETS)
    return source.load(data_dir=Path(data_dir) if data_dir is not None else None, download=download)


def make_model(name: str, **options: Any) -> GenerativeModel:
    """An unfitted registered model; unknown options raise ``UsageError``."""
    return catalog.MODELS.get(name)(**options)


def run(
    models: str | list[str] | None = None, dataset: str | os.PathLike | list[str] | None = None,
    metrics: str | list[str] | None = None, seeds: str | list[int] | None = None, budget: str | None = None,
    out: str | Path | None = None, **settings: Any,
) -> Run:
    """Train and measure models as ``genbench run`` does, through the same run service, and return the
    finished ``Run``: its directory, ``records`` (metrics.csv), ``table`` (the comparison table with marks and
    figures) and ``report`` (report.html). Specs are names with options (``"vae:latent_dim=8"``); None is the
    command line's default. ``settings`` are the other flags of ``genbench run`` by their Python names:
    epochs, resize, data_dir, download, inception_weights, weights, reference, checkpoints, resume, device, threads,
    executor, jobs, devices, ray_address, cell_cpus, cell_gpus. Unlike the command line (``--jobs auto``),
    every cell runs in this process unless ``jobs`` is ``"auto"`` or a count: worker processes start by
    importing the calling script again, which must then guard its work with ``if __name__ == "__main__":``.
    A failed cell is recorded (``Run.failed``), not raised; bad input raises ``UsageError`` before anything
    is written."""
    from genbench.service import run_from_python  # defers pandas

    return run_from_python(models=models, dataset=None if dataset is None else str(dataset) if isinstance(
        dataset, os.PathLike) else dataset, metrics=metrics, seeds=seeds, budget=budget, out=out, **settings)


def open_run(path: str | Path) -> Run:
    """A finished run directory (``genbench run``'s or ``genbench.run``'s) read back as a ``Run``."""
    from genbench.service import open_run as _open_run  # defers torch

    return _open_run(path)


def evaluate(model: GenerativeModel, data: Data, metrics: list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """Tidy records of ``metrics`` (default: every default metric) for a fitted model."""
    from genbench.service.evaluation import evaluate as _evaluate  # defers torch

    return _evaluate(model, data, metrics, **kwargs)


def load_model(path: str | Path, device: str = "cpu") -> GenerativeModel:
    """A model saved by ``model.save(path)`` or by ``genbench run`` (its checkpoints/ folder)."""
    from genbench.checkpoint import load_checkpoint  # defers torch

    return load_checkpoint(path, registry=catalog.MODELS, device=device)


def list_models() -> list[str]:
    return catalog.MODELS.names()


def list_datasets() -> list[str]:
    return catalog.DATASETS.names()


def list_metrics() -> list[str]:
    return catalog.METRICS.names()
