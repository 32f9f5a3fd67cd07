"""genbench's layers, checked on the source: imports point down, and nothing imports in a loop.

A module's layer is its folder's (``LAYERS``). Bottom: the contracts, configs and records at the package's top,
datasets (``genbench/data/``) and the infrastructure (``genbench/infra/``). Middle: the baselines, the feature
extractors and the metrics (``baselines/``, ``genbench/features/``, ``metrics/``), which know only the bottom (and
the metrics the extractors, never the other way round). Top: the run service (``genbench/service/``), the
report (``genbench/report/``) and the CLI (``genbench/cli/``), and the front doors (``FRONT_DOORS``).
Every import counts, a function's too (an import inside a function is a dependency all the same), and those
under ``if TYPE_CHECKING:`` too: a reader follows a type to its module as the interpreter follows an import, so
no loop may close even through a type-only import (a module names the shape it needs, a ``Protocol``, where the
class would close one).
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"genbench": "genbench", "baselines": "genbench.baselines", "metrics": "genbench.metrics"}
"""The repository's folders of code and the package each is installed as."""
LAYERS = {"genbench": "bottom", "genbench/data": "bottom", "genbench/infra": "bottom",
          "baselines": "middle", "baselines/diffusion": "middle", "genbench/features": "middle", "metrics": "middle",
          "genbench/service": "top", "genbench/report": "top", "genbench/cli": "top"}
"""The layer of each folder; a module's layer is that of the deepest folder named here that holds it."""
FRONT_DOORS = {"genbench", "genbench.__main__", "genbench.catalog", "genbench.testing"}
"""The one exception to the folders: the modules at the package's top that a user imports to reach the layers
below: ``genbench`` itself (``genbench.run``, ``genbench.evaluate``) and ``python -m genbench``, the registries
(which name every baseline and metric) and ``check_model`` (which loads datasets and saved models through
``genbench``). They sit beside the contracts so that their import paths stay short and public."""
INFRA_MAY_IMPORT = {"genbench.errors", "genbench.records"}
"""All that ``genbench.infra`` imports of genbench outside itself: its errors and the records it writes."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join([FOLDERS[parts[0]], *parts[1:]])
    return name.removesuffix(".__init__")


@functools.cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py")}


def folder_layer(path: Path) -> str:
    folder = path.relative_to(ROOT).parent.parts
    return next(LAYERS["/".join(folder[:n])] for n in range(len(folder), 0, -1) if "/".join(folder[:n]) in LAYERS)


def layer(name: str) -> str:
    return "top" if name in FRONT_DOORS else folder_layer(modules()[name])


def type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(name: str, path: Path, known: set[str], type_only: bool = True) -> set[str]:
    """The genbench modules ``name`` imports (a package import counts as its ``__init__``), those under
    ``if TYPE_CHECKING:`` too unless ``type_only`` is False."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if type_only else type_checking_lines(tree)
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
    """Type-only imports included: the three loops that closed through them (catalog → executors → … → catalog,
    checkpoint ↔ model, features ↔ metric; lecture ↔ table too) are gone."""
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


def test_infrastructure_knows_nothing_of_the_rest(graph):
    outward = sorted(f"{a} imports {b}" for a, deps in graph.items() if a.startswith("genbench.infra.")
                     for b in deps if not b.startswith("genbench.infra.") and b not in INFRA_MAY_IMPORT)
    assert outward == []


def test_feature_extractors_know_no_metric(graph):
    """The extractors are a package of their own beside the metrics that use them: the metrics import the
    extractors, never the other way round."""
    upward = sorted(f"{a} imports {b}" for a, deps in graph.items() if a.startswith("genbench.features")
                    for b in deps if b.startswith("genbench.metrics."))
    assert "genbench.features.adapters" in graph["genbench.metrics.feature_space"]
    assert upward == []


def test_every_folder_has_a_layer():
    """A new folder of code says where it belongs, rather than falling into its parent's layer unseen."""
    folders = {"/".join(p.parent.relative_to(ROOT).parts[:2]) for p in modules().values()}
    assert folders - set(LAYERS) == set()
    assert FRONT_DOORS <= set(modules()) and all(name.count(".") <= 1 for name in FRONT_DOORS)


def test_the_walk_sees_what_it_checks(graph):
    """A check that found nothing because it read nothing would pass: the graph holds known edges."""
    assert "genbench.model" in graph["genbench.metric"]
    assert "genbench.model" in graph["genbench.baselines.vae"]
    assert "genbench.infra.atomic" in graph["genbench.infra.rundir"]
    assert "genbench.service.runner" in graph["genbench.service.sweep"]
    assert "genbench.service.request" in graph["genbench.service.run_config"]  # under TYPE_CHECKING
    assert layer("genbench.report.marks") == "top" and layer("genbench.metrics.fidelity") == "middle"
    assert layer("genbench.service.executors.local") == "top" and layer("genbench.catalog") == "top"
    assert layer("genbench.model") == "bottom" and layer("genbench.infra.rundir") == "bottom"
    assert layer("genbench.data.splits") == "bottom"


def test_the_report_imports_no_torch():
    """Every module under genbench.report, and the check command's service, leave torch unimported: what must
    run a model is computed in the cell (genbench.service.cell_figures) and handed over as arrays."""
    report = sorted(name for name in modules() if name == "genbench.report" or name.startswith("genbench.report."))
    assert len(report) >= 15 and "genbench.report.samples" in report
    code = (f"import sys, genbench.service.check, {', '.join(report)}; "
            "print(sorted(m for m in ('torch', 'torchvision', 'torch_fidelity') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
