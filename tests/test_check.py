"""The CI regression gate: tolerance from the seed-to-seed spread, protocol checks, exit codes."""

from __future__ import annotations

import json
import math

import pytest
import torch

from genbench.errors import UsageError
from genbench.records import Record, to_frame
from genbench.service.check import Comparison, ProtocolMismatch, compare, make_reference

DATASET = {"name": "d", "fingerprint": "abc"}


def frame_of(values_by_seed, metric="fid", model="gan", extractor="domain", n=500):
    return to_frame(Record(metric, v, unit="", n=n, extractor=extractor, estimator="").identify(
        model=model, dataset="d", seed=s) for s, v in enumerate(values_by_seed))


def test_tolerance_is_z_sigma_times_the_spread_of_a_difference_of_means():
    reference = make_reference(frame_of([9.0, 10.0, 11.0]), DATASET, ("fid",))  # mean 10, std 1, 3 seeds
    (c,) = compare(frame_of([12.0, 12.0]), DATASET, reference)
    assert c.tolerance == pytest.approx(3 * 1.0 * math.sqrt(1 / 2 + 1 / 3))  # 2.739
    assert c.change == pytest.approx(-2.0) and not c.regressed
    (worse,) = compare(frame_of([13.5, 13.5]), DATASET, reference)
    assert worse.regressed
    (tight,) = compare(frame_of([12.0, 12.0]), DATASET, reference, sigmas=1.0)
    assert tight.regressed


def test_direction_follows_the_metric():
    assert Comparison("m", "coverage", 0.9, 0.8, 0.05, True).regressed
    assert not Comparison("m", "fid", 10.0, 8.0, 0.5, False).regressed


def test_a_reference_needs_two_seeds():
    with pytest.raises(UsageError, match="needs two seeds or more"):
        make_reference(frame_of([10.0]), DATASET, ("fid",))


@pytest.mark.parametrize("change, message", [
    (dict(extractor="inception"), "extractor is 'inception' in the run but 'domain'"),
    (dict(n=100), "n is 100 in the run but 500"),
    (dict(model="vae"), "checks fid of gan, which the run did not measure"),
])
def test_protocol_differences_cannot_be_compared(change, message):
    reference = make_reference(frame_of([9.0, 10.0, 11.0]), DATASET, ("fid",))
    with pytest.raises(ProtocolMismatch, match=message):
        compare(frame_of([10.0, 10.0], **change), DATASET, reference)
    with pytest.raises(ProtocolMismatch, match="fingerprints differ"):
        compare(frame_of([10.0, 10.0]), {"name": "d", "fingerprint": "other"}, reference)


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    from genbench.cli import main

    root = tmp_path_factory.mktemp("check")
    args = ["--models", "vae", "--seeds", "0,1", "--metrics", "log-likelihood:k=4", "--quiet"]
    assert main(["run", "--out", str(root / "base"), "--epochs", "3", *args]) == 0
    baseline = root / "baseline.json"
    assert main(["check", str(root / "base"), "--baseline", str(baseline), "--metrics", "log_likelihood",
                 "--update", "--quiet"]) == 0
    return root, baseline, args


def test_check_passes_on_an_unchanged_run(baseline_run, cli):
    root, baseline, args = baseline_run
    assert cli("run", "--out", root / "same", "--epochs", "3", *args).code == 0
    result = cli("check", root / "same", "--baseline", baseline)
    assert result.code == 0, result.out + result.err
    assert "log_likelihood" in result.out and "REGRESSED" not in result.out


def test_update_without_metrics_keeps_what_the_baseline_guards(baseline_run, cli, tmp_path):
    """Rewriting a baseline of log_likelihood without --metrics keeps log_likelihood (not the new-baseline
    default, FID, which would silently drop every guarded figure); a new baseline guards FID."""
    import json
    import shutil

    root, baseline, _ = baseline_run
    copy = tmp_path / "baseline.json"
    shutil.copy(baseline, copy)
    result = cli("check", root / "base", "--baseline", copy, "--update")
    assert result.code == 0 and "wrote" in result.out
    assert json.loads(copy.read_text())["metrics"] == ["log_likelihood"]
    fresh = cli("check", root / "base", "--baseline", tmp_path / "new.json", "--update")
    assert fresh.code == 2 and "the run has no measured fid to keep as a reference" in fresh.err


