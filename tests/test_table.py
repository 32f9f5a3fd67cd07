"""Aggregation over seeds, number formatting and the tables, from records alone."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from genbench.infra.formatting import format_estimate
from genbench.infra.rundir import RunDir
from genbench.records import NOT_AVAILABLE, Record, to_frame
from genbench.report.marks import CHECK, CROSS, NOT_APPLICABLE, UNSURE
from genbench.report.summary import summarise
from genbench.report.table import comparison_markdown, comparison_table, measurements_markdown


def ll(model, seed, value, stderr=0.5, estimator="exact", **kw):
    return Record("log_likelihood", value, stderr, unit="nats", n=100, estimator=estimator, **kw).identify(
        model=model, dataset="d", seed=seed)


def test_several_seeds_give_the_seed_to_seed_standard_error():
    frame = to_frame([ll("a", 0, -10.0), ll("a", 1, -12.0), ll("a", 2, -11.0)])
    row = summarise(frame).iloc[0]
    assert row.value == pytest.approx(-11.0)
    assert row.uncertainty == pytest.approx(1.0 / math.sqrt(3))  # std 1 over √3
    assert row.seeds == 3


def test_one_seed_keeps_its_own_standard_error():
    row = summarise(to_frame([ll("a", 0, -10.0, stderr=0.25)])).iloc[0]
    assert (row.value, row.uncertainty, row.seeds) == (-10.0, 0.25, 1)


def test_format_estimate_shows_the_digits_the_uncertainty_allows():
    assert format_estimate(-108.0534, 0.4911) == "-108.05 ± 0.49"
    assert format_estimate(2.43612, 0.01105) == "2.436 ± 0.011"
    assert format_estimate(1234.5) == "1234"
    assert format_estimate(-math.inf, math.nan) == "-inf"


def speed(model, value, seed=0):
    return Record("likelihood_examples_per_second", value, n=100, unit="examples/s", estimator="timed").identify(
        model=model, dataset="d", seed=seed)


def test_likelihood_marks_follow_the_rules():
    """How a figure was had is read from its records' details, never parsed from the estimator's label. Accurate:
    exact, a dequantized exact density or the ODE; efficient: at least 1/5000 of the fastest exact model's
    examples/s (here "exact", 10⁶, so 200)."""
    frame = to_frame([
        ll("exact", 0, -10.0, details={"likelihood": "exact"}), speed("exact", 1e6),
        ll("bound", 0, -9.0, estimator="iw-bound(K=1000)", details={"likelihood": "importance-weighted bound",
                                                                     "k": 1000, "nfe": 1000}), speed("bound", 26.0),
        ll("dequant", 0, -20.0, estimator="bound+dequantized", details={"likelihood": "dequantized bound"}),
        speed("dequant", 5000.0),
        ll("own", 0, -15.0, estimator="bound(T=1000)", details={"likelihood": "model's bound",
                                                                 "bound": {"bound": "variational", "T": 1000}}),
        speed("own", 12.0),
        ll("fast-bound", 0, -15.0, estimator="bound", details={"likelihood": "model's bound", "bound": {}}),
        speed("fast-bound", 2e3),
        ll("ode", 0, -12.0, estimator="ode", details={"likelihood": "probability-flow ODE", "dequantized": True,
                                                       "settings": {"divergence": "exact", "rtol": 0.001},
                                                       "nfe": 145.0}), speed("ode", 0.38),
        Record.not_available("log_likelihood", "gan defines no likelihood", estimator="none").identify(
            model="gan", dataset="d", seed=0),
        Record.not_available("log_likelihood", "PCA models real-valued vectors").identify(
            model="pca", dataset="d", seed=0),
    ])
    table = comparison_table(frame)
    marks = {m: table.cell("likelihood", m).mark for m in table.models}
    assert marks == {"exact": CHECK, "bound": CROSS, "dequant": CHECK, "own": CROSS, "fast-bound": UNSURE,
                     "ode": UNSURE, "gan": CROSS, "pca": NOT_APPLICABLE}
    assert table.cell("likelihood", "bound").text == ("-9.00 ± 0.50 nats, bound (K=1000), 26 examples/s, "
                                                      "1e+03 evaluations/example")
    assert table.cell("likelihood", "own").text == "-15.00 ± 0.50 nats, variational bound (T=1000), 12 examples/s"
    assert table.cell("likelihood", "ode").text == ("-12.00 ± 0.50 nats, ODE (divergence exact, rtol 0.001), "
                                                    "dequantized, 0.38 examples/s, 145 evaluations/example")
    assert table.cell("likelihood", "ode").label == "ODE"
    rule = table.rules["likelihood"]
    assert "importance-weighted with K = 1000 samples" in rule
    assert "1/5000 of the examples/s" in rule and "here exact's 1e+06 examples/s, so at least 200" in rule
    text = comparison_markdown(table)
    assert "not requested" in text and "Rules:" in text  # no sampling metric was asked for


def test_the_cost_threshold_moves_with_the_run_s_fastest_exact_model():
    """The same ODE at 3 examples/s is efficient beside a flow at 2·10³ examples/s (threshold 0.4) and not beside
    naive Bayes at 10⁶ (threshold 200); a reference column sets it only where no model is exact (the true density
    at 10⁹: threshold 2·10⁵); a run with no exact figure at all shows no model efficient (ODE ?, bound ✗)."""
    ode = [ll("diffusion", 0, -100.0, details={"likelihood": "probability-flow ODE"}), speed("diffusion", 3.0)]
    bound = [ll("vae", 0, -90.0, details={"likelihood": "importance-weighted bound", "k": 1000}), speed("vae", 30.0)]
    flow = [ll("flow", 0, -95.0, details={"likelihood": "dequantized bound"}), speed("flow", 2e3)]
    naive_bayes = [ll("naive-bayes", 0, -108.0, details={"likelihood": "exact"}), speed("naive-bayes", 1e6)]
    truth = [ll("true-density", 0, -1.0, details={"likelihood": "exact"}), speed("true-density", 1e9)]

    def marks(records):
        table = comparison_table(to_frame(records))
        return {m: table.cell("likelihood", m).mark for m in table.models}

    assert marks(ode + bound + flow + truth) == {"diffusion": CHECK, "vae": UNSURE, "flow": CHECK,
                                                 "true-density": CHECK}
    assert marks(ode + bound + flow + naive_bayes) == {"diffusion": UNSURE, "vae": CROSS, "flow": CHECK,
                                                       "naive-bayes": CHECK}
    assert marks(ode + bound + truth) == {"diffusion": UNSURE, "vae": CROSS, "true-density": CHECK}
    assert marks(ode + bound) == {"diffusion": UNSURE, "vae": CROSS}
    assert "none in this run" in comparison_table(to_frame(ode + bound)).rules["likelihood"]


def test_measurements_table_shows_status_for_missing_values():
    failed = Record.failed("log_likelihood", "nan loss").identify(model="b", dataset="d", seed=0)
    frame = to_frame([ll("a", 0, -10.0), failed])
    text = measurements_markdown(frame)
    assert "| log_likelihood (nats) | -10.00 ± 0.50 | failed |" in text


def test_figures_in_a_further_space_are_measurements_and_a_sweeps_points_are_not():
    frame = to_frame([fig("a", "fid", 20.0, 1.0),
                      fig("a", "fid[dinov2-vit-b-14]", 300.0, 9.0, extractor="dinov2-vit-b-14"),
                      fig("a", "samples_per_second[batch=256]", 1e4, 10.0), fig("a", "curve_fid[at=1/8]", 40.0, 2.0)])
    text = measurements_markdown(frame)
    assert "| fid | 20.0 ± 1.0 |" in text and "| fid[dinov2-vit-b-14] | 300.0 ± 9.0 |" in text
    assert "batch=" not in text and "at=" not in text


def test_records_survive_a_csv_round_trip(tmp_path):
    frame = to_frame([ll("a", 0, -math.inf, stderr=math.nan), ll("b", 1, -3.25, details={"k": 5})])
    run = RunDir(tmp_path)
    run.write_metrics(frame)
    pd.testing.assert_frame_equal(run.read_metrics(), frame)


def fig(model, metric, value, stderr, extractor="domain", n=359, **kw):
    return Record(metric, value, stderr, n=n, extractor=extractor, **kw).identify(model=model, dataset="d", seed=0)


def test_quality_and_coverage_marks_follow_the_rules():
    """Reference FID 16 ± 10. good: 20 ± 5 is within 2√(5² + 10²) = 22 of it → ✓. best-but-off: 59 ± 11
    is not (43 > 30) but is the best → ?. close: 70 ± 15 is within 2√(15² + 11²) = 37 of the best → ?.
    bad: 208 ± 18 is 149 above the best, beyond 2√(18² + 11²) = 42 → ✗. Coverage mirrors it."""
    frame = to_frame([
        fig("real-data", "fid", 16.0, 10.0), fig("real-data", "coverage", 0.95, 0.02),
        fig("best-but-off", "fid", 59.0, 11.0), fig("best-but-off", "coverage", 0.61, 0.04),
        fig("close", "fid", 70.0, 15.0), fig("close", "coverage", 0.56, 0.03),
        fig("bad", "fid", 208.0, 18.0), fig("bad", "coverage", 0.39, 0.02),
        fig("gan", "fid", math.nan, math.nan, status=NOT_AVAILABLE,
            reason="FID needs more samples than feature dimensions"),
        fig("gan", "coverage", 0.94, 0.02),
    ])
    table = comparison_table(frame)
    quality = {m: table.cell("quality", m).mark for m in table.models}
    coverage = {m: table.cell("coverage", m).mark for m in table.models}
    assert quality == {"real-data": CHECK, "best-but-off": UNSURE, "close": UNSURE, "bad": CROSS,
                       "gan": NOT_APPLICABLE}
    assert coverage == {"real-data": CHECK, "best-but-off": CROSS, "close": CROSS, "bad": CROSS, "gan": CHECK}
    assert table.cell("quality", "best-but-off").text == "FID 59 ± 11 (domain, n=359)"
    assert table.cell("quality", "real-data").text.startswith("real-vs-real reference: FID 16 ± 10")
    assert "more samples than feature dimensions" in table.cell("quality", "gan").text
    text = comparison_markdown(table)
    assert "|gap to R| ≤ 2√(u² + u_R²)" in text and "gap to B > 2√(u² + u_B²)" in text


def test_where_modes_are_known_quality_is_the_high_quality_share_and_no_reference_means_no_check():
    """Rings without the true-density column: the high-quality share is marked (FID is shown beside
    it), the best model gets ?, a model far below it ✗, a model that cannot sample ✗."""
    frame = to_frame([
        fig("a", "high_quality", 0.97, 0.004, extractor="raw", n=2000), fig("a", "fid", 1.0, 0.1, extractor="raw"),
        fig("a", "coverage", 0.9, 0.01, extractor="raw", n=2000), fig("a", "modes_captured", 8.0, 0.0, unit="modes"),
        fig("b", "high_quality", 0.02, 0.003, extractor="raw", n=2000), fig("b", "fid", 0.01, 0.01, extractor="raw"),
        fig("c", "high_quality", math.nan, math.nan, status=NOT_AVAILABLE, estimator="none", reason="c cannot sample"),
    ])
    table = comparison_table(frame)
    assert [table.cell("quality", m).mark for m in "abc"] == [UNSURE, CROSS, CROSS]
    assert table.cell("quality", "a").text == "high quality 97.00 ± 0.40%, FID 1.00 ± 0.10 (raw, n=2000)"
    assert table.cell("quality", "c").text == "c cannot sample"
    assert table.cell("coverage", "a").text == "coverage 0.900 ± 0.010, 8 modes (raw, n=2000)"
    assert table.cell("coverage", "b").text == "not measured"  # others measured it; b has no record


def test_sampling_marks_are_relative_to_the_fastest_model():
    speeds = {"fastest": 2e5, "one-pass": 1.4e4, "slow": 1e3, "sequential": 1.9e2}
    frame = to_frame(Record("samples_per_second", value, 1.0, unit="samples/s", n=256, estimator="timed")
                     .identify(model=model, dataset="d", seed=0) for model, value in speeds.items())
    table = comparison_table(frame)
    marks = {model: table.cell("sampling", model).mark for model in speeds}
    # ratios to the fastest: 1, 0.07, 0.005, 0.00095
    assert marks == {"fastest": CHECK, "one-pass": CHECK, "slow": UNSURE, "sequential": CROSS}
    assert str(table.cell("sampling", "slow")) == "? 1e+03 samples/s at batch 256 (0.005× the fastest)"
