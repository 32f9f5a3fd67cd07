"""Shared fixtures: datasets loaded once, fast options for every registered model, a CLI runner."""

from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch

import genbench
from genbench import catalog


@pytest.fixture(scope="session")
def digits():
    return genbench.load_dataset("digits")


@pytest.fixture(scope="session")
def rings():
    return genbench.load_dataset("rings", n_train=2000, n_val=500, n_test=1000)


@pytest.fixture(scope="session")
def wardrobe():
    return genbench.load_dataset("wardrobe")


def fast_options(name: str) -> dict:
    """Options that make a registered model train in well under a second (for contract tests)."""
    fields = catalog.MODELS.get(name).config_class.field_names()
    options = {}
    if "epochs" in fields:
        options["epochs"] = 2
    if "hidden" in fields:
        options["hidden"] = (32,)
    if "width" in fields:
        options["width"] = 8
    return options


@pytest.fixture
def fast():
    return fast_options


@dataclasses.dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli():
    """Run ``genbench ARGS`` in this process; returns exit code, stdout and stderr."""
    from genbench.cli import main

    def run(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:
                code = int(exit_.code or 0)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
