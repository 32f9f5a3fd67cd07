"""The README's code blocks, run: a snippet that drifts from the code fails here.

Each ``##`` section with code is one test, run in a fresh folder with a fresh home folder (``~``): its
blocks in order,

- a ``python`` block executed (one whose first line is ``# NAME.py`` is written to that file, to be
  imported);
- a ``bash`` block line by line: ``genbench`` commands (also after ``&&``, and as ``.venv/bin/genbench``)
  run through the command line in this process, ``ray`` (start, stop) as the venv's command,
  ``export NAME=VALUE`` sets the variable, ``pytest`` is collected (``--collect-only``: the suite does
  not run itself), ``pip``/``python3 -m venv`` are the installation, which CI runs from the project's
  own files;
- a ``yaml`` workflow: its ``run:`` steps, as a CI job would, from a checkout without ``runs/``;
- a ``toml`` block parsed.

A block without a language is a listing (a screen, a file layout), not code. A block that cannot run here
says so on the line before it, with the reason: ``<!-- not run: REASON -->`` (or MyST's comment
``% not run: REASON`` in the docs' pages); the harness skips it and the tests require the reason.

Commands that train run at the smoke budget (``--budget smoke`` is added where no budget or epochs are
given) and quietly. Files the commands expect (image folders, arrays, MNIST's and CIFAR-10's files,
CIFAR-10's download) are written by the section's setup below, small, in the real formats.

tests/test_docs.py runs the documentation's pages with the same harness.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r"^(?:<!--\s*not run:\s*(.+?)\s*-->|%\s*not run:\s*(.+))$")
RUNNABLE = ("python", "bash", "yaml", "toml")


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int
    source: str = "README.md"
    not_run: str = ""
    """Why the block is not run (empty: it runs)."""


def blocks(path: Path, name: str) -> list[tuple[str, Block]]:
    """The fenced blocks of a Markdown file with the ``##`` section each sits in. MyST directives
    (a fence whose info string starts with ``{``) are markup, not code, and are left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[tuple[str, Block]] = []
    title, i = "(top)", 0
    while i < len(lines):
        if lines[i].startswith("## "):
            title = lines[i][3:].strip()
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```")
        info = match.group(1)
        if not info.startswith("{"):
            before = next((line for line in reversed(lines[:i]) if line.strip()), "")
            marker = NOT_RUN.match(before.strip())
            reason = (marker.group(1) or marker.group(2)).strip() if marker else ""
            text = "\n".join(lines[i + 1:end]) + "\n"
            found.append((title, Block(info, text, i + 1, name, reason)))
        i = end + 1
    return found


def sections() -> dict[str, list[Block]]:
    """The README's code blocks by ``##`` section."""
    found: dict[str, list[Block]] = {}
    for title, block in blocks(README, "README.md"):
        found.setdefault(title, []).append(block)
    return found


def smoke(args: list[str]) -> list[str]:
    """A command as the test runs it: quietly, and at the smoke budget where it trains."""
    if args[0] == "run" and not {"--budget", "--epochs", "--checkpoints"} & set(args):
        args = [*args, "--budget", "smoke"]
    return [*args, "--quiet"] if args[0] in ("run", "score") else args


class Shell:
    """Runs a README section's blocks in ``work`` with ``home`` as ``~``."""

    def __init__(self, work: Path, home: Path, cli, monkeypatch):
        self.work, self.home, self.cli, self.monkeypatch = work, home, cli, monkeypatch
        self.cleanups: list[Callable[[], object]] = []

    def command(self, line: str, where: str) -> None:
        for part in line.split("&&"):
            words = [os.path.expanduser(w) for w in shlex.split(part, comments=True)]
            if not words:
                continue
            program = Path(words[0]).name
            if program == "genbench":
                result = self.cli(*smoke(words[1:]))
                assert result.code == 0, f"{where}: {part.strip()} exited {result.code}: {result.err}"
            elif program == "export":
                name, _, value = words[1].partition("=")
                self.monkeypatch.setenv(name, value)
            elif program == "pytest":  # from the repository root, as the README's commands are typed
                args = [*words[1:], "--collect-only", "-q", "-p", "no:cacheprovider"]
                done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=README.parent, capture_output=True,
                                      text=True)
                assert done.returncode == 0, f"{where}: pytest {' '.join(args)}: {done.stdout[-500:]}"
            elif program == "ray":  # a real Ray head on loopback, stopped at the section's end
                ray = Path(sys.executable).with_name("ray")
                done = subprocess.run([str(ray), *words[1:]], capture_output=True, text=True)
                assert done.returncode == 0, f"{where}: ray {' '.join(words[1:])}: {done.stderr[-500:]}"
                if words[1:2] == ["start"]:
                    self.cleanups.append(functools.partial(subprocess.run, [str(ray), "stop", "--force"],
                                                           capture_output=True))
            else:
                assert program in ("python3", "pip", "tox"), f"{where}: the harness does not know {program}"

    def block(self, block: Block) -> None:
        where = f"{block.source} line {block.line}"
        if block.not_run:
            return
        if block.language == "python":
            first = block.text.splitlines()[0]
            if re.fullmatch(r"# [\w.]+\.py", first):
                (self.work / first[2:]).write_text(block.text)
            else:
                exec(compile(block.text, where, "exec"), {"__name__": f"readme_{block.line}"})  # noqa: S102
        elif block.language == "bash":
            for line in block.text.splitlines():
                self.command(line, where)
        elif block.language == "yaml":
            shutil.rmtree(self.work / "runs", ignore_errors=True)  # a CI job starts from a clean checkout
            for step in re.findall(r"^\s*run:\s*(.+)$", block.text, re.MULTILINE):
                self.command(step, where)
        elif block.language == "toml":
            tomllib = pytest.importorskip("tomllib", reason="in the standard library from Python 3.11")
            tomllib.loads(block.text)


def write_images(folder: Path, classes: tuple[str, ...], per_class: int, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    for name in classes:
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{i:03d}.png")


def own_data_files(work: Path, home: Path, monkeypatch) -> None:
    """~/data/pets (class folders of 8×8 colour PNGs) and the arrays the section's commands read."""
    rng = np.random.default_rng(0)
    write_images(home / "data" / "pets", ("cat", "dog"), 60, (8, 8))
    np.save(work / "scans.npy", rng.normal(size=(300, 8, 8)).astype(np.float32))
    np.savez(work / "cells.npz", x=rng.integers(0, 2, (300, 6, 6)).astype(np.float32))
    np.savez(work / "counts.npz", x=rng.integers(0, 17, (300, 8, 8)), y=rng.integers(0, 3, 300))
    torch.save(torch.from_numpy(rng.normal(size=(300, 4)).astype(np.float32)), work / "features.pt")


def torchvision_files(work: Path, home: Path, monkeypatch) -> None:
    """MNIST's four IDX files in ~/datasets/MNIST/raw, and CIFAR-10's download replaced by one that
    writes the python archive's files (each with enough training images for the default 5000 val)."""
    import torchvision
    from test_torchvision_sets import write_idx

    rng = np.random.default_rng(0)
    raw = home / "datasets" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 6000), ("t10k", 60)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))

    def fake_download(url, download_root, filename=None, md5=None, **kwargs):
        folder = Path(download_root) / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        for name, n in {**{f"data_batch_{i}": 1200 for i in range(1, 6)}, "test_batch": 60}.items():
            batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": rng.integers(0, 10, n).tolist()}
            with open(folder / name, "wb") as file:
                pickle.dump(batch, file)
        with open(folder / "batches.meta", "wb") as file:
            pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, file)

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", fake_download)
    # The official md5 sums cannot match these files: their presence stands in for the check.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: Path(path).is_file())


def digit_pngs(work: Path, home: Path, monkeypatch) -> None:
    """my-samples/: 359 grey 8×8 PNGs on digits' 17-level grid, as samples made elsewhere would be."""
    rng = np.random.default_rng(0)
    (work / "my-samples").mkdir()
    for i in range(359):
        pixels = (rng.integers(0, 17, (8, 8)) * 255 // 16).astype(np.uint8)
        Image.fromarray(pixels).save(work / "my-samples" / f"{i:03d}.png")


SETUP: dict[str, Callable[[Path, Path, pytest.MonkeyPatch], None]] = {
    "First commands": digit_pngs,
}


def runnable_sections() -> list[str]:
    return [title for title, blocks in sections().items()
            if any(b.language in RUNNABLE and not b.not_run for b in blocks)]


FAST: set[str] = set()  # every section with code trains a model or collects the whole suite: seconds or more


@pytest.fixture
def forget_readme_modules():
    import sys

    yield
    sys.modules.pop("mymodels", None)


@pytest.mark.parametrize("title", [t if t in FAST else pytest.param(t, marks=pytest.mark.slow)
                                   for t in runnable_sections()])
def test_readme_section_runs(title, workspace, cli, monkeypatch, forget_readme_modules):
    work, home = workspace
    SETUP.get(title, lambda *args: None)(work, home, monkeypatch)
    shell = Shell(work, home, cli, monkeypatch)
    try:
        for block in sections()[title]:
            shell.block(block)
    finally:
        for cleanup in shell.cleanups:
            cleanup()
    CHECKS.get(title, lambda work: None)(work)


def check_ci_gate(work: Path) -> None:
    assert (work / "results" / "baselines" / "my-models.json").is_file() and (work / "runs" / "ci").is_dir()


def check_sweep(work: Path) -> None:
    for run in ("sweep", "sweep-jobs", "ray"):
        frame = pd.read_csv(work / "runs" / run / "metrics.csv", keep_default_na=False)
        assert list(dict.fromkeys(frame.dataset)) == ["digits", "rings"] and (frame.status != "failed").all(), run


def check_python_run(work: Path) -> None:
    records = pd.read_csv(work / "runs" / "first" / "metrics.csv", keep_default_na=False)
    assert {"vae", "gan"} <= set(records.model) and (work / "runs" / "first" / "report.html").is_file()


def check_cli_runs(work: Path) -> None:
    scored = [p for p in (work / "runs").iterdir() if "my-samples" in p.name]
    assert len(scored) == 1, "genbench score wrote one run directory for the folder"
    records = pd.read_csv(scored[0] / "metrics.csv", keep_default_na=False)
    assert "my-samples" in set(records.model)


CHECKS: dict[str, Callable[[Path], None]] = {
    "First commands": check_cli_runs,
    "From Python": check_python_run,
}


def test_every_runnable_block_belongs_to_a_section_that_runs():
    """A code block in a language the harness does not run would go untested: list the languages."""
    languages = {b.language for blocks in sections().values() for b in blocks}
    assert languages <= {"", *RUNNABLE}, languages - {"", *RUNNABLE}


def test_the_readme_links_resolve():
    """The README is the entrance to the docs: each of its relative links names a file or folder that exists."""
    text = README.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if "://" not in t]
    assert targets, "the README links into docs/"
    missing = [t for t in targets if not (README.parent / t).exists()]
    assert missing == []
