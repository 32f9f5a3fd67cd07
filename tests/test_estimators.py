"""Likelihood estimators: a model offers them by name, the metric chooses and records which, with settings and cost."""

from __future__ import annotations

import math

import pytest
import torch

from genbench.data import DataInfo, Split, ValueType
from genbench.data.splits import Data
from genbench.errors import UsageError
from genbench.estimators import ODE, Estimate, LikelihoodEstimator
from genbench.metrics.likelihood import LogLikelihood
from genbench.model import Capability, GenerativeModel
from genbench.records import EXACT, IW_BOUND, MODEL_BOUND
from genbench.service.evaluation import eval_context

INFO = DataInfo("gaussian", (3,), ValueType.CONTINUOUS)


class TwoWays(GenerativeModel):
    """N(0, I) with its exact density and, as a user's model would add one, a Monte Carlo "ode" of its own that
    returns the density minus 0.5 nats at ``steps`` evaluations per example."""

    name = "two-ways"
    capabilities = frozenset({Capability.SAMPLE, Capability.EXACT_LIKELIHOOD})

    def _build(self, info):
        pass

    def _fit(self, x, x_val, generator):
        pass

    def _log_prob(self, x):
        return torch.distributions.Normal(0.0, 1.0).log_prob(x.double()).sum(1)

    def shifted(self, x, generator, steps):
        return Estimate(self.log_prob(x) - 0.5, float(steps))

    def likelihood_estimators(self):
        return {**super().likelihood_estimators(),
                "ode": LikelihoodEstimator("ode", ODE, self.shifted, settings={"steps": 12})}


def data(n: int = 40) -> Data:
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    return Data(INFO, Split(x, INFO), Split(x, INFO, name="val"), Split(x, INFO, name="test"))


def fitted(model: GenerativeModel) -> GenerativeModel:
    model.build(INFO)
    return model


def test_the_default_is_the_first_estimator_and_the_contract_lists_them_from_the_capabilities():
    model = fitted(TwoWays())
    assert list(model.likelihood_estimators()) == ["exact", "ode"]
    assert model.likelihood_estimator().name == "exact"
    assert model.likelihood_estimator("ode").settings == {"steps": 12}
    with pytest.raises(UsageError, match="offers no likelihood estimator 'vlb'; it offers exact, ode"):
        model.likelihood_estimator("vlb")


def test_the_metric_measures_with_the_chosen_estimator_and_records_its_settings_and_cost():
    model, d = fitted(TwoWays()), data()
    truth = model.log_prob(d.test.x)
    exact = {r.metric: r for r in LogLikelihood().compute(model, d, eval_context())}
    chosen = {r.metric: r for r in LogLikelihood(estimator="ode").compute(model, d, eval_context())}
    assert exact["log_likelihood"].value == pytest.approx(truth.mean().item(), abs=1e-12)
    assert chosen["log_likelihood"].value == pytest.approx(truth.mean().item() - 0.5, abs=1e-12)
    ll = chosen["log_likelihood"]
    assert ll.estimator == "ode(steps=12)"
    assert (ll.details["likelihood"], ll.details["estimator_name"], ll.details["settings"], ll.details["nfe"]) == (
        ODE, "ode", {"steps": 12}, 12.0)
    assert exact["log_likelihood"].details["nfe"] == 1.0 and exact["log_likelihood"].details["likelihood"] == EXACT
    assert chosen["likelihood_examples_per_second"].details["nfe"] == 12.0


def test_a_model_without_the_named_estimator_is_measured_by_its_default_and_says_so():
    model, d = fitted(TwoWays()), data()
    (ll, *_) = LogLikelihood(estimator="vlb").compute(model, d, eval_context())
    assert ll.estimator == "exact" and ll.details["estimator_name"] == "exact"


def test_settings_are_checked_by_name():
    estimator = fitted(TwoWays()).likelihood_estimator("ode")
    assert estimator.with_settings(steps=3).settings == {"steps": 3}
    with pytest.raises(UsageError, match="takes no setting 'rtol'; its settings: steps"):
        estimator.with_settings(rtol=1e-3)
    with pytest.raises(UsageError, match="kind 'guess'"):
        LikelihoodEstimator("x", "guess", lambda x, g: x)


def test_an_estimate_may_be_a_bare_tensor_with_an_unknown_cost():
    estimator = LikelihoodEstimator("plain", MODEL_BOUND, lambda x, generator: x.sum(1))
    result = estimator(torch.ones(2, 3))
    assert torch.equal(result.values, torch.full((2,), 3.0)) and math.isnan(result.evaluations)


def test_the_importance_weighted_bound_is_an_estimator_with_k_from_the_protocol():
    class Latent(GenerativeModel):
        """z ~ N(0, 1), x | z ~ N(z, 1) per value, proposed from the exact posterior N(x/2, 1/2): every weight is
        p(x) = N(x; 0, 2), so every K gives it exactly."""

        name = "latent"
        capabilities = frozenset({Capability.IMPORTANCE_SAMPLER})

        def _build(self, info):
            pass

        def _fit(self, x, x_val, generator):
            pass

        def _propose(self, x, k, generator):
            q = torch.distributions.Normal(x.double() / 2, math.sqrt(0.5))
            z = q.sample((k,))
            return z, q.log_prob(z).sum(-1)

        def _log_joint(self, x, z):
            normal = torch.distributions.Normal
            return normal(0.0, 1.0).log_prob(z).sum(-1) + normal(z, 1.0).log_prob(x.double()).sum(-1)

    model, d = fitted(Latent()), data()
    (ll, *_) = LogLikelihood(k=7).compute(model, d, eval_context())
    truth = torch.distributions.Normal(0.0, math.sqrt(2)).log_prob(d.test.x.double()).sum(1).mean().item()
    assert ll.value == pytest.approx(truth, abs=1e-6)  # float32 data: agreement to its rounding
    assert (ll.estimator, ll.details["likelihood"], ll.details["k"], ll.details["nfe"]) == (
        "iw-bound(K=7)", IW_BOUND, 7, 7.0)


@pytest.mark.slow
def test_gibbs_inequality_on_rings_no_estimator_beats_the_true_density(rings, fast):
    """E_p[log q] ≤ E_p[log p] for every normalised q (Gibbs' inequality), and a bound lies lower still: on rings'
    test split, with its known density, no estimator of the VAE, the flow or the diffusion model (vlb, importance-
    sampled t, ODE with the exact divergence) is above the truth by more than 3 standard errors of the paired
    difference. Catches a lost Jacobian or a density in the wrong units, which would lift a figure above it."""
    import genbench

    x = rings.test.x[:300]
    truth = rings.true_distribution.log_prob(x).double()
    runs = [("vae", {"k": 50}), ("flow", {}), ("diffusion", {"estimator": "vlb", "terms": 20}),
            ("diffusion", {"estimator": "vlb", "terms": 20, "sampling": "importance"}),
            ("diffusion", {"estimator": "ode"})]
    models = {}
    for name, options in runs:
        if name not in models:
            models[name] = genbench.make_model(name, **fast(name)).fit(rings.train,
                                                                        generator=torch.Generator().manual_seed(0))
        values = LogLikelihood(**options).per_example(models[name], x, rings.info, torch.Generator().manual_seed(1))
        gap = values - truth
        assert gap.mean().item() <= 3 * gap.std().item() / math.sqrt(len(x)), (name, options, gap.mean().item())
