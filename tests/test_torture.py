"""Three kill points of the kill/resume torture (``tests/benchmarks/torture.py`` runs twenty)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "benchmarks" / "torture.py"


@pytest.mark.slow
def test_killed_and_resumed_runs_lose_nothing_redo_nothing_and_leave_nothing(tmp_path):
    spec = importlib.util.spec_from_file_location("torture", SCRIPT)
    torture = importlib.util.module_from_spec(spec)
    sys.modules["torture"] = torture  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(torture)
        report = torture.torture(kills=3, seed=0, folder=tmp_path, say=lambda line: None)
    finally:
        del sys.modules["torture"]
    assert len(report.kills) == 3
    assert report.recomputed == [] and report.differing_rows == 0
    assert report.leftovers == [] and report.unloadable == []
