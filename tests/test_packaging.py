"""One distribution, one namespace: baselines/ and metrics/ exist only as genbench.baselines/metrics."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import genbench

BANNED = {"metrics", "baselines"}


def python_files(root: Path) -> list[Path]:
    return [p for d in ("genbench", "baselines", "metrics", "tests") for p in (root / d).rglob("*.py")]


def test_no_bare_imports_of_the_mapped_folders(repo_root):
    offenders = []
    for path in python_files(repo_root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(repo_root)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in BANNED]
    assert offenders == []


def test_subpackages_import_inside_the_namespace():
    from genbench import catalog  # imports every baseline and metric

    assert catalog.MODELS.get("vae").__module__ == "genbench.baselines.vae"
    assert catalog.METRICS.get("log-likelihood").__module__ == "genbench.metrics.likelihood"
    assert not BANNED & set(sys.modules), "a second, top-level copy of a subpackage was imported"
    assert importlib.util.find_spec("metrics") is None or "site-packages" not in str(
        importlib.util.find_spec("metrics").origin
    )


def test_importing_genbench_loads_nothing_heavy():
    code = "import sys, genbench; print(sorted(m for m in ('torch', 'pandas', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_built_wheel_installs_only_the_genbench_namespace(repo_root, tmp_path):
    pytest.importorskip("setuptools")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(repo_root)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("genbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"genbench"}
    assert "genbench/baselines/vae.py" in names
    packages = {p.relative_to(repo_root).as_posix() for p in (repo_root / "genbench").rglob("__init__.py")}
    assert packages - set(names) == set(), "a package folder is missing from pyproject.toml's packages"
    assert "genbench/metrics/likelihood.py" in names
    assert {"genbench/features/shipped/domain-digits.pt", "genbench/features/shipped/domain-digits.json"} <= set(names)
    assert genbench.__version__ in wheel.name


@pytest.mark.skipif(not __import__("os").environ.get("GENBENCH_EXPECT_INSTALLED"), reason="only under tox")
def test_under_tox_the_installed_package_is_tested(repo_root):
    """tox sets GENBENCH_EXPECT_INSTALLED: genbench must then come from the built wheel."""
    import genbench.baselines
    import genbench.metrics

    for module in (genbench, genbench.baselines, genbench.metrics):
        path = Path(module.__file__).resolve()
        assert "site-packages" in path.parts, path
        assert path.parent not in {repo_root / "genbench", repo_root / "baselines", repo_root / "metrics"}, path
