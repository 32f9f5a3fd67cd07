"""Runs survive failures: a failed model is isolated, a killed run resumes, checkpoints are reused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
from PIL import Image

from genbench.baselines.gan import GAN
from genbench.baselines.vae import VAE
from genbench.checkpoint import checkpoint_paths
from genbench.infra.rundir import RunDir
from genbench.records import untimed

FAST = ["--epochs", "2", "--metrics", "log-likelihood:k=4", "--quiet"]


def read_metrics(out):
    return pd.read_csv(out / "metrics.csv", keep_default_na=False)


def test_a_model_that_produces_nan_is_isolated(tmp_path, cli, monkeypatch):
    monkeypatch.setattr(VAE, "loss", lambda self, x, g: torch.tensor(float("nan"), requires_grad=True))
    out = tmp_path / "r"
    result = cli("run", "--models", "naive-bayes,vae,pca", "--out", out, *FAST)
    assert result.code == 1
    assert "1 cell(s) failed: vae seed 0" in result.err
    frame = read_metrics(out)
    vae = frame[frame.model == "vae"]
    assert (vae.status == "failed").all() and vae.reason.str.contains("training loss became nan").all()
    others = frame[frame.model != "vae"]
    assert (others.status == "ok").all() and set(others.model) == {"naive-bayes", "pca"}
    assert "vae" in (out / "table.md").read_text()


def test_out_of_memory_is_isolated(tmp_path, cli, monkeypatch):
    def out_of_memory(self, x, x_val, generator):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(GAN, "_fit", out_of_memory)
    out = tmp_path / "r"
    assert cli("run", "--models", "gan,naive-bayes", "--out", out, *FAST).code == 1
    frame = read_metrics(out)
    assert frame[frame.model == "gan"].reason.str.contains("OutOfMemoryError").all()
    assert (frame[frame.model == "naive-bayes"].status == "ok").all()


def test_every_model_gets_a_sample_grid_and_a_checkpoint(tmp_path, cli):
    out = tmp_path / "r"
    assert cli("run", "--models", "pca,gan", "--out", out, *FAST).code == 0
    for label in ("pca", "gan"):
        with Image.open(out / "samples" / f"{label}-seed0.png") as image:
            assert image.width >= 384
        assert checkpoint_paths(out / "checkpoints" / f"{label}-seed0")[1].exists()
    assert (out / "samples" / "data.png").exists()


def test_resume_reuses_a_checkpoint_instead_of_retraining(tmp_path, cli, monkeypatch):
    out = tmp_path / "r"
    assert cli("run", "--models", "vae", "--out", out, *FAST).code == 0
    before = untimed(RunDir(out).read_metrics())
    (out / "metrics.csv").unlink()  # as if killed after saving the checkpoint, before measuring

    def no_training(self, *args, **kwargs):
        raise AssertionError("retrained although a checkpoint exists")

    monkeypatch.setattr(VAE, "_fit", no_training)
    result = cli("run", "--resume", "--out", out)
    assert result.code == 0, result.err
    pd.testing.assert_frame_equal(untimed(RunDir(out).read_metrics()), before)


def test_resume_with_a_corrupt_checkpoint_fails_that_cell_clearly(tmp_path, cli, monkeypatch):
    out = tmp_path / "r"
    assert cli("run", "--models", "vae,naive-bayes", "--out", out, *FAST).code == 0
    frame = read_metrics(out)
    frame[frame.model != "vae"].to_csv(out / "metrics.csv", index=False)
    weights = checkpoint_paths(out / "checkpoints" / "vae-seed0")[0]
    weights.write_bytes(weights.read_bytes()[:100])
    monkeypatch.setattr(VAE, "_fit", lambda *a, **k: pytest.fail("silently retrained"))
    result = cli("run", "--resume", "--out", out)
    assert result.code == 1
    vae = read_metrics(out).query("model == 'vae'")
    assert (vae.status == "failed").all()
    assert vae.reason.str.contains("checkpoint unusable").all() and vae.reason.str.contains("checksum").all()


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_finished_cells(tmp_path):
    """SIGKILL a real `genbench run` while the VAE trains, then finish it with --resume."""
    out = tmp_path / "r"
    command = [sys.executable, "-m", "genbench", "run", "--models", "naive-bayes,vae,pca", "--epochs", "100",
               "--metrics", "log-likelihood:k=4", "--out", str(out), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if (out / "metrics.csv").exists() and "naive-bayes" in (out / "metrics.csv").read_text():
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    killed = read_metrics(out)
    assert set(killed.model) == {"naive-bayes"}, "the kill came too late to test anything"
    resumed = subprocess.run([sys.executable, "-m", "genbench", "run", "--resume", "--out", str(out)],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 cell(s) already in" in resumed.stderr and "skipped: naive-bayes seed 0" in resumed.stderr
    final = read_metrics(out)
    assert set(final.model) == {"naive-bayes", "vae", "pca"} and (final.status == "ok").all()
    pd.testing.assert_frame_equal(untimed(final[final.model == "naive-bayes"]), untimed(killed))
