"""Every registered model honours the contract, in the spirit of scikit-learn's check_estimator."""

from __future__ import annotations

import math

import pytest
import torch

import genbench
from genbench import catalog
from genbench.metrics.likelihood import LogLikelihood
from genbench.model import Capability
from genbench.records import TIMED
from genbench.service.evaluation import eval_context
from genbench.testing import CHECKS, check_model

MODELS = catalog.MODELS.names()
DATASETS = ["digits", "rings", pytest.param("wardrobe", marks=pytest.mark.slow),
            pytest.param("shapes", marks=pytest.mark.slow)]
"""Digits and rings (images and vectors) in the fast tier; categories and 20×20 sprites with everything."""


@pytest.fixture(scope="module")
def datasets(digits, rings, wardrobe, shapes):
    return {"digits": digits, "rings": rings, "wardrobe": wardrobe, "shapes": shapes}


def fit(name, data, fast, seed=0):
    model = genbench.make_model(name, **fast(name))
    return model.fit(data.train, data.val, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("name", MODELS)
def test_every_registered_model_passes_the_contract_check(name, dataset, datasets, fast):
    """The checks a third party runs on its own class (genbench.testing.check_model), on genbench's own."""
    passed = check_model(catalog.MODELS.get(name), datasets[dataset], options=fast(name))
    if catalog.MODELS.get(name).unsupported_reason(datasets[dataset].info):
        assert passed == ["check_refuses_unsupported_data"]
    else:
        assert passed == [check.__name__ for check in CHECKS]


def _has_likelihood(name: str) -> bool:
    caps = catalog.MODELS.get(name).capabilities
    return bool(caps & {Capability.EXACT_LIKELIHOOD, Capability.IMPORTANCE_SAMPLER, Capability.LIKELIHOOD_BOUND})


@pytest.mark.parametrize("name", [name for name in MODELS if _has_likelihood(name)])
def test_same_seed_gives_the_same_metrics(name, digits, fast):
    metric = LogLikelihood(k=4, n=64, terms=8)
    first = metric.compute(fit(name, digits, fast), digits, eval_context(seed=3))
    second = metric.compute(fit(name, digits, fast), digits, eval_context(seed=3))
    measured = [r for r in first if r.estimator != TIMED]
    assert measured and all(math.isfinite(r.value) for r in measured), "a likelihood model measures a figure"
    assert measured == [r for r in second if r.estimator != TIMED]
