"""Injected faults, one test each: a full disk at each kind of write, corrupt files, bad samples, bad data,
out of memory and a metric that raises. Each ends the way the README's "Checkpoints, resuming and
failures" section says: one line and an intact, resumable run directory, or one failed cell and a run
that goes on."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genbench.baselines.gan import GAN
from genbench.baselines.pca import PCA
from genbench.checkpoint import checkpoint_paths, load_checkpoint, save_checkpoint
from genbench.errors import CheckpointError
from genbench.infra import atomic
from genbench.infra.cache import Cache
from genbench.infra.rundir import RunDir
from genbench.records import untimed

FAST = ["--models", "naive-bayes,pca,gan", "--epochs", "2", "--metrics", "fidelity,log-likelihood:k=4", "--quiet"]


def leftovers(folder: Path) -> list[Path]:
    """Temporary files of atomic writes (``.NAME.XXXX.tmp``) left in ``folder``."""
    return sorted(folder.rglob(".*.tmp"))


def full_disk(monkeypatch, hits, after: int = 0) -> None:
    """Every atomic write whose path ``hits`` fails with ENOSPC halfway (after writing its bytes) once
    ``after`` such writes have succeeded."""
    real = atomic.write_atomic
    seen = {"writes": 0}

    def write_atomic(path, write, *, binary=False):
        if hits(Path(path)):
            seen["writes"] += 1
            if seen["writes"] > after:
                def half(handle):
                    write(handle)
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real(path, half, binary=binary)
        return real(path, write, binary=binary)

    monkeypatch.setattr(atomic, "write_atomic", write_atomic)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_full_disk_writing_metrics_csv_stops_the_run_with_what_finished_intact(tmp_path, cli, monkeypatch):
    out = tmp_path / "r"
    full_disk(monkeypatch, lambda path: path.name == "metrics.csv", after=1)
    result = cli("run", *FAST, "--out", out)
    assert result.code == 1
    line = one_line(result.err)
    assert f"cannot write or read {out / 'metrics.csv'}: No space left on device" in line
    assert f"genbench run --resume --out {out}" in line
    assert set(RunDir(out).read_metrics().model) == {"naive-bayes"}, "the first cell, intact"
    assert leftovers(out) == []
    monkeypatch.undo()
    assert cli("run", "--resume", "--out", out).code == 0
    assert set(RunDir(out).read_metrics().model) == {"naive-bayes", "pca", "gan", "real-data"}


def test_a_full_disk_writing_a_checkpoint_stops_the_run_and_resume_retrains_that_model(tmp_path, cli, monkeypatch):
    out = tmp_path / "r"
    full_disk(monkeypatch, lambda path: path.parent.name == "checkpoints" and path.name.startswith("gan"))
    result = cli("run", *FAST, "--out", out)
    assert result.code == 1 and "gan-seed0.pt: No space left on device" in one_line(result.err)
    assert set(RunDir(out).read_metrics().model) == {"naive-bayes", "pca"}
    assert leftovers(out) == [] and not checkpoint_paths(out / "checkpoints" / "gan-seed0")[0].exists()
    monkeypatch.undo()
    assert cli("run", "--resume", "--out", out).code == 0
    assert (RunDir(out).read_metrics().status != "failed").all()


def test_a_full_disk_writing_a_cache_entry_is_one_line_before_any_run_directory(tmp_path, cli, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GENBENCH_CACHE_DIR", str(cache))
    full_disk(monkeypatch, lambda path: cache in path.parents)
    result = cli("run", *FAST, "--out", tmp_path / "r")
    assert result.code == 1 and "No space left on device" in one_line(result.err) and str(cache) in result.err
    assert not (tmp_path / "r").exists() and leftovers(cache) == []


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_cache_entry_is_recomputed_never_trusted(tmp_path, caplog, damage):
    cache, parts = Cache(tmp_path, "features"), {"dataset": "x", "n": 3}
    computed = []

    def compute():
        computed.append(1)
        return {"features": torch.arange(1000.0)}, {"n": 3}

    first = cache.fetch(parts, compute)[0]
    tensor_file = cache.paths(parts)[0]
    content = bytearray(tensor_file.read_bytes())
    if damage == "flip":
        content[len(content) // 2] ^= 0x01  # one bit of the tensor's data: torch.load would read it silently
    else:
        content = content[: len(content) // 2]
    tensor_file.write_bytes(bytes(content))
    with caplog.at_level(logging.WARNING, logger="genbench"):
        again, _, hit = cache.fetch(parts, compute)
    assert not hit and len(computed) == 2 and "recomputing it" in caplog.text
    assert torch.equal(again["features"], first["features"])
    assert cache.fetch(parts, compute)[2], "the recomputed entry is trusted again"


def test_a_checkpoint_with_a_flipped_bit_is_refused_with_its_reason(tmp_path, digits):
    model = PCA().fit(digits.train)
    weights, _ = save_checkpoint(model, tmp_path / "pca")
    content = bytearray(weights.read_bytes())
    content[-200] ^= 0x01
    weights.write_bytes(bytes(content))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(tmp_path / "pca", model_class=PCA)


@pytest.mark.parametrize("bad_samples, says", [
    (lambda n: torch.full((n, 1, 8, 8), float("nan")), f"{64 * 359} of {64 * 359} values are NaN or infinite"),
    (lambda n: torch.zeros(n, 1, 4, 4), "has example shape (1, 4, 4); digits has (1, 8, 8)"),
    (lambda n: torch.full((n, 1, 8, 8), 2.0), "values lie outside [0, 1] (from 2 to 2)"),
])
def test_bad_samples_fail_their_model_with_the_reason_and_the_run_goes_on(tmp_path, cli, monkeypatch,
                                                                         bad_samples, says):
    monkeypatch.setattr(GAN, "_sample", lambda self, n, generator: bad_samples(n))
    out = tmp_path / "r"
    result = cli("run", *FAST, "--out", out)
    assert result.code == 1 and "gan seed 0" in result.err
    frame = RunDir(out).read_metrics()
    gan = frame[(frame.model == "gan") & (frame.metric == "fid")]
    assert (gan.status == "failed").all() and gan.reason.str.contains(says, regex=False).all(), gan.reason.tolist()
    others = frame[frame.model != "gan"]
    assert (others.status != "failed").all() and set(others.model) == {"naive-bayes", "pca", "real-data"}


@pytest.mark.parametrize("value, says", [(np.nan, "holds 3 NaN and 0 infinite values"),
                                         (np.inf, "holds 0 NaN and 3 infinite values")])
def test_a_dataset_with_nan_or_inf_is_refused_before_training(tmp_path, cli, value, says):
    x = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    x[[3, 50, 299], 1] = value
    np.save(tmp_path / "bad.npy", x)
    result = cli("run", "--dataset", tmp_path / "bad.npy", *FAST, "--out", tmp_path / "r")
    assert result.code == 2 and f"bad.npy {says} (of 1200)" in one_line(result.err)
    assert not (tmp_path / "r").exists()


def test_out_of_memory_inside_a_metric_fails_that_metric_alone(tmp_path, cli, monkeypatch):
    from genbench.metrics.likelihood import LogLikelihood

    def out_of_memory(self, model, data, context):
        if model.name == "pca":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return real(self, model, data, context)

    real = LogLikelihood.compute
    monkeypatch.setattr(LogLikelihood, "compute", out_of_memory)
    out = tmp_path / "r"
    assert cli("run", *FAST, "--out", out).code == 1
    frame = RunDir(out).read_metrics()
    pca = frame[frame.model == "pca"].set_index("metric")
    assert pca.loc["log_likelihood", "status"] == "failed" and "OutOfMemoryError" in pca.loc["log_likelihood", "reason"]
    assert pca.loc["fid", "status"] == "ok", "the model's other metrics are measured"
    assert (frame[frame.model != "pca"].status != "failed").all()


def test_a_metric_that_raises_fails_its_records_and_the_run_goes_on(tmp_path, cli, monkeypatch):
    from genbench.metrics.fidelity import Fidelity

    def broken(self, model, data, context):
        raise KeyError("a plugin's bug")

    monkeypatch.setattr(Fidelity, "compute", broken)
    out = tmp_path / "r"
    result = cli("run", *FAST, "--out", out)
    assert result.code == 1 and "internal error" not in result.err
    frame = RunDir(out).read_metrics()
    fid = frame[frame.metric == "fid"]
    assert (fid.status == "failed").all() and fid.reason.str.contains("KeyError: \"a plugin's bug\"").all()
    likelihood = untimed(frame[(frame.metric == "log_likelihood") & (frame.model != "real-data")])
    assert set(likelihood.model) == {"naive-bayes", "pca", "gan"}
    assert set(likelihood[likelihood.model != "gan"].status) == {"ok"}


def test_resume_removes_the_temporary_files_of_killed_writers_only(tmp_path):
    from genbench.infra.atomic import remove_orphans

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / "checkpoints" / f".vae-seed0.pt.{dead.pid}.k2x9q.tmp"
    live = tmp_path / f".metrics.csv.{os.getpid()}.a81zz.tmp"
    orphan.parent.mkdir()
    orphan.write_bytes(b"half a checkpoint")
    live.write_text("a write in progress")
    assert remove_orphans(tmp_path) == [orphan]
    assert not orphan.exists() and live.exists()
