"""How long the sample-quality and coverage metrics take for 10 000 samples on the CPU, and genbench's
overhead over calling torch-fidelity directly on the same inputs.

Run with:  .venv/bin/pytest tests/benchmarks/test_fidelity_time.py --benchmark-columns=median,min,max,rounds

Datasets: ``rings`` with a 10 000-point test split (raw 2-D coordinates) and ``digits10k``: 50 000
digits-like 8×8 images (the 1797 digits with noise, on their 17-level grid, labelled) whose test
split holds 10 000, in the domain classifier's 128 features. The samples are 10 000 fixed examples
(a ``SampleSet``, drawn in order), so the time is the metrics', not a model's. The reference
features (and their k-NN radii) are cached before timing, as in every run but the first; the direct
torch-fidelity call extracts both sets each time (its own cache is keyed by name and unpickles
unsafely, so genbench keeps it off).
"""

from __future__ import annotations

import pytest
import torch

import genbench
from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import make_data
from genbench.metrics.feature_space import TensorRows
from genbench.metrics.fidelity import FIDELITY_SEED, PRC_BATCH, Fidelity
from genbench.sample_set import SampleSet
from genbench.service.evaluation import eval_context

N = 10_000
ROUNDS = 3


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def digits10k():
    base = genbench.load_dataset("digits")
    pool = torch.cat([base.train.x, base.val.x, base.test.x])
    labels = torch.cat([base.train.labels, base.val.labels, base.test.labels])
    g = torch.Generator().manual_seed(0)
    picks = torch.randint(len(pool), (5 * N,), generator=g)
    x = base.info.quantize(pool[picks] + 0.1 * torch.randn(5 * N, 1, 8, 8, generator=g))
    info = DataInfo("digits10k", (1, 8, 8), ValueType.DISCRETE, levels=17, n_classes=10)
    return make_data(x, info, labels=labels[picks], fractions=(0.7, 0.1, 0.2))


@pytest.fixture(scope="module", params=["rings", "digits10k"])
def setup(request, cache):
    if request.param == "rings":
        data = genbench.load_dataset("rings", n_test=N)
        samples = data.true_distribution.sample(N, torch.Generator().manual_seed(1))
    else:
        data = digits10k()
        samples = data.train.x[:N]
    context = eval_context(cache_dir=cache)
    Fidelity(bootstrap=0).prepare(data, context)  # train the classifier and cache the reference
    return data, SampleSet(samples, data.info, {"path": "10 000 fixed samples"}), context


def test_all_sample_metrics_for_10k_samples(benchmark, setup):
    """IS (digits), FID, KID, precision/recall, density/coverage on 10 000 samples, no bootstrap."""
    data, model, context = setup
    records = benchmark.pedantic(lambda: Fidelity(bootstrap=0).compute(model, data, context),
                                 rounds=ROUNDS, iterations=1)
    assert {r.status for r in records if r.metric != "is"} == {"ok"} and records[1].n == N


def test_direct_torch_fidelity_call_on_the_same_inputs(benchmark, setup):
    """torch_fidelity.calculate_metrics with IS, FID, KID, precision/recall on the same samples and
    reference, through genbench's registered extractor (genbench adds density/coverage)."""
    import torch_fidelity

    data, model, context = setup
    reference = Fidelity(bootstrap=0).reference(data, context)
    prepared = reference.extractor
    samples = prepared.to_input(model.draw(N, None))
    real = prepared.to_input(data.test.x)
    options = dict(feature_extractor=prepared.fidelity_name, isc=prepared.logits is not None, fid=True, kid=True,
                   prc=True, cuda=False, cache=False, verbose=False, save_cpu_ram=True, batch_size=500,
                   prc_batch_size=PRC_BATCH, rng_seed=FIDELITY_SEED, **prepared.fidelity_options())
    result = benchmark.pedantic(lambda: torch_fidelity.calculate_metrics(
        input1=TensorRows(samples), input2=TensorRows(real), **options), rounds=ROUNDS, iterations=1)
    assert "frechet_inception_distance" in result


def test_two_bootstrap_replicates_for_10k_samples(benchmark, setup):
    """The same as the first test plus 2 replicates: the difference over 2 is one replicate's cost."""
    data, model, context = setup
    benchmark.pedantic(lambda: Fidelity(bootstrap=2).compute(model, data, context), rounds=1, iterations=1)


def test_the_values_are_torch_fidelitys(setup):
    """Not timed: at n = 10 000 genbench's precision, recall, IS and KID are torch-fidelity's values, and
    density/coverage the float64 kernel's (equal to prdc)."""
    import torch_fidelity

    from genbench.metrics.coverage import density_coverage

    data, model, context = setup
    fidelity = Fidelity(bootstrap=0)
    records = {r.metric: r for r in fidelity.compute(model, data, context)}
    reference = fidelity.reference(data, context)
    prepared = reference.extractor
    direct = torch_fidelity.calculate_metrics(
        input1=TensorRows(prepared.to_input(model.draw(N, None))), input2=TensorRows(prepared.to_input(data.test.x)),
        feature_extractor=prepared.fidelity_name, isc=prepared.logits is not None, kid=True, prc=True, cuda=False,
        cache=False, verbose=False, save_cpu_ram=True, batch_size=500, prc_batch_size=PRC_BATCH,
        rng_seed=FIDELITY_SEED, **prepared.fidelity_options())
    assert records["precision"].value == direct["precision"] and records["recall"].value == direct["recall"]
    assert records["kid"].value == pytest.approx(direct["kernel_inception_distance_mean"], rel=1e-9)
    from genbench.metrics.feature_space import extract_features

    fake = extract_features(reference.module, prepared, prepared.to_input(model.draw(N, None)), 500, context.device)
    kernel = density_coverage(reference.real.features, fake.features, 5)
    assert (records["density"].value, records["coverage"].value) == (kernel.density, kernel.coverage)
