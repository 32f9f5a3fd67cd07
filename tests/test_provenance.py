"""The machine behind the figures: two runs with torch's CPU kernels forced to the same instruction set give
the same metrics.csv, and environment.json and every record say which instruction set it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from genbench.infra.rundir import RunDir
from genbench.records import untimed

pytestmark = pytest.mark.slow

ARGS = ["--models", "vae,gan", "--metrics", "fidelity", "--seeds", "0", "--budget", "smoke", "--threads", "1",
        "--quiet"]


def run_forced(out: Path, capability: str | None) -> pd.DataFrame:
    """A run with the kernels forced to ``capability`` (None: the CPU's best, as torch chooses)."""
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if capability is not None:
        env["ATEN_CPU_CAPABILITY"] = capability
    result = subprocess.run([sys.executable, "-m", "genbench", "run", *ARGS, "--out", str(out)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return untimed(RunDir(out).read_metrics(required=True))


def recorded_instruction_set(out: Path) -> str:
    return json.loads((out / "environment.json").read_text())["device"]["instruction_set"]


@pytest.fixture(scope="module")
def avx2_runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("forced")
    run_forced(root / "a", "avx2")
    run_forced(root / "b", "avx2")
    return root / "a", root / "b"


def test_the_same_forced_instruction_set_reproduces_metrics_csv_exactly(avx2_runs):
    a, b = avx2_runs
    pd.testing.assert_frame_equal(untimed(RunDir(a).read_metrics()), untimed(RunDir(b).read_metrics()))
    assert recorded_instruction_set(a) == recorded_instruction_set(b) == "AVX2"
    details = json.loads(RunDir(a).read_metrics().details.iloc[0])
    assert details["machine"]["instruction_set"] == "AVX2"


def test_another_instruction_set_is_recorded_and_moves_only_trained_figures(avx2_runs, tmp_path):
    """Left to the CPU's best (AVX512 where it has it), the run names that instruction set. Real data's
    figures (no training, the same shipped classifier) stay the same to the stored digits' tolerance; a trained
    model's may move in their last digits, the difference the README quotes."""
    a, _ = avx2_runs
    best = run_forced(tmp_path / "best", None)
    here = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                          capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}).stdout.strip()
    assert recorded_instruction_set(tmp_path / "best") == here
    forced = untimed(RunDir(a).read_metrics())
    real = forced.model == "real-data"
    pd.testing.assert_series_equal(forced[real].value.reset_index(drop=True),
                                   best[best.model == "real-data"].value.reset_index(drop=True), rtol=1e-4)
    if here == "AVX2":
        pd.testing.assert_frame_equal(forced, best)
    fid = {model: (forced[(forced.model == model) & (forced.metric == "fid")].value.item(),
                   best[(best.model == model) & (best.metric == "fid")].value.item()) for model in ("vae", "gan")}
    print(f"FID forced AVX2 against {here}: {fid}")
