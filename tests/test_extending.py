"""A new metric and a new model (of a new family) are one class each plus one registration call: this module adds
both, and nothing else in genbench changes for them to reach every table, figure and the CI gate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genbench import catalog
from genbench.infra.rundir import RunDir
from genbench.metric import Metric
from genbench.model import Capability, GenerativeModel
from genbench.outputs import LOWER, Output
from genbench.records import Record


class BrightnessGap(Metric):
    """|mean pixel of the samples − mean pixel of the test split|: a toy metric, lower is better."""

    name = "brightness-gap"
    outputs = (Output("brightness_gap", "brightness gap", "grey levels", LOWER, headline=True),)
    requires_any = frozenset({Capability.SAMPLE})
    from_samples = True

    def compute(self, model, data, context):
        samples = model.draw(200, context.generator(self.name))
        gap = (samples.float().mean() - data.test.x.float().mean()).abs().item()
        return [Record("brightness_gap", gap, 0.0, n=200, estimator="mean difference", details={"samples": 200})]


class MeanImage(GenerativeModel):
    """A toy model of a toy family: the training split's mean image, with Gaussian pixel noise of a chosen spread."""

    name = "mean-image"
    family = "templates"
    capabilities = frozenset({Capability.SAMPLE})

    def _build(self, info):
        self.register_buffer("mean_", torch.zeros(info.shape))

    def _fit(self, x, x_val, generator):
        self.mean_.copy_(x.float().mean(0))

    def _sample(self, n, generator):
        noise = torch.randn(n, *self._info.shape, generator=generator) * 0.2
        return self._info.quantize(self.mean_ + noise)


@pytest.fixture
def registered():
    """The two classes registered, as a plugin or catalog.py would, and unregistered after."""
    catalog.METRICS.register("brightness-gap", BrightnessGap)
    catalog.MODELS.register("mean-image", MeanImage)
    yield
    catalog.METRICS.unregister("brightness-gap")
    catalog.MODELS.unregister("mean-image")


def test_a_new_metric_and_model_reach_every_output(registered, tmp_path, cli):
    out = tmp_path / "run"
    result = cli("run", "--models", "mean-image,naive-bayes", "--metrics", "brightness-gap,log-likelihood",
                 "--seeds", "0,1", "--out", out, "--quiet")
    assert result.code == 0, result.err
    frame = RunDir(out).read_metrics()
    gap = frame[frame.metric == "brightness_gap"]
    assert set(gap.model) == {"mean-image", "naive-bayes", "real-data"} and (gap.unit == "grey levels").all()
    assert json.loads(gap.details.iloc[0])["output"]["better"] == "lower"
    assert "| brightness_gap (grey levels) |" in (out / "measurements.md").read_text()
    assert r"brightness\_gap (grey levels)" in (out / "table.tex").read_text()
    assert "<th>brightness_gap (grey levels)</th>" in (out / "table.html").read_text()
    assert set(frame[frame.model == "mean-image"].family) == {"templates"}
    assert "Families: classical: naive-bayes · templates: mean-image · reference: real-data." in (
        out / "table.md").read_text()  # a declared family of its own, after the lecture's and before the reference
    assert '<th colspan="1">templates</th>' in (out / "table.html").read_text()
    from genbench.report.plots import headline_panels
    from genbench.report.summary import Summary

    assert "brightness_gap" in headline_panels(Summary(frame)) and (out / "figures" / "metrics.png").is_file()
    ll = frame[(frame.metric == "log_likelihood") & (frame.model == "mean-image")]
    assert (ll.status == "unavailable").all()  # the toy model declares no likelihood: n/a, said so
    baseline = tmp_path / "gap.json"
    assert cli("check", out, "--baseline", baseline, "--metrics", "brightness_gap", "--update").code == 0
    checked = cli("check", out, "--baseline", baseline)
    assert checked.code == 0 and "brightness_gap" in checked.out
    stored = json.loads(baseline.read_text())["values"]["mean-image"]["brightness_gap"]
    assert stored["seeds"] == [0, 1]


def test_a_metric_that_returns_an_undeclared_figure_fails_its_cell(registered, digits):
    from genbench.service.evaluation import eval_context, measure

    class Sloppy(BrightnessGap):
        def compute(self, model, data, context):
            return [Record("brightness", 1.0)]

    model = MeanImage().fit(digits.train)
    (record,) = measure(model, digits, [Sloppy()], eval_context())
    assert (record.metric, record.status) == ("brightness_gap", "failed")
    assert "returned a record 'brightness' it does not declare in its outputs" in record.reason


class LooseGaussian(GenerativeModel):
    """A toy model with a likelihood bound of its own: a fitted Gaussian's log-density minus one nat."""

    name = "loose-gaussian"
    capabilities = frozenset({Capability.SAMPLE, Capability.LIKELIHOOD_BOUND})

    def _build(self, info):
        self.register_buffer("mean_", torch.zeros(info.dim, dtype=torch.float64))
        self.register_buffer("cov_", torch.eye(info.dim, dtype=torch.float64))

    def _fit(self, x, x_val, generator):
        self.mean_.copy_(x.double().mean(0))
        self.cov_.copy_(torch.cov(x.double().T))

    def _distribution(self):
        return torch.distributions.MultivariateNormal(self.mean_, self.cov_)

    def _sample(self, n, generator):
        chol = torch.linalg.cholesky(self.cov_)
        return (self.mean_ + torch.randn(n, len(self.mean_), generator=generator, dtype=torch.float64) @ chol.T).float()

    def _log_likelihood_bound(self, x, generator):
        return self._distribution().log_prob(x.double()) - 1.0

    def bound_settings(self):
        return {"bound": "toy", "slack": "1 nat"}


def test_a_model_with_its_own_bound_is_measured_by_it(request, tmp_path, cli):
    from scipy import stats

    import genbench

    catalog.MODELS.register("loose-gaussian", LooseGaussian)
    request.addfinalizer(lambda: catalog.MODELS.unregister("loose-gaussian"))
    out = tmp_path / "run"
    assert cli("run", "--dataset", "rings", "--models", "loose-gaussian", "--metrics", "log-likelihood", "--out", out,
               "--quiet").code == 0
    record = RunDir(out).read_metrics().set_index(["model", "metric"]).loc[("loose-gaussian", "log_likelihood")]
    details = json.loads(record.details)
    assert (record.estimator, details["likelihood"], details["bound"]) == (
        "bound(bound=toy, slack=1 nat)", "model's bound", {"bound": "toy", "slack": "1 nat"})
    rings = genbench.load_dataset("rings")
    train = rings.train.x.double().numpy()
    expected = stats.multivariate_normal(train.mean(0), np.cov(train.T)).logpdf(rings.test.x.double().numpy()) - 1
    assert record.value == pytest.approx(expected.mean(), rel=1e-9)  # scipy's density, the bound's slack
    table = (out / "table.md").read_text()
    assert "| Efficient likelihood | ? -4.5332 ± 0.0011 nats, toy bound (slack=1 nat), " in table


def test_every_registered_model_declares_a_family_in_the_lecture_s_order():
    from genbench.report.families import FAMILY_ORDER

    families = [catalog.MODELS.get(name).family for name in catalog.MODELS.names()]
    assert sorted(set(families), key=FAMILY_ORDER.index) == list(FAMILY_ORDER)
