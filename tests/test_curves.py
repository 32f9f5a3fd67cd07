"""Learning curves: a model measured at ⅛, ¼, ½ of its planned steps and at the end of training, without changing
what it learns; the budget-limited rule on synthetic curves; the cells and the note that say so."""

from __future__ import annotations

import math

import pytest
import torch

import genbench
from genbench.curves import budget_limited, improvement
from genbench.metric import EvalContext
from genbench.metrics.learning_curve import CurveMonitor, LearningCurve, point_label
from genbench.records import Record, to_frame
from genbench.report.table import comparison_table
from genbench.service.evaluation import eval_context


def curve(*values, error=1.0, fractions=(1 / 8, 1 / 4, 1 / 2, 1.0)):
    return [(f, v, error) for f, v in zip(fractions, values)]


def test_a_flat_curve_is_not_budget_limited():
    assert budget_limited({"curve_fid": curve(30, 21, 20.5, 20.3)}, {"curve_fid": False}) == []


def test_a_curve_still_falling_over_the_last_doubling_is_budget_limited():
    found = budget_limited({"curve_fid": curve(60, 40, 30, 20)}, {"curve_fid": False})
    assert [c.figure for c in found] == ["curve_fid"]
    assert (found[0].gain, found[0].uncertainty) == (10, pytest.approx(math.sqrt(2)))
    assert found[0].describe("FID while training") == "FID while training went from 30 ± 1 to 20 ± 1"


def test_a_noisy_curve_whose_last_change_is_within_twice_its_uncertainty_is_not():
    """A fall of 2.5 with standard errors of 1 at each end is 1.77 σ of the difference: not measurable."""
    assert budget_limited({"curve_fid": curve(40, 25, 31, 28.5)}, {"curve_fid": False}) == []
    assert budget_limited({"curve_fid": curve(40, 25, 31, 27)}, {"curve_fid": False}) != []  # 2.8 σ


def test_a_rising_figure_is_judged_in_its_better_direction():
    assert budget_limited({"curve_coverage": curve(0.5, 0.6, 0.7, 0.8, error=0.01)}, {"curve_coverage": True})
    assert not budget_limited({"curve_coverage": curve(0.5, 0.6, 0.8, 0.7, error=0.01)}, {"curve_coverage": True})


def test_an_early_stopped_model_or_a_curve_without_its_half_way_point_is_not_judged():
    falling = {"curve_val_loss": curve(9, 7, 5, 3)}
    assert budget_limited(falling, {"curve_val_loss": False}, stopped_early=True) == []
    assert budget_limited({"curve_val_loss": curve(9, 7, 5, fractions=(1 / 8, 1 / 4, 1.0))},
                          {"curve_val_loss": False}) == []


def test_missing_standard_errors_count_as_zero():
    change = improvement("curve_fid", (30.0, math.nan), (29.0, math.nan), higher_is_better=False)
    assert change.measurable and change.uncertainty == 0


def fit(name, digits, monitor=None, **options):
    return genbench.make_model(name, budget="3e10", **options).fit(
        digits.train, digits.val, generator=torch.Generator().manual_seed(0), monitor=monitor)


def monitor_for(digits, tmp_path) -> CurveMonitor:
    context = eval_context(seed=0, device=torch.device("cpu"), cache_dir=tmp_path)
    metric = LearningCurve(n=200, bootstrap=3)
    metric.prepare(digits, context)
    return metric.while_training(digits, context)


@pytest.mark.parametrize("name", ["vae", "gan", "diffusion"])
def test_learning_curve_points_do_not_change_the_trained_model(name, digits, tmp_path):
    """Same seed, with and without a monitor: the same weights, bit for bit (the points run in evaluation mode,
    without gradients, their random streams their own, the global ones restored)."""
    watched = fit(name, digits, monitor_for(digits, tmp_path))
    alone = fit(name, digits)
    for a, b in zip(watched.state_dict().values(), alone.state_dict().values()):
        assert torch.equal(a, b)
    assert [point_label(p) for p in watched.learning_curve_] == ["1/8", "1/4", "1/2", "end"]
    assert alone.learning_curve_ == []


def test_each_point_says_where_training_stood_and_what_it_measured(digits, tmp_path):
    model = fit("vae", digits, monitor_for(digits, tmp_path))
    points = model.learning_curve_
    planned = model.training_["planned_steps"]
    assert [p["step"] for p in points] == [round(planned / 8), round(planned / 4), round(planned / 2), planned]
    assert [p["flops"] for p in points] == [p["step"] * model.training_["flops_per_step"] for p in points]
    assert points[-1]["final"] and not points[0]["final"]
    for point in points:
        assert set(point["figures"]) == {"curve_fid", "curve_coverage", "curve_val_loss"}
        assert point["space"] == {"extractor": "domain", "n": 180}  # the validation split holds 180
        value, error = point["figures"]["curve_val_loss"]
        assert math.isfinite(value) and error > 0
    assert points[-1]["figures"]["curve_val_loss"][0] < points[0]["figures"]["curve_val_loss"][0]
    records = LearningCurve(n=200).compute(model, digits, EvalContext())
    assert {r.metric for r in records} >= {"curve_fid[at=1/8]", "curve_fid[at=end]", "curve_val_loss[at=1/2]"}
    end = next(r for r in records if r.metric == "curve_fid[at=end]")
    assert (end.extractor, end.n, end.details["point"]["final"]) == ("domain", 180, True)


