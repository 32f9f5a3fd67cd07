"""The README's code blocks, run: a snippet that drifts from the code fails here.

Each ``##`` section is one test, run in a fresh folder: its blocks in order, a ``python`` block
executed (one whose first line is ``# NAME.py`` is written to that file instead, to be imported),
each ``genbench`` line of a ``bash`` block run through the command line in this process. Commands
that train run at the smoke budget (``--budget smoke`` is added where no budget or epochs are
given) and quietly. Lines that are not genbench commands (``pip install``, ``export``) are the
installation's, which CI runs from the project's own files.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int


def sections() -> dict[str, list[Block]]:
    """The README's code blocks by ``##`` section."""
    text = README.read_text(encoding="utf-8")
    heads = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.+)$", text, re.MULTILINE)]
    found: dict[str, list[Block]] = {}
    for match in BLOCK.finditer(text):
        title = next((t for start, t in reversed(heads) if start < match.start()), "(top)")
        line = text.count("\n", 0, match.start()) + 1
        found.setdefault(title, []).append(Block(match.group(1), match.group(2), line))
    return found


def genbench_lines(block: Block) -> list[list[str]]:
    """The genbench commands of a bash block, as argument lists (comments dropped)."""
    commands = []
    for line in block.text.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "genbench":
            commands.append(words[1:])
    return commands


def smoke(args: list[str]) -> list[str]:
    """A command as the test runs it: quietly, and at the smoke budget where it trains."""
    if args[0] == "run" and not {"--budget", "--epochs", "--checkpoints"} & set(args):
        args = [*args, "--budget", "smoke"]
    return [*args, "--quiet"] if args[0] in ("run", "score") else args


def run_section(title: str, tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for block in sections()[title]:
        where = f"README.md line {block.line}"
        if block.language == "python":
            first = block.text.splitlines()[0]
            if re.fullmatch(r"# [\w.]+\.py", first):
                (tmp_path / first[2:]).write_text(block.text)
            else:
                exec(compile(block.text, where, "exec"), {"__name__": f"readme_{block.line}"})  # noqa: S102
        elif block.language == "bash":
            for args in genbench_lines(block):
                result = cli(*smoke(args))
                assert result.code == 0, f"{where}: genbench {' '.join(args)} exited {result.code}: {result.err}"


@pytest.fixture
def forget_readme_modules():
    import sys

    yield
    sys.modules.pop("mymodels", None)


@pytest.mark.slow  # about 4 min on 2 CPU cores, 3 of them Inception features of 1077 images
def test_benchmark_your_own_model(tmp_path, cli, monkeypatch, forget_readme_modules):
    """All four routes, in the README's order: a class (checked, then run), checkpoints, samples, statistics."""
    run_section("Benchmark your own model", tmp_path, cli, monkeypatch)
    import pandas as pd

    mine = pd.read_csv(tmp_path / "runs" / "mine" / "metrics.csv", keep_default_na=False)
    assert list(dict.fromkeys(mine.model)) == ["mymodels:CategoricalMixture",
                                               "mymodels:CategoricalMixture:components=20", "gan", "gan-file",
                                               "real-data"]
    ll = mine[mine.metric == "log_likelihood"].set_index("model")
    assert ll.loc["mymodels:CategoricalMixture", "estimator"] == "exact"
    again = pd.read_csv(tmp_path / "runs" / "again" / "metrics.csv", keep_default_na=False)
    assert {"mymodels_CategoricalMixture", "gan"} <= set(again.model)
    inception = pd.read_csv(tmp_path / "runs" / "inception" / "metrics.csv", keep_default_na=False)
    assert set(inception[inception.metric == "kid"].extractor) == {"inception"}
