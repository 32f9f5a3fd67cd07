"""What the run service is asked, as the commands' flags ask it: ``RunRequest`` (``genbench run``, and
``genbench.run``'s keyword arguments, checked as argparse checks the command line) and ``ScoreRequest``
(``genbench score``), which share ``DataOptions``: where data and weights come from, the device and threads."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from genbench.budget import parse_budget
from genbench.catalog import EXECUTORS
from genbench.errors import UsageError
from genbench.service.executors.contract import AUTO
from genbench.specs import weight_files


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataOptions:
    """Where data and weights come from, the device and the threads: the flags run, score and stats share
    (``genbench.cli.options.add_data_options``)."""

    device: str | None = None
    data_dir: str | None = None
    download: bool = False
    inception_weights: str | None = None
    weights: str | None = None
    """Extractor weights files, ``dinov2-vit-b-14=PATH[,NAME=PATH]`` (``--weights``)."""
    threads: int | None = None


@dataclasses.dataclass(frozen=True)
class RunRequest(DataOptions):
    """A run as ``genbench run``'s flags ask for it; None (or False) is the flag's default. Specs are the
    command line's text: ``"vae:latent_dim=8,gan"``."""

    models: str | None = None
    dataset: str | None = None
    metrics: str | None = None
    seeds: str | None = None
    budget: str | None = None
    epochs: int | None = None
    out: Path | None = None
    resize: str | None = None
    reference: Path | None = None
    checkpoints: Path | None = None
    resume: bool = False
    executor: str = "local"
    jobs: int | str | None = AUTO
    """Local worker processes: a count, or ``"auto"`` (``executors.automatic_jobs``); None: every cell in this
    process (``genbench.run``'s default)."""
    devices: str | None = None
    ray_address: str | None = None
    cell_cpus: int = 1
    cell_gpus: float = 0.0

    def __post_init__(self) -> None:
        """The checks argparse makes on the command line, for ``genbench.run``'s keyword arguments."""
        if self.budget is not None:
            parse_budget(self.budget)
        if self.weights is not None:
            weight_files(self.weights)
        if self.executor not in EXECUTORS:
            raise UsageError(f"executor must be one of {', '.join(EXECUTORS.names())}, got {self.executor!r}")
        for name in ("epochs", "threads", "jobs", "cell_cpus"):
            value = getattr(self, name)
            if name == "jobs" and value == AUTO:
                continue
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                also = f" or {AUTO!r}" if name == "jobs" else ""
                raise UsageError(f"{name} must be a positive integer{also}, got {value!r}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunRequest:
        """The request of a parsed ``genbench run`` command line."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScoreRequest(DataOptions):
    """A ``genbench score`` command line: samples of a model trained anywhere, measured under a dataset's
    protocol, in a new run directory (``out``) or as a column of a finished run (``into``)."""

    samples: Path
    dataset: str | None = None
    label: str | None = None
    out: Path | None = None
    into: Path | None = None
    metrics: str | None = None
    n: int | None = None
    seed: int | None = None
    reference: Path | None = None