def test_a_model_fitted_in_closed_form_has_no_learning_curve(digits):
    pca = genbench.make_model("pca").fit(digits.train)
    records = LearningCurve().compute(pca, digits, EvalContext())
    assert {r.status for r in records} == {"unavailable"} and "not trained by genbench's training loop" in \
        records[0].reason


def test_one_more_doubling_at_the_last_gain_decides_whether_a_cross_is_within_reach():
    from genbench.report.training import within_reach

    change = improvement("curve_fid", (20.0, 0.5), (14.0, 0.5), higher_is_better=False)  # gain 6: projected 8
    assert within_reach(change, (10.0, 0.5), higher_is_better=False)
    assert within_reach(change, (7.0, 0.5), higher_is_better=False)  # 1 behind, within 2√(0.5² + 0.5²) = 1.41
    assert not within_reach(change, (6.0, 0.5), higher_is_better=False)  # 2 behind
    rising = improvement("curve_coverage", (0.40, 0.01), (0.45, 0.01), higher_is_better=True)  # projected 0.50
    assert within_reach(rising, (0.52, 0.01), True) and not within_reach(rising, (0.60, 0.01), True)


def curve_records(model: str, metric: str, half: float, end: float, error: float) -> list[Record]:
    return [Record(f"{metric}[at={label}]", value, error, n=2000, extractor="domain", estimator="while training",
                   details={"point": {"fraction": fraction, "final": label == "end", "flops": 1e12 * fraction}}
                   ).identify(model=model, dataset="mnist", seed=0)
            for label, fraction, value in (("1/2", 0.5, half), ("end", 1.0, end))]


def test_a_cross_becomes_a_question_mark_only_where_the_improvement_could_reach_the_best():
    """The table's cells: each row reads its own figure's curve; the VAE's FID, still falling and one doubling at
    that gain from the GAN's, earns ? with the reason; the flow's, still falling but far behind, keeps its ✗ and
    says why; the flow's validation loss, still falling, is noted on its likelihood cell alone."""
    records = [Record("fid", value, 0.5, n=10_000, extractor="domain", estimator="test").identify(
        model=model, dataset="mnist", seed=0) for model, value in (("gan", 10.0), ("vae", 20.0), ("flow", 60.0),
                                                                    ("real-data", 0.3))]
    records += [Record("log_likelihood", -700.0, 5.0, n=10_000, unit="nats", estimator="exact",
                       details={"likelihood": "exact"}).identify(model="flow", dataset="mnist", seed=0)]
    records += curve_records("gan", "curve_fid", 12.0, 10.0, 0.5) + curve_records("vae", "curve_fid", 20.0, 14.0, 0.5)
    records += curve_records("flow", "curve_fid", 70.0, 65.0, 0.5)
    records += curve_records("flow", "curve_val_loss", -3600.0, -3626.0, 2.0)
    table = comparison_table(to_frame(records))
    vae, flow = table.cell("quality", "vae"), table.cell("quality", "flow")
    assert vae.mark == "?" and "? not ✗: budget-limited: FID while training went from 20 ± 0.5 to 14 ± 0.5" in vae.text
    assert "would reach the best (gan's 10 ± 0.5)" in vae.text
    assert flow.mark == "✗" and "✗ stands" in flow.text and "measurably behind the best (gan's 10" in flow.text
    assert "validation loss" not in flow.text
    assert "budget-limited: validation loss while training went from" in table.cell("likelihood", "flow").text
    assert table.cell("quality", "gan").mark == "?"  # the best, measurably worse than real data


def test_an_autoencoder_samples_from_its_codes_as_they_stand_at_each_point(digits):
    """The AE draws from a Gaussian fitted to its training codes after training; at a learning-curve point it is
    fitted to the codes of that moment (on MNIST the curve's FID read 353 from the untouched N(0, I) while the
    finished model read 31)."""
    from genbench.baselines.autoencoder import CURVE_CODES

    seen = []

    class Recorder:
        fractions = (1 / 2,)

        def __call__(self, model, point):
            with torch.no_grad():
                codes = model._encode(digits.train.x[:CURVE_CODES]).double()
            seen.append((model.code_mean_.clone(), codes.mean(0)))

    fit("ae", digits, Recorder())
    assert len(seen) == 2  # half-way and the end
    for fitted, expected in seen:
        assert torch.allclose(fitted.double(), expected, atol=1e-5) and fitted.abs().sum() > 0
