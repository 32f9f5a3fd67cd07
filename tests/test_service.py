"""The run service behind ``genbench run`` and ``genbench.run``: one path, the same figures, and a run read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import genbench
from genbench.errors import UsageError
from genbench.service import RunRequest, as_specs

SMALL = dict(models="naive-bayes,pca", metrics="fidelity,log-likelihood", seeds="0", budget="smoke")
TIMING = {"seconds", "samples_per_s", "duration"}  # columns that measure the machine, not the model


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """metrics.csv without what depends on the moment: timings and the machine's speed."""
    keep = frame[~frame.metric.str.contains("seconds|per_s|throughput")]
    return keep.drop(columns=[c for c in keep.columns if c in TIMING or c == "details"]).reset_index(drop=True)


@pytest.mark.slow
def test_python_and_the_command_line_write_the_same_measurements(cli, tmp_path):
    flags = [f"--{key}={value}" for key, value in SMALL.items()]
    assert cli("run", *flags, "--threads", "1", "--out", tmp_path / "cli", "--quiet").code == 0
    run = genbench.run(**SMALL, threads=1, out=tmp_path / "python")

    from_cli = genbench.open_run(tmp_path / "cli")
    pd.testing.assert_frame_equal(comparable(run.records), comparable(from_cli.records))
    assert list(run.table.columns) == ["property", "model", "mark", "text", "value", "uncertainty"]
    shown = ["property", "model", "mark"]
    pd.testing.assert_frame_equal(run.table[shown], from_cli.table[shown])
    assert run.report == tmp_path / "python" / "report.html" and run.report.is_file()
    assert run.failed == []
    assert set(run.records.model) == {"naive-bayes", "pca", "real-data"}


@pytest.mark.slow
def test_the_python_table_of_a_vae_and_a_gan_is_the_command_line_s_table_csv(cli, tmp_path):
    """The issue's example, ``genbench.run(models=["vae", "gan"], budget="smoke").table``, against the CLI's
    table.csv: every mark, and every figure but the rows that cite a rate (samples/s, examples/s)."""
    run = genbench.run(models=["vae", "gan"], budget="smoke", metrics=["fidelity", "log-likelihood"], seeds=[0],
                       threads=1, out=tmp_path / "python")
    assert cli("run", "--models", "vae,gan", "--budget", "smoke", "--metrics", "fidelity,log-likelihood",
               "--seeds", "0", "--threads", "1", "--out", tmp_path / "cli", "--quiet").code == 0
    table_csv = pd.read_csv(tmp_path / "cli" / "table.csv", keep_default_na=False, na_values=[""])  # "n/a" a mark
    assert list(run.table.model.unique()) == ["vae", "gan", "real-data"]
    marks = ["property", "model", "mark"]
    pd.testing.assert_frame_equal(run.table[marks], table_csv[marks])
    untimed = ~run.table.property.isin(["Efficient sampling", "Efficient likelihood"])  # both cite a rate
    pd.testing.assert_frame_equal(run.table[untimed].reset_index(drop=True),
                                  genbench.open_run(tmp_path / "cli").table[untimed].reset_index(drop=True))


def test_a_run_read_back_is_the_run_that_was_written(tmp_path):
    run = genbench.run(models=["naive-bayes"], metrics=["fidelity"], seeds=[0], budget="smoke", threads=1,
                       out=tmp_path / "r")
    again = genbench.open_run(tmp_path / "r")
    pd.testing.assert_frame_equal(run.records, again.records)
    pd.testing.assert_frame_equal(run.table, again.table)
    assert "naive-bayes" in repr(again)


@pytest.mark.slow
def test_a_sweep_reads_back_with_each_dataset_in_its_table(tmp_path):
    run = genbench.run(models=["naive-bayes"], dataset=["digits", "rings"], metrics=["fidelity"], seeds=[0],
                       budget="smoke", threads=1, out=tmp_path / "sweep")
    assert set(run.table.dataset) == {"digits", "rings"}
    assert run.is_sweep and run.report.is_file()


@pytest.mark.parametrize("settings, says", [
    (dict(budget="huge"), "a training budget is a name"),
    (dict(executor="slurm"), "executor must be one of"),
    (dict(jobs=0), "jobs must be a positive integer"),
    (dict(epochs=True), "epochs must be a positive integer"),
    (dict(model="vae"), "unknown setting(s) model"),
    (dict(models=["no-such-model"]), "unknown model"),
])
def test_bad_settings_raise_a_usage_error_before_anything_is_written(settings, says, tmp_path):
    with pytest.raises(UsageError, match=says.replace("(", r"\(").replace(")", r"\)")):
        genbench.run(out=tmp_path / "never", **settings)
    assert not (tmp_path / "never").exists()


def test_open_run_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(UsageError):
        genbench.open_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a genbench run directory"):
        genbench.open_run(tmp_path / "empty")
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(UsageError, match="not a finished genbench run"):
        genbench.open_run(tmp_path / "empty")


def test_the_request_holds_every_flag_of_genbench_run():
    from genbench.cli import build_parser

    args = build_parser().parse_args(["run"])
    request = RunRequest.from_args(args)
    assert request == RunRequest(), "the request's defaults are the command line's"
    flags = set(vars(args)) - {"command", "handler", "quiet", "debug"}
    assert flags == set(RunRequest.__dataclass_fields__)


def test_python_lists_become_the_command_lines_specs():
    assert as_specs(["vae:latent_dim=8", "gan"]) == "vae:latent_dim=8,gan"
    assert as_specs([0, 1, 2]) == "0,1,2"
    assert as_specs("vae") == "vae" and as_specs(None) is None


def test_the_service_is_four_named_stages_behind_a_short_face():
    """plan → prepare → execute → collect, one module each, each saying what it takes and gives; run and score
    share the options they both take."""
    import importlib

    from genbench.service.request import DataOptions, ScoreRequest

    for stage in ("plan", "prepare", "execute", "collect"):
        doc = importlib.import_module(f"genbench.service.{stage}").__doc__
        assert doc.startswith("The run service's ") and f", {stage}:" in doc.split("\n")[0], stage
        assert "Takes " in doc and "gives " in doc, stage
    assert issubclass(RunRequest, DataOptions) and issubclass(ScoreRequest, DataOptions)
    face = Path(importlib.import_module("genbench.service").__file__).read_text(encoding="utf-8")
    assert len(face.splitlines()) < 120
