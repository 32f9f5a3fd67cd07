"""The run service: what ``genbench run``, ``genbench score`` and ``genbench.run`` share. A request (the
command's flags) goes through four stages, one module each, every one saying what it takes and gives:

1. ``plan``: the request → one plan per dataset and where it is written (a resume's directories claimed);
2. ``prepare``: the plans → the executor, each dataset loaded and its metrics prepared, the run directories;
3. ``execute``: the prepared cells computed, tables and report written → ``Finished``;
4. ``collect``: a finished run directory read back → ``Run`` (what ``genbench.run`` returns).

``genbench score`` is the same service asked with a ``ScoreRequest`` (``scoring``: its own plan, a column of
samples beside the reference, then the same execute stage); both requests share ``DataOptions``. The CLI owns
the screen and the exit status. The other parts: the run's configuration (``run_config``), each model's plan
(``model_plan``), a cell as a unit of work (``cells``, ``worker``), the models of one dataset trained and
measured (``runner``), a model's metrics (``evaluation``), a sweep of cells (``sweep``) on an executor
(``executors/``), ``genbench stats`` (``reference_stats``), ``genbench check`` (``check``), and
``python -m genbench.service.ship_classifiers``.

This module is the face: the requests, the stages' public names (imported when first used: the stages import
torch, ``genbench check`` must not), and ``run``, which chains them."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genbench.errors import UsageError
from genbench.service.request import DataOptions, RunRequest, ScoreRequest

if TYPE_CHECKING:
    from genbench.service.collect import Run
    from genbench.service.execute import Finished

STAGES = {"Planned": "plan", "plan": "plan",
          "Prepared": "prepare", "prepare": "prepare", "cells_worth_workers": "prepare",
          "Finished": "execute", "RunInterrupted": "execute", "RunStopped": "execute", "execute": "execute",
          "os_error_text": "execute", "say_if_busy": "execute",
          "Run": "collect", "open_run": "collect",
          "score": "scoring"}
"""The stages' public names by module: imported when first asked for, so that importing the service (as the
report-only ``genbench check`` does) imports no torch."""

__all__ = ["DataOptions", "RunRequest", "ScoreRequest", "run", "run_from_python", *STAGES]


def __getattr__(name: str) -> Any:
    if name in STAGES:
        return getattr(importlib.import_module(f"genbench.service.{STAGES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(request: RunRequest) -> Finished:
    """Plan, prepare and execute a run (or finish one, ``resume``). Usage errors come before a run directory
    exists; a cell's failure is recorded, not raised."""
    from genbench.service.execute import execute  # the stages import torch
    from genbench.service.plan import plan  # defers torch
    from genbench.service.prepare import prepare  # defers torch

    return execute(prepare(plan(request)))


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
    from genbench.service.collect import open_run  # reads metrics.csv with pandas

    finished = run(RunRequest(**settings))
    return open_run(finished.path)
