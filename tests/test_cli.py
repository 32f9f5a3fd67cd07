"""End to end through the command line: a run directory, reproducibility, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from genbench import catalog
from genbench.infra.rundir import RunDir
from genbench.records import COLUMNS, untimed

FAST = ["--epochs", "2", "--metrics", "log-likelihood:k=8"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One small run on digits, shared by the tests that only read it."""
    from genbench.cli import main

    out = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["run", "--out", str(out), "--quiet", *FAST]) == 0
    return out


def test_run_writes_the_run_directory(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    assert {"config.json", "environment.json", "dataset.json", "metrics.csv", "table.md", "table.csv",
            "measurements.md", "run.log", "timings.json", "checkpoints", "samples"} <= names
    config = json.loads((finished_run / "config.json").read_text())
    assert config["run"]["models"] == list(catalog.MODELS.defaults())
    assert config["models"]["vae"]["config"]["epochs"] == 2  # the fully resolved options
    assert config["metrics"]["log-likelihood:k=8"]["options"]["k"] == 8
    dataset = json.loads((finished_run / "dataset.json").read_text())
    assert dataset["splits"] == {"train": 1258, "val": 180, "test": 359} and len(dataset["fingerprint"]) == 64
    environment = json.loads((finished_run / "environment.json").read_text())
    assert environment["packages"]["torch"] and environment["device"]["type"] == "cpu"


def test_metrics_csv_is_long_form_with_every_cell(finished_run):
    frame = pd.read_csv(finished_run / "metrics.csv")
    assert list(frame.columns) == COLUMNS
    assert set(frame.model) == set(catalog.MODELS.defaults())
    ll = frame[frame.metric == "log_likelihood"].set_index("model")
    assert ll.loc["naive-bayes", "estimator"] == "exact"
    assert ll.loc["pca", "estimator"] == ll.loc["flow", "estimator"] == "bound+dequantized"
    assert ll.loc["vae", "estimator"] == ll.loc["beta-vae", "estimator"] == "iw-bound(K=8)"
    measured = ll.drop(index=["ae", "gan"])
    assert (measured.n == 359).all() and (measured.status == "ok").all()
    without = ll.loc[["ae", "gan"]]
    assert (without.status == "unavailable").all() and (without.estimator == "none").all()


def test_table_has_the_six_rows(finished_run):
    table = (finished_run / "table.md").read_text()
    for row in ("Efficient sampling", "High-quality samples", "Coverage", "Well-behaved latent space",
                "Interpretable latent space", "Efficient likelihood"):
        assert f"| {row} |" in table
    assert "Rules:" in table
    csv = pd.read_csv(finished_run / "table.csv")
    assert set(csv.property) >= {"Efficient likelihood"} and len(set(csv.model)) == len(catalog.MODELS.defaults())


def same_figures(a, b):
    """metrics.csv of two runs agree exactly, wall-clock rows aside (they differ run to run)."""
    pd.testing.assert_frame_equal(untimed(RunDir(a).read_metrics()), untimed(RunDir(b).read_metrics()))


def test_the_same_seed_gives_the_same_metrics_csv(tmp_path, cli, finished_run):
    out = tmp_path / "again"
    assert cli("run", "--out", out, "--quiet", *FAST).code == 0
    same_figures(out, finished_run)
    frame = RunDir(out).read_metrics()
    speed = frame[(frame.metric == "likelihood_examples_per_second") & (frame.status == "ok")]
    assert len(speed) == 6 and (speed.estimator == "timed").all()


@pytest.mark.slow
def test_run_prints_the_table_and_where_everything_is(tmp_path, cli):
    result = cli("run", "--out", tmp_path / "r", "--models", "naive-bayes,pca")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["naive-bayes", "pca", "real-data"]
    likelihood = next(line for line in lines if line.startswith("likelihood"))
    assert likelihood.split()[1:3] == ["✓", "-108"]
    assert "quality: FID;" in result.out and "likelihood: test log-likelihood (nats)" in result.out
    assert not any(line.startswith("interpr.") for line in lines)  # said once, beneath
    assert "Interpretable latent space: not measurable here" in " ".join(result.out.split())
    assert all(len(line) <= 100 for line in lines[:-3]), max(map(len, lines))
    assert lines[-3:] == [f"  {tmp_path / 'r' / 'table.md'}", f"  {tmp_path / 'r' / 'report.html'}",
                          f"run directory: {tmp_path / 'r'}"]
    quiet = cli("run", "--out", tmp_path / "q", "--models", "naive-bayes", "--quiet")
    assert quiet.code == 0 and quiet.out == f"run directory: {tmp_path / 'q'}\n" and quiet.err == ""
    frame = pd.read_csv(tmp_path / "r" / "metrics.csv", keep_default_na=False)
    assert set(frame.model) == {"naive-bayes", "pca", "real-data"}
    fid = frame[frame.metric == "fid"].set_index("model")
    assert (fid.extractor == "domain").all() and (fid.n.astype(int) == 359).all() and (fid.status == "ok").all()
    table = pd.read_csv(tmp_path / "r" / "table.csv", keep_default_na=False).set_index(["property", "model"])
    assert table.loc[("High-quality samples", "real-data"), "mark"] == "✓"
    assert table.loc[("Coverage", "naive-bayes"), "text"].startswith("coverage 0.")


@pytest.mark.slow
def test_rings_has_a_true_density_row(tmp_path, cli):
    result = cli("run", "--dataset", "rings:n_train=500:n_val=100:n_test=200", "--models", "pca,naive-bayes",
                 "--out", tmp_path / "r", "--quiet")
    assert result.code == 0
    frame = pd.read_csv(tmp_path / "r" / "metrics.csv", keep_default_na=False)
    ll = frame[frame.metric == "log_likelihood"].set_index("model")
    assert ll.loc["true-density", "status"] == "ok"
    assert float(ll.loc["true-density", "value"]) > float(ll.loc["pca", "value"])
    assert ll.loc["naive-bayes", "status"] == "unavailable" and "continuous" in ll.loc["naive-bayes", "reason"]


@pytest.mark.slow
def test_several_seeds_give_seed_to_seed_uncertainty(tmp_path, cli):
    result = cli("run", "--models", "vae", "--seeds", "0,1", "--out", tmp_path / "r", "--quiet", *FAST)
    assert result.code == 0
    frame = pd.read_csv(tmp_path / "r" / "metrics.csv")
    assert sorted(frame[frame.metric == "log_likelihood"].seed) == [0, 1]


@pytest.mark.parametrize("args, message", [
    (["--models", "vea"], "unknown model 'vea'; valid: "),
    (["--dataset", "mnistt"], "unknown dataset 'mnistt'; valid: "),
    (["--models", "vae:latnt_dim=3"], "unknown option 'latnt_dim' for model vae; valid options: "),
    (["--models", "vae:latent_dim"], "must be key=value"),
    (["--models", "vae,vae"], "listed twice"),
    (["--seeds", "0,a"], "--seeds takes distinct non-negative integers"),
    (["--seeds", "-1"], "--seeds takes distinct non-negative integers"),
    (["--epochs", "0"], "expected a positive integer, got '0'"),
    (["--models", "vae:latent_dim=0"], "latent_dim must be positive, got 0"),
    (["--metrics", "log-likelihood:k=0"], "k must be positive, got 0"),
    (["--metrics", "fidd"], "unknown metric 'fidd'"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--budget", "huge"], "a training budget is a name (smoke, default, paper), FLOPs (2e13) or a time on this "
                           "machine (10min, 90s, 1.5h), got 'huge'"),
    (["--budget=-3e12"], "a budget in FLOPs must be a finite number of at least 1, got '-3e12'"),
    (["--budget", "10 parsecs"], "got '10 parsecs'"),
    (["--dataset", "rings:std=-1"], "std must be positive"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, cli, tmp_path):
    result = cli("run", "--out", tmp_path / "r", *args)
    assert result.code == 2, result.err
    assert message in result.err
    assert result.err.strip().count("\n") == 0, result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "r" / "metrics.csv").exists()


def test_an_existing_run_directory_is_never_overwritten(tmp_path, cli):
    out = tmp_path / "r"
    out.mkdir()
    (out / "metrics.csv").write_text("precious\n")
    result = cli("run", "--out", out, "--models", "naive-bayes")
    assert result.code == 2 and "already exists" in result.err and "choose another --out" in result.err
    assert "--resume" not in result.err  # not a run directory: resuming it cannot work
    assert (out / "metrics.csv").read_text() == "precious\n"
    (out / "config.json").write_text("{}")
    assert "finish it with --resume" in cli("run", "--out", out, "--models", "naive-bayes").err
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    result = cli("run", "--out", a_file, "--models", "naive-bayes")
    assert result.code == 2 and result.err == f"genbench run: error: {a_file} is a file; --out takes a folder for " \
                                              "the run directory\n"
    assert a_file.read_text() == "mine\n"


def test_resume_skips_finished_cells(tmp_path, cli, finished_run):
    out = tmp_path / "r"
    assert cli("run", "--out", out, "--quiet", *FAST).code == 0
    frame = pd.read_csv(out / "metrics.csv")
    frame[frame.model != "vae"].to_csv(out / "metrics.csv", index=False)  # as if killed during vae
    result = cli("run", "--resume", "--out", out)
    assert result.code == 0
    assert "cell(s) already in" in result.err and "naive-bayes seed 0" in result.err
    assert "vae seed 0: done" in result.err
    same_figures(out, finished_run)


def test_resume_refuses_new_configuration(tmp_path, cli, finished_run):
    result = cli("run", "--resume", "--out", finished_run, "--models", "vae", "--seeds", "0")
    assert result.code == 2 and result.err.count("\n") == 1
    assert ("these flags differ from it: --models/--checkpoints (vae here, "
            f"{','.join(catalog.MODELS.defaults())} in the run) (drop them, or start a new run with "
            "another --out)") in result.err  # --seeds 0 is the run's


def test_resume_accepts_the_command_it_finishes(tmp_path, cli, finished_run):
    """A user appends --resume to the command they ran: flags equal to config.json are accepted."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(finished_run, out)
    result = cli("run", "--out", out, "--quiet", *FAST, "--resume")
    assert result.code == 0, result.err
    same_figures(out, finished_run)
    result = cli("run", "--resume", "--out", tmp_path)
    assert result.code == 2 and "not a genbench run directory" in result.err


def test_list_shows_every_registry(cli):
    result = cli("list")
    assert result.code == 0
    for name in ("naive-bayes", "pca", "vae", "digits", "rings", "wardrobe", "log-likelihood", "fidelity", "modes",
                 "inception", "domain", "raw", "local", "ray"):
        assert name in result.out
    assert "options: alpha=1.0" in result.out


@pytest.mark.parametrize("argv, request_class", [
    (["score", "x.npz"], "score.ScoreRequest"), (["stats", "-o", "x.npz"], "stats.StatsRequest"),
    (["check", "r", "--baseline", "b"], "check.CheckRequest"), (["report", "r"], "report.ReportRequest"),
    (["list"], "listing.ListRequest")])
def test_each_commands_request_holds_its_flags(argv, request_class):
    """Every flag of a command reaches its handler through the command's request, and nothing else does."""
    import dataclasses
    import importlib

    from genbench.cli import build_parser

    module, _, name = request_class.partition(".")
    fields = dataclasses.fields(getattr(importlib.import_module(f"genbench.cli.{module}"), name))
    args = build_parser().parse_args(argv)
    assert set(vars(args)) - {"command", "handler", "quiet", "debug"} == {f.name for f in fields}


def test_help_teaches(cli):
    result = cli("run", "--help")
    assert result.code == 0 and "examples:" in result.out and "--seeds" in result.out


def test_help_states_the_defaults_a_plain_run_uses(cli):
    from genbench.catalog import METRICS, MODELS
    from genbench.defaults import DEFAULT_DATASET

    DEFAULT_MODELS, DEFAULT_METRICS = MODELS.defaults(), METRICS.defaults()
    from genbench.service.runner import RunConfig

    plain = RunConfig()
    assert [s.name for s in plain.models] == list(DEFAULT_MODELS)
    assert [s.name for s in plain.metrics] == list(DEFAULT_METRICS) and plain.dataset.name == DEFAULT_DATASET
    help_text = " ".join(cli("run", "--help").out.split()).replace("- ", "-")  # argparse wraps at hyphens
    assert f"(default: {','.join(DEFAULT_MODELS)})" in help_text
    assert f"(default: {','.join(DEFAULT_METRICS)})" in help_text
    assert f"(default: {DEFAULT_DATASET})" in help_text


@pytest.mark.slow
def test_console_script_runs_in_a_fresh_process(tmp_path):
    """No traceback, exit 2 and one line, from the installed entry point."""
    result = subprocess.run([sys.executable, "-m", "genbench", "run", "--models", "nope", "--out", str(tmp_path / "r")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == ("genbench run: error: unknown model 'nope'; valid: "
                                     + ", ".join(sorted(__import__("genbench").list_models()))
                                     + ", or an import path such as mypackage.models:MyModel")
