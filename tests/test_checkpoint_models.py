"""Measuring trained checkpoints without training: `--models NAME:checkpoint=PATH` and `--checkpoints DIR`."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

import genbench
from genbench.infra.rundir import RunDir
from genbench.records import untimed

METRICS = ["--metrics", "log-likelihood:k=4,fidelity"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    from genbench.cli import main

    out = tmp_path_factory.mktemp("runs") / "trained"
    assert main(["run", "--models", "pca,vae,gan", "--seeds", "0,1", "--budget", "smoke", "--out", str(out),
                 "--quiet", *METRICS]) == 0
    return out


def measured(out) -> pd.DataFrame:
    """The figures of a run, wall-clock ones and provenance aside, in one row order."""
    frame = untimed(RunDir(out).read_metrics()).drop(columns="details")
    return frame.sort_values(["seed", "model", "metric"], kind="stable").reset_index(drop=True)


def test_a_folder_of_checkpoints_measures_to_the_same_figures(trained_run, tmp_path, cli):
    out = tmp_path / "again"
    result = cli("run", "--checkpoints", trained_run / "checkpoints", "--out", out, "--quiet", *METRICS)
    assert result.code == 0, result.err
    pd.testing.assert_frame_equal(measured(out), measured(trained_run))  # same seeds, same figures, no training
    assert not (out / "checkpoints").exists() and "fit_seconds" not in (out / "timings.json").read_text()
    config = json.loads((out / "config.json").read_text())
    assert config["run"]["seeds"] == [0, 1]
    vae = config["models"]["vae"]
    saved = json.loads((trained_run / "checkpoints" / "vae-seed1.json").read_text())
    assert vae["checkpoints"]["1"]["sha256"] == saved["sha256"]
    assert vae["checkpoints"]["1"]["path"].endswith("vae-seed1")
    assert vae["checkpoints"]["1"]["trained_on"]["dataset"] == "digits"
    assert vae["config"]["budget"] == "smoke"  # the checkpoint's own options
    frame = RunDir(out).read_metrics()
    details = json.loads(frame[(frame.model == "gan") & (frame.metric == "fid") & (frame.seed == 0)].details.iloc[0])
    assert details["checkpoint"]["sha256"] == json.loads((trained_run / "checkpoints" / "gan-seed0.json").read_text())[
        "sha256"]


def test_one_checkpoint_beside_trained_models(trained_run, tmp_path, cli):
    out = tmp_path / "mixed"
    stem = trained_run / "checkpoints" / "vae-seed0"
    result = cli("run", "--models", f"naive-bayes,vae:checkpoint={stem}.pt:label=vae-from-elsewhere", "--out", out,
                 "--quiet", *METRICS)
    assert result.code == 0, result.err
    frame = measured(out)
    assert set(frame.model) == {"naive-bayes", "vae-from-elsewhere", "real-data"}
    mine = frame[frame.model == "vae-from-elsewhere"].drop(columns="model").reset_index(drop=True)
    theirs = measured(trained_run)
    theirs = theirs[(theirs.model == "vae") & (theirs.seed == 0)].drop(columns="model").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs)


def test_a_seed_pattern_gives_one_checkpoint_per_seed(trained_run, tmp_path, cli):
    pattern = trained_run / "checkpoints" / "gan-seed{seed}"
    out = tmp_path / "seeded"
    assert cli("run", "--models", f"gan:checkpoint={pattern}", "--seeds", "1", "--out", out, "--quiet",
               "--metrics", "fidelity").code == 0
    config = json.loads((out / "config.json").read_text())
    assert list(config["models"][f"gan:checkpoint={pattern}"]["checkpoints"]) == ["1"]
    result = cli("run", "--models", f"gan:checkpoint={pattern}", "--seeds", "0,2", "--out", tmp_path / "x", "--quiet")
    assert result.code == 2 and f"no checkpoint at {trained_run}/checkpoints/gan-seed2.json (seed 2)" in result.err


@pytest.mark.parametrize("spec, says", [
    ("vae:checkpoint={ckpt}/vae-seed0:latent_dim=3", "takes its options from the checkpoint; drop latent_dim=3"),
    ("vae:checkpoint={ckpt}/gan-seed0", "gan-seed0.json holds a 'gan' model, not a 'vae'"),
    ("vae:checkpoint={ckpt}/nothing-here", "no checkpoint at"),
    ("vae,vae:checkpoint={ckpt}/vae-seed0:label=vae", "two columns would be called 'vae'"),
])
def test_bad_checkpoint_specs_are_one_line_exit_2(trained_run, tmp_path, cli, spec, says):
    result = cli("run", "--models", spec.format(ckpt=trained_run / "checkpoints"), "--out", tmp_path / "r", "--quiet")
    assert result.code == 2 and says in result.err and result.err.count("\n") == 1, result.err
    assert not (tmp_path / "r" / "metrics.csv").exists()


def test_a_checkpoint_trained_on_other_data_is_refused(tmp_path, cli, digits):
    other = genbench.load_dataset("shapes")
    genbench.make_model("naive-bayes").fit(other.train).save(tmp_path / "nb-shapes")
    result = cli("run", "--models", f"naive-bayes:checkpoint={tmp_path / 'nb-shapes'}", "--out", tmp_path / "r",
                 "--quiet", "--metrics", "log-likelihood")
    assert result.code == 2
    assert "was trained on shapes (training fingerprint" in result.err and "not on this run's digits" in result.err
    assert not (tmp_path / "r" / "metrics.csv").exists()


def test_a_model_saved_from_python_measures_as_its_own_column(tmp_path, cli, digits):
    model = genbench.make_model("naive-bayes", alpha=0.5).fit(digits.train, generator=torch.Generator().manual_seed(0))
    model.save(tmp_path / "saved" / "nb-alpha")
    out = tmp_path / "r"
    assert cli("run", "--checkpoints", tmp_path / "saved", "--out", out, "--quiet", "--metrics", "log-likelihood",
               "--seeds", "0,1").code == 0
    frame = RunDir(out).read_metrics()
    ll = frame[frame.metric == "log_likelihood"]
    assert set(ll.model) == {"nb-alpha"} and sorted(ll.seed) == [0, 1]
    expected = model.log_prob(digits.test.x).double().mean().item()
    assert ll.value.iloc[0] == pytest.approx(expected, rel=1e-12)
