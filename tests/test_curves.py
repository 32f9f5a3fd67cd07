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