def test_check_fails_on_a_model_made_worse(baseline_run, cli):
    root, baseline, args = baseline_run
    assert cli("run", "--out", root / "worse", "--epochs", "1", *args).code == 0  # trained a third as long
    result = cli("check", root / "worse", "--baseline", baseline)
    assert result.code == 1
    assert "REGRESSED" in result.out and "1 regression(s)" in result.err


def test_check_exits_2_when_the_protocol_differs(baseline_run, cli, tmp_path):
    root, baseline, args = baseline_run
    other = [a if a != "log-likelihood:k=4" else "log-likelihood:k=8" for a in args]
    assert cli("run", "--out", tmp_path / "k8", "--epochs", "3", *other).code == 0
    result = cli("check", tmp_path / "k8", "--baseline", baseline)
    assert result.code == 2 and "estimator is 'iw-bound(K=8)' in the run but 'iw-bound(K=4)'" in result.err


def test_check_usage_errors(baseline_run, cli, tmp_path):
    root, baseline, _ = baseline_run
    assert cli("check", tmp_path, "--baseline", baseline).code == 2
    missing = cli("check", root / "base", "--baseline", tmp_path / "none.json")
    assert missing.code == 2 and "--update" in missing.err
    assert json.loads(baseline.read_text())["values"]["vae"]["log_likelihood"]["seeds"] == [0, 1]


def test_other_extractor_weights_are_a_protocol_difference():
    def with_weights(values, sha):
        frame = frame_of(values)
        frame["details"] = json.dumps({"extractor": {"weights_sha256": sha}})
        return frame

    reference = make_reference(with_weights([9.0, 10.0, 11.0], "a" * 64), DATASET, ("fid",))
    assert len(compare(with_weights([10.0, 10.0], "a" * 64), DATASET, reference)) == 1
    with pytest.raises(ProtocolMismatch, match="the feature extractor's weights differ from the baseline's "
                                               r"\(SHA-256 bbbbbbbbbbbb… in the run, aaaaaaaaaaaa… in the baseline\)"):
        compare(with_weights([10.0, 10.0], "b" * 64), DATASET, reference)


def test_a_baseline_of_another_budget_is_a_protocol_difference():
    reference = make_reference(frame_of([9.0, 10.0, 11.0]), DATASET, ("fid",), run={"budget": "smoke"})
    assert len(compare(frame_of([10.0, 10.0]), DATASET, reference, run={"budget": "smoke"})) == 1
    with pytest.raises(ProtocolMismatch, match="the run's budget is 'default', the baseline's 'smoke'"):
        compare(frame_of([10.0, 10.0]), DATASET, reference, run={"budget": "default"})


@pytest.mark.parametrize("content, says", [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "is not a text file; --baseline takes a JSON file written by --update"),
    (b"not json at all", "cannot read the baseline"),
    (b'{"format": "genbench-baseline", "version": 1, "dataset": {}}', "is a damaged genbench baseline: it has no "
                                                                      "metrics, values"),
    (b"[1, 2]", "is not a genbench baseline"),
])
def test_a_malformed_baseline_is_one_line_exit_2(baseline_run, cli, tmp_path, content, says):
    root, _, _ = baseline_run
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = cli("check", root / "base", "--baseline", bad)
    assert result.code == 2 and says in result.err and result.err.count("\n") == 1, result.err


