"""genbench score (a model known by its samples) and genbench stats / --reference (reference statistics)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import genbench
from genbench.infra.rundir import RunDir
from genbench.service.evaluation import eval_context

FIGURES = ["is", "fid", "kid", "precision", "recall", "density", "coverage"]


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A smoke run of a GAN and a VAE on digits, and the GAN's samples as the run's fidelity metric drew them."""
    from genbench.cli import main

    root = tmp_path_factory.mktemp("score")
    out = root / "run"
    assert main(["run", "--models", "gan,vae", "--budget", "smoke", "--metrics", "log-likelihood:k=4,fidelity",
                 "--out", str(out), "--quiet"]) == 0
    model = genbench.load_model(out / "checkpoints" / "gan-seed0")
    samples = model.draw(359, eval_context(seed=0).generator("fidelity"), 500).numpy()
    np.savez(root / "gan.npz", x=samples)
    folder = root / "gan-pngs"
    folder.mkdir()
    for i, image in enumerate(samples):
        Image.fromarray(np.round(image[0] * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return out, root


def figures_of(out, model):
    frame = RunDir(out).read_metrics()
    rows = frame[(frame.model == model) & frame.metric.isin(FIGURES)].set_index("metric")
    return rows[["value", "stderr", "n", "extractor", "estimator", "status"]]


def test_scoring_saved_samples_reproduces_the_run_to_every_digit(gan_run, tmp_path, cli):
    run, root = gan_run
    result = cli("score", root / "gan.npz", "--dataset", "digits", "--out", tmp_path / "npz", "--quiet")
    assert result.code == 0, result.err
    pd.testing.assert_frame_equal(figures_of(tmp_path / "npz", "gan"), figures_of(run, "gan"))
    assert (figures_of(run, "gan").status == "ok").all()
    frame = RunDir(tmp_path / "npz").read_metrics()
    assert list(dict.fromkeys(frame.model)) == ["gan", "real-data"]
    details = json.loads(frame[frame.metric == "fid"].details.iloc[0])
    assert details["samples"]["rows"] == 359 and details["samples"]["format"] == ".npz"


def test_a_folder_of_pngs_gives_the_same_figures_as_the_array(gan_run, tmp_path, cli):
    run, root = gan_run
    assert cli("score", root / "gan-pngs", "--out", tmp_path / "png", "--quiet", "--label", "gan").code == 0
    pd.testing.assert_frame_equal(figures_of(tmp_path / "png", "gan"), figures_of(run, "gan"))
    frame = RunDir(tmp_path / "png").read_metrics()
    png = json.loads(frame[frame.metric == "fid"].details.iloc[0])["samples"]
    assert png["format"] == "image folder" and png["dtype"] == "uint8"
    npz_sha = json.loads((tmp_path / "png" / "config.json").read_text())["scored"]["gan"]["sha256"]
    assert png["sha256"] == npz_sha  # 8-bit PNGs of 17-level digits come back exactly onto the grid


def test_into_adds_a_column_to_a_finished_run(gan_run, tmp_path, cli):
    run, root = gan_run
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    before = RunDir(copy).read_metrics()
    result = cli("score", root / "gan.npz", "--into", copy, "--label", "my-gan", "--quiet")
    assert result.code == 0, result.err
    after = RunDir(copy).read_metrics()
    pd.testing.assert_frame_equal(after[after.model != "my-gan"].reset_index(drop=True),
                                  before.reset_index(drop=True))
    assert list(dict.fromkeys(after.model)) == ["gan", "vae", "my-gan", "real-data"]
    mine = after[after.model == "my-gan"].set_index("metric")
    assert (mine.loc["log_likelihood", "status"], mine.loc["log_likelihood", "reason"]) == (
        "unavailable", "samples only: log-likelihood needs the model itself, not a file of its samples")
    pd.testing.assert_frame_equal(figures_of(copy, "my-gan"), figures_of(run, "gan"))
    table = (copy / "table.md").read_text()
    assert table.splitlines()[0] == "|  | vae | gan | my-gan | real-data |"  # by family, yours after
    assert "samples only" in table
    assert json.loads((copy / "config.json").read_text())["scored"]["my-gan"]["seed"] == 0
    again = cli("score", root / "gan.npz", "--into", copy, "--label", "my-gan")
    assert again.code == 2 and "already has a column 'my-gan'" in again.err
    assert cli("score", root / "gan-pngs", "--into", copy, "--label", "second", "--quiet").code == 0
    assert list(dict.fromkeys(RunDir(copy).read_metrics().model)) == ["gan", "vae", "my-gan", "second", "real-data"]


def test_into_refuses_options_that_would_change_the_protocol(gan_run, cli):
    run, root = gan_run
    result = cli("score", root / "gan.npz", "--into", run, "--n", "100")
    assert result.code == 2 and "--into measures under the run's own protocol; drop --n" in result.err
    result = cli("score", root / "gan.npz", "--into", run, "--dataset", "rings")
    assert result.code == 2 and "measured digits, not rings" in result.err


def test_too_few_samples_say_how_many_are_needed(gan_run, tmp_path, cli):
    _, root = gan_run
    np.save(tmp_path / "few.npy", np.load(root / "gan.npz")["x"][:200])
    result = cli("score", tmp_path / "few.npy", "--out", tmp_path / "r")
    assert result.code == 2 and not (tmp_path / "r").exists()
    assert ("the samples file holds 200 samples; digits's protocol compares 359 (n: the reference split's size, "
            "at most 10 000); pass --n 200 to score at n = 200") in result.err
    assert cli("score", tmp_path / "few.npy", "--out", tmp_path / "r", "--n", "200", "--quiet").code == 0
    assert set(figures_of(tmp_path / "r", "few").n) == {200}


@pytest.mark.parametrize("array, says", [
    (np.zeros((400, 28, 28), np.uint8), "holds samples of shape (1, 28, 28); digits has examples of shape (1, 8, 8)"),
    (np.full((400, 8, 8), -1.0, np.float32), "holds values in [-1, -1]; digits's lie in [0, 1] (images in [-1, 1]: "
                                             "save (x + 1) / 2)"),
    (np.full((400, 8, 8), 255.0, np.float32), "(8-bit images: save them as uint8, or divide by 255)"),
    (np.full((400, 8, 8), np.nan, np.float32), "holds 25600 NaN or infinite values"),
])
def test_samples_of_the_wrong_shape_or_range_are_refused(array, says, tmp_path, cli):
    np.save(tmp_path / "bad.npy", array)
    result = cli("score", tmp_path / "bad.npy", "--out", tmp_path / "r")
    assert result.code == 2 and says in result.err and result.err.count("\n") == 1, result.err


@pytest.mark.slow
def test_rings_samples_get_modes_and_coverage(tmp_path, cli):
    truth = genbench.load_dataset("rings")
    np.save(tmp_path / "truth.npy", truth.true_distribution.sample(2000, None).numpy())
    assert cli("score", tmp_path / "truth.npy", "--dataset", "rings", "--out", tmp_path / "r", "--quiet").code == 0
    frame = RunDir(tmp_path / "r").read_metrics().set_index(["model", "metric"])
    assert frame.loc[("truth", "modes_captured"), "value"] == 8
    assert frame.loc[("truth", "high_quality"), "value"] > 0.95
    assert frame.loc[("truth", "coverage"), "status"] == "ok"


def test_stats_then_reference_reproduce_the_runs_fid_exactly(gan_run, tmp_path, cli):
    run, root = gan_run
    result = cli("stats", "--dataset", "digits", "-o", tmp_path / "ref.npz")
    assert result.code == 0 and "digits test split, n = 359, domain features (128-d" in result.out
    with np.load(tmp_path / "ref.npz", allow_pickle=False) as saved:
        provenance = json.loads(str(saved["provenance"]))
        assert saved["mu"].shape == (128,) and saved["sigma"].shape == (128, 128) and saved["features"].shape == (
            359, 128)
    assert provenance["dataset"]["fingerprint"] == json.loads((run / "dataset.json").read_text())["fingerprint"]
    assert provenance["extractor"]["weights_sha256"] == json.loads(
        RunDir(run).read_metrics().query("metric == 'fid'").details.iloc[0])["extractor"]["weights_sha256"]
    assert provenance["versions"]["torch"]
    result = cli("score", root / "gan.npz", "--reference", tmp_path / "ref.npz", "--out", tmp_path / "r", "--quiet")
    assert result.code == 0, result.err
    pd.testing.assert_frame_equal(figures_of(tmp_path / "r", "gan"), figures_of(run, "gan"))


def test_wavelet_statistics_keep_one_covariance_per_packet_and_give_the_same_fwd(gan_run, tmp_path, cli):
    """In the wavelet space the file's sigma holds the 64 packets' 3 × 3 covariances (level 3 on 8×8), as
    pytorchfwd keeps them, and FID from the file is FID from the split."""
    _, root = gan_run
    result = cli("stats", "--dataset", "digits", "--extractor", "wavelet", "-o", tmp_path / "wavelet.npz")
    assert result.code == 0 and "wavelet features (192-d" in result.out, result.err
    with np.load(tmp_path / "wavelet.npz", allow_pickle=False) as saved:
        assert saved["mu"].shape == (192,) and saved["sigma"].shape == (64, 3, 3)
    metrics = ["--metrics", "fidelity:extractor=wavelet", "--quiet"]
    assert cli("score", root / "gan.npz", "--dataset", "digits", "--out", tmp_path / "split", *metrics).code == 0
    result = cli("score", root / "gan.npz", "--reference", tmp_path / "wavelet.npz", "--out", tmp_path / "file",
                 *metrics)
    assert result.code == 0, result.err
    from_split, from_file = (figures_of(tmp_path / out, "gan").loc["fid"] for out in ("split", "file"))
    assert from_file.value == from_split.value and from_file.extractor == "wavelet"
    result = cli("score", root / "gan.npz", "--reference", tmp_path / "wavelet.npz", "--out", tmp_path / "domain")
    assert result.code == 2 and "192-dimensional features in 64 blocks; the domain extractor gives 128" in result.err


def test_a_reference_from_another_protocol_is_refused(gan_run, tmp_path, cli):
    _, root = gan_run
    assert cli("stats", "--dataset", "digits", "--n", "100", "-o", tmp_path / "ref100.npz").code == 0
    result = cli("run", "--models", "naive-bayes", "--metrics", "fidelity", "--reference", tmp_path / "ref100.npz",
                 "--out", tmp_path / "r")
    assert result.code == 2 and not (tmp_path / "r").exists()
    assert "ref100.npz was computed with n 100; this run's protocol has 359" in result.err
    result = cli("run", "--models", "naive-bayes", "--metrics", "log-likelihood", "--reference",
                 tmp_path / "ref100.npz", "--out", tmp_path / "r")
    assert result.code == 2 and "add fidelity to --metrics" in result.err


def test_a_pytorch_fid_file_gives_fid_alone(gan_run, tmp_path, cli):
    run, root = gan_run
    assert cli("stats", "--dataset", "digits", "-o", tmp_path / "ref.npz").code == 0
    with np.load(tmp_path / "ref.npz") as saved:
        np.savez(tmp_path / "pytorch-fid.npz", mu=saved["mu"], sigma=saved["sigma"])
    result = cli("score", root / "gan.npz", "--reference", tmp_path / "pytorch-fid.npz", "--out", tmp_path / "r")
    assert result.code == 0 and "holds only mu and sigma (pytorch-fid's format)" in result.err
    mine, theirs = figures_of(tmp_path / "r", "gan"), figures_of(run, "gan")
    assert mine.loc["fid", "value"] == theirs.loc["fid", "value"]
    assert mine.loc["kid", "status"] == "unavailable" and mine.loc["coverage", "status"] == "unavailable"
    np.savez(tmp_path / "other.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    result = cli("score", root / "gan.npz", "--reference", tmp_path / "other.npz", "--out", tmp_path / "r2")
    assert result.code == 2 and "statistics of 2048-dimensional features; the domain extractor gives 128" in result.err
