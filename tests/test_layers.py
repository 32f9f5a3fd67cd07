"""genbench's layers, checked on the source: imports point down, and nothing imports in a loop.

Bottom: the contract, configs, data and records (``genbench`` modules not named below). Middle: the
baselines and metrics, which know only the bottom. Top: registries, the run service, runner, scoring, report, CLI.
Every import counts, a function's too (an import inside a function is a dependency all the same),
except those under ``if TYPE_CHECKING:``, which are for type checkers only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"genbench": "genbench", "baselines": "genbench.baselines", "metrics": "genbench.metrics"}
TOP = {"genbench", "genbench.catalog", "genbench.cli", "genbench.__main__", "genbench.runner", "genbench.scoring",
       "genbench.evaluation", "genbench.model_plan", "genbench.run_config", "genbench.reference_stats",
       "genbench.check", "genbench.testing", "genbench.report", "genbench.ship_classifiers", "genbench.sweep",
       "genbench.cells", "genbench.executors", "genbench.service"}
"""Top-layer modules (and packages, with everything in them)."""
MIDDLE = ("genbench.baselines", "genbench.metrics")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join([FOLDERS[parts[0]], *parts[1:]])
    return name.removesuffix(".__init__")


def modules() -> dict[str, Path]:
    return {module_name(p): p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py")}


def layer(name: str) -> str:
    if any(name == t or name.startswith(t + ".") for t in TOP if t != "genbench") or name == "genbench":
        return "top"
    if name.startswith(MIDDLE):
        return "middle"
    return "bottom"


def type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The genbench modules ``name`` imports (a package import counts as its ``__init__``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = type_checking_lines(tree)
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names)
    return {m for m in found if m in known and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_imports_point_down(graph):
    rank = {"bottom": 0, "middle": 1, "top": 2}
    upward = sorted(f"{a} ({layer(a)}) imports {b} ({layer(b)})" for a, deps in graph.items() for b in deps
                    if rank[layer(b)] > rank[layer(a)])
    assert upward == []


def test_no_import_loops(graph):
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" → ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_walk_sees_what_it_checks(graph):
    """A check that found nothing because it read nothing would pass: the graph holds known edges."""
    assert "genbench.model" in graph["genbench.metric"]
    assert "genbench.model" in graph["genbench.baselines.vae"]
    assert layer("genbench.report.marks") == "top" and layer("genbench.metrics.fidelity") == "middle"
    assert layer("genbench.model") == "bottom"


def test_the_report_imports_no_torch():
    code = ("import sys, genbench.report, genbench.report.terminal, genbench.check; "
            "print(sorted(m for m in ('torch', 'torchvision', 'torch_fidelity') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