def test_malformed_run_directories_are_one_line_exit_2(baseline_run, cli, tmp_path):
    root, baseline, _ = baseline_run
    import shutil

    empty = tmp_path / "empty"
    shutil.copytree(root / "base", empty)
    (empty / "metrics.csv").write_text("")
    for command in (["check", empty, "--baseline", baseline], ["report", empty]):
        result = cli(*command)
        assert result.code == 2 and result.err.endswith("metrics.csv is empty\n") and result.err.count("\n") == 1
    result = cli("report", tmp_path / "nonexistent")
    assert result.code == 2 and result.err == f"genbench report: error: {tmp_path / 'nonexistent'} does not exist\n"
    (empty / "metrics.csv").unlink()
    result = cli("check", empty, "--baseline", baseline)
    assert result.code == 2 and "has no metrics.csv: no cell has finished" in result.err


def test_a_default_budget_run_against_a_smoke_baseline_is_exit_2(cli, tmp_path):
    args = ["--models", "naive-bayes", "--seeds", "0,1", "--metrics", "log-likelihood", "--quiet"]
    assert cli("run", "--out", tmp_path / "smoke", "--budget", "smoke", *args).code == 0
    baseline = tmp_path / "smoke.json"
    assert cli("check", tmp_path / "smoke", "--baseline", baseline, "--metrics", "log_likelihood", "--update").code == 0
    assert json.loads(baseline.read_text())["run"] == {"budget": "smoke"}
    assert cli("run", "--out", tmp_path / "default", *args).code == 0
    result = cli("check", tmp_path / "default", "--baseline", baseline)
    assert result.code == 2 and "the run's budget is 'default', the baseline's 'smoke'" in result.err
    assert "REGRESSED" not in result.out


def test_a_figure_without_a_better_direction_is_gated_where_it_declares_one():
    """C_T has no best value (0 is novel, far above 0 underfits), but its declaration gates a fall: a model that
    starts copying after a change fails the gate; one that moves away from copying does not."""
    from genbench.metrics.memorisation import OUTPUTS

    declared = {o.name: o for o in OUTPUTS}["copying_ct"]

    def frame(values):
        return to_frame(Record("copying_ct", v, n=359, extractor="domain", details={"output": declared.to_dict()})
                        .identify(model="gan", dataset="d", seed=s) for s, v in enumerate(values))

    reference = make_reference(frame([4.8, 5.0, 5.3]), DATASET, ("copying_ct",))
    (copying,) = compare(frame([-9.0, -8.7]), DATASET, reference)
    assert copying.regressed and copying.higher_is_better
    (farther,) = compare(frame([7.0, 7.2]), DATASET, reference)
    assert not farther.regressed
    no_direction = {"output": {"name": "copying_ct", "label": "C_T"}}
    undeclared = to_frame(Record("copying_ct", v, n=359, extractor="domain", details=no_direction)
                          .identify(model="gan", dataset="d", seed=s) for s, v in enumerate([1, 2]))
    with pytest.raises(UsageError, match="no better direction"):
        compare(undeclared, DATASET, make_reference(undeclared, DATASET, ("copying_ct",)))


def test_a_baseline_from_another_instruction_set_or_device_is_named_in_one_warning(baseline_run, cli, tmp_path):
    """The baseline keeps the machine it was made on; a run on another instruction set still gates (a
    warning, not a refusal), and the warning names both."""
    import json

    from genbench.service.check import machine_difference

    root, baseline, _ = baseline_run
    kept = json.loads(baseline.read_text())["machine"]
    assert kept["instruction_set"] == torch.backends.cpu.get_cpu_capability() and kept["device"] == "cpu"
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**json.loads(baseline.read_text()),
                                 "machine": {**kept, "instruction_set": "SOMETHING-ELSE"}}))
    result = cli("check", root / "base", "--baseline", other)
    assert result.code == 0
    warning = [line for line in result.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "SOMETHING-ELSE in the baseline" in warning[0]
    assert machine_difference({"machine": kept}, kept) is None
    assert machine_difference({}, kept) is None  # an older baseline does not say: nothing to warn about
    assert "device cuda here, cpu" in machine_difference({"machine": kept}, {**kept, "device": "cuda"})
