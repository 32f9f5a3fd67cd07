"""Every registered model honours the contract, in the spirit of scikit-learn's check_estimator."""

from __future__ import annotations

import pytest
import torch

import genbench
from genbench import catalog
from genbench.data.info import ValueType
from genbench.errors import CapabilityError, UsageError
from genbench.metric import EvalContext
from genbench.metrics.likelihood import LogLikelihood
from genbench.model import Capability
from genbench.records import TIMED

MODELS = catalog.MODELS.names()
DATASETS = ["digits", "rings", "wardrobe"]


def assert_in_value_range(x: torch.Tensor, info) -> None:
    assert tuple(x.shape[1:]) == info.shape
    if info.value_type is ValueType.CATEGORICAL:
        assert x.dtype == torch.long
        assert (x >= 0).all() and (x < torch.tensor(info.n_categories)).all()
    elif info.value_type in (ValueType.BINARY, ValueType.DISCRETE):
        assert x.is_floating_point()
        assert torch.equal(info.quantize(x), x), "samples must lie on the data's grid"
    else:
        assert x.is_floating_point() and torch.isfinite(x).all()


@pytest.fixture(scope="module")
def datasets(digits, rings, wardrobe):
    return {"digits": digits, "rings": rings, "wardrobe": wardrobe}


def fit(name, data, fast, seed=0):
    model = genbench.make_model(name, **fast(name))
    return model.fit(data.train, data.val, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("name", MODELS)
def test_fit_sample_and_reproduce(name, dataset, datasets, fast):
    data = datasets[dataset]
    reason = catalog.MODELS.get(name).unsupported_reason(data.info)
    if reason:
        with pytest.raises(UsageError, match="cannot model"):
            fit(name, data, fast)
        return
    model = fit(name, data, fast)
    assert model.is_fitted
    samples = model.sample(13, torch.Generator().manual_seed(5))
    assert samples.shape == (13, *data.info.shape)
    assert_in_value_range(samples, data.info)
    again = model.sample(13, torch.Generator().manual_seed(5))
    assert torch.equal(samples, again), "the same generator must give the same samples"
    twin = fit(name, data, fast)
    twin_samples = twin.sample(13, torch.Generator().manual_seed(5))
    assert torch.equal(twin_samples, samples), "the same seed must give the same model"


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("name", MODELS)
def test_save_and_load_give_identical_samples(name, dataset, datasets, fast, tmp_path):
    data = datasets[dataset]
    if catalog.MODELS.get(name).unsupported_reason(data.info):
        return
    model = fit(name, data, fast)
    model.save(tmp_path / "model")
    loaded = genbench.load_model(tmp_path / "model")
    assert type(loaded) is type(model) and loaded.config == model.config and loaded.info_ == model.info_
    expected = model.sample(9, torch.Generator().manual_seed(2))
    assert torch.equal(loaded.sample(9, torch.Generator().manual_seed(2)), expected)
    assert loaded.history_ == model.history_


@pytest.mark.parametrize("name", MODELS)
def test_declared_capabilities_work_and_others_refuse(name, digits, fast):
    model = fit(name, digits, fast)
    x = digits.test.x[:6]
    caps = model.capabilities
    assert Capability.SAMPLE in caps
    if Capability.EXACT_LIKELIHOOD in caps:
        log_p = model.log_prob(x)
        assert log_p.shape == (6,) and torch.isfinite(log_p).all()
    else:
        with pytest.raises(CapabilityError):
            model.log_prob(x)
    if Capability.IMPORTANCE_SAMPLER in caps:
        z, log_q = model.propose(x, 3, torch.Generator().manual_seed(0))
        assert z.shape[:2] == (3, 6) and log_q.shape == (3, 6)
        assert model.log_joint(x, z).shape == (3, 6)
    if Capability.ENCODER in caps:
        z = model.encode(x)
        assert z.ndim == 2 and len(z) == 6
    else:
        with pytest.raises(CapabilityError):
            model.encode(x)
    if Capability.DECODER in caps:
        z = model.sample_latent(6, torch.Generator().manual_seed(0))
        decoded = model.decode(z)
        assert decoded.shape == x.shape and decoded.min() >= 0 and decoded.max() <= 1
    else:
        with pytest.raises(CapabilityError):
            model.decode(torch.zeros(6, 2))


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_gives_the_same_metrics(name, digits, fast):
    metric = LogLikelihood(k=4)
    first = metric.compute(fit(name, digits, fast), digits, EvalContext(seed=3)) if _has_likelihood(name) else []
    second = metric.compute(fit(name, digits, fast), digits, EvalContext(seed=3)) if _has_likelihood(name) else []
    assert [r for r in first if r.estimator != TIMED] == [r for r in second if r.estimator != TIMED]


def _has_likelihood(name: str) -> bool:
    caps = catalog.MODELS.get(name).capabilities
    return bool(caps & {Capability.EXACT_LIKELIHOOD, Capability.IMPORTANCE_SAMPLER})


@pytest.mark.parametrize("name", MODELS)
def test_bad_calls_are_refused_clearly(name, digits, fast):
    model = genbench.make_model(name, **fast(name))
    with pytest.raises(UsageError, match="not fitted yet"):
        model.sample(3)
    model.fit(digits.train)
    for n in (0, -2, 2.5):
        with pytest.raises(UsageError, match="positive integer"):
            model.sample(n)
    if model.has(Capability.EXACT_LIKELIHOOD):
        with pytest.raises(UsageError, match="example shape"):
            model.log_prob(torch.zeros(2, 3))
    with pytest.raises(UsageError, match="unknown option"):
        genbench.make_model(name, not_an_option=1)
