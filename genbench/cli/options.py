"""Flags that several commands share, and the types that read them."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TypeVar

from genbench.budget import parse_budget
from genbench.catalog import EXECUTORS
from genbench.errors import UsageError
from genbench.service.executors import AUTO, LOCAL

R = TypeVar("R")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Where data and weights come from, and the device: the same flags on run, score and stats."""
    parser.add_argument("--device", default=None, metavar="DEVICE",
                        help="auto (CUDA when present), cpu or cuda (default: auto)")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help="where dataset files are read from "
                        "(default: $GENBENCH_DATA_DIR, else ~/.cache/genbench/data)")
    parser.add_argument("--download", action="store_true", help="download missing dataset files")
    parser.add_argument("--inception-weights", default=None, metavar="PATH",
                        help="torch-fidelity's Inception state dict (weights-inception-2015-12-05-6726825d.pth), for "
                        "the inception extractor; with it, image sets are measured in Inception features")
    parser.add_argument("--weights", default=None, metavar="NAME=PATH[,NAME=PATH]",
                        help="pretrained extractor weights from local files, by extractor name, as published "
                        "(dinov2-vit-b-14=dinov2_vitb14_pretrain.pth); their SHA-256 is checked. genbench list shows "
                        "each extractor's file, URL and hash; default: $GENBENCH_WEIGHTS_<NAME>, else the cache, "
                        "else a download unless GENBENCH_OFFLINE=1")
    parser.add_argument("--threads", default=None, type=positive_int, metavar="N",
                        help="CPU threads torch computes with (default: one per core this process may use, or "
                        "$OMP_NUM_THREADS); use fewer beside other busy processes")


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """Where the cells run: this process, local workers, or Ray (``genbench.catalog.EXECUTORS``)."""
    group = parser.add_argument_group(
        "running cells in parallel", "each (model, dataset, seed) cell is a unit of work; its results do not depend "
        "on where it runs (at the same torch thread count)")
    group.add_argument("--jobs", default=AUTO, type=jobs_count, metavar="N",
                       help="run N cells at once in N local worker processes, each on cores/N torch threads, "
                       "taking turns at the whole machine for timed metrics; 1: every cell in this process; "
                       "auto (the default): on the CPU, when two or more models train at the default or paper "
                       "budget, one single-threaded worker per core (at most one per such model and seed), else 1")
    group.add_argument("--devices", default=None, metavar="LIST",
                       help="one local worker per GPU: cuda:0,cuda:1 or auto (every visible GPU)")
    group.add_argument("--executor", default=LOCAL, choices=EXECUTORS.names(),
                       help="local (worker processes here) or ray (each cell a Ray task; pip install "
                       "'genbench[ray]'); default: local")
    group.add_argument("--ray-address", default=None, metavar="ADDR",
                       help="the Ray cluster to use (HOST:6379 as `ray start --head` prints, or ray://HOST:10001); "
                       "default: start Ray on this machine for the sweep")
    group.add_argument("--cell-cpus", default=1, type=positive_int, metavar="N",
                       help="with --executor ray: CPUs (and torch threads) per cell (default: 1)")
    group.add_argument("--cell-gpus", default=0.0, type=float, metavar="G",
                       help="with --executor ray: GPUs per cell; a fraction shares one (default: 0)")


def add_reference_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", default=None, type=Path, metavar="FILE",
                        help="reference statistics (genbench stats, or pytorch-fid's mu/sigma .npz) for the fidelity "
                        "metric to compare with; refused when its extractor, n, split or dataset differ from the run's")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print only errors and the final paths (no progress, "
                        "warnings or tables)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def jobs_count(text: str) -> int | str:
    """``--jobs``: a positive integer or ``auto``."""
    if text == AUTO:
        return AUTO
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or {AUTO}, got {text!r}") from None


def budget_text(text: str) -> str:
    """``--budget``: a name, FLOPs or a time (``genbench.budget.parse_budget``), kept as written."""
    try:
        parse_budget(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text.strip()


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def request(request_class: type[R], args: argparse.Namespace) -> R:
    """A command's request (a dataclass) from the parsed command line: each field is the flag of its name."""
    return request_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(request_class)})
