"""IS, FID, KID, precision/recall, density/coverage: against torch-fidelity called directly, numpy/scipy,
prdc and the real-vs-real expectations on digits; the sample-size rules; provenance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import genbench
from genbench.data.splits import subset_rows
from genbench.metrics.coverage import expected_coverage
from genbench.metrics.feature_space import TensorRows
from genbench.metrics.fidelity import FIDELITY_SEED, PRC_BATCH, Fidelity
from genbench.records import NOT_AVAILABLE, OK
from genbench.reference import RealData, TrueModel
from genbench.service.evaluation import eval_context, measure


def noise(info):
    """Uniform noise on the data's grid: the worst sampler."""
    return lambda n, generator: info.quantize(torch.rand(n, *info.shape, generator=generator))


def by_metric(records):
    return {r.metric: r for r in records}


@pytest.fixture(scope="module")
def digits_figures(digits, sampler):
    """Real (train) vs test, and noise vs test, in domain features, n = 359 (the test split)."""
    metric = Fidelity()
    context = eval_context()
    real = by_metric(measure(RealData(digits.train), digits, [metric], context))
    noisy = by_metric(measure(sampler(noise(digits.info), digits.info), digits, [metric], context))
    return real, noisy


def test_real_vs_real_fid_is_small_and_noise_fid_is_large(digits_figures):
    """Train vs test examples: FID about 16 in the domain classifier's features (bootstrap standard
    error about 10, from 359 examples a side); uniform noise: about 480. The noise FID is at least 20
    times the real one, far beyond either's uncertainty."""
    real, noise = digits_figures
    assert real["fid"].status == OK and real["fid"].extractor == "domain" and real["fid"].n == 359
    assert real["fid"].value < 40
    assert noise["fid"].value > 20 * real["fid"].value
    assert noise["fid"].value - real["fid"].value > 10 * (real["fid"].stderr + noise["fid"].stderr)
    assert noise["is"].value < real["is"].value and noise["coverage"].value < 0.3 < 0.9 < real["coverage"].value


def test_real_vs_real_coverage_and_density_match_the_paper(digits_figures):
    """Naeem et al. 2020 for identical distributions, N = M = 359, k = 5: E[coverage] = 0.969 and
    E[density] = 1. Tolerances: 3 bootstrap standard errors (≈ 0.01 and 0.05 here) — train and test
    are disjoint draws from one pool of digits."""
    real, _ = digits_figures
    coverage, density = real["coverage"], real["density"]
    assert coverage.details["expected_coverage_if_identical"] == pytest.approx(expected_coverage(359, 359, 5))
    assert abs(coverage.value - expected_coverage(359, 359, 5)) < 3 * coverage.stderr
    assert abs(density.value - 1.0) < 3 * density.stderr
    assert 0 < coverage.stderr < 0.03 and 0 < density.stderr < 0.1


def test_every_record_carries_its_provenance(digits_figures):
    real, _ = digits_figures
    for record in real.values():
        details = record.details
        assert record.n == details["n"] == 359 and record.extractor == "domain"
        assert details["extractor"]["name"] == "domain" and len(details["extractor"]["weights_sha256"]) == 64
        assert details["extractor"]["resize"].startswith("none")
        assert details["extractor"]["classifier_test_accuracy"] > 0.9
        assert set(details["versions"]) == {"torch", "torchvision", "torch-fidelity", "scipy"}
        assert details["reference"]["split"] == "test" and details["reference"]["n"] == 359
        assert details["bootstrap"]["replicates"] == 20
        low, high = details["bootstrap"]["ci95"]
        assert low <= record.value <= high


@pytest.fixture(scope="module")
def fixed_inputs(digits, sampler):
    """Known generated inputs: test images with a fixed amount of noise, n = 300."""
    g = torch.Generator().manual_seed(0)
    x = digits.info.quantize(digits.train.x[:300] + 0.2 * torch.randn(300, 1, 8, 8, generator=g))
    metric = Fidelity(n=300, bootstrap=0, kid_subset_size=200, kid_subsets=20)
    context = eval_context(seed=3)
    records = by_metric(measure(sampler(lambda n, generator: x[:n], digits.info), digits, [metric], context))
    return x, metric, context, records


def test_is_kid_precision_recall_equal_a_direct_torch_fidelity_call(digits, fixed_inputs):
    """torch-fidelity's own pipeline on the same inputs, through genbench's registered extractor:
    identical numbers (relative 1e-9: both run the same code on the same tensors)."""
    import torch_fidelity

    x, metric, context, records = fixed_inputs
    reference = metric.reference(digits, context)
    real = digits.test.x[subset_rows(digits.test, 300)]  # n = 300 of the 359 test examples
    direct = torch_fidelity.calculate_metrics(
        input1=TensorRows(x), input2=TensorRows(real), feature_extractor="genbench-domain",
        feature_extractor_weights_path=str(reference.extractor.weights), isc=True, kid=True, prc=True, fid=True,
        cuda=False, cache=False, verbose=False, save_cpu_ram=True, batch_size=metric.config.batch_size,
        kid_subsets=20, kid_subset_size=200, prc_batch_size=PRC_BATCH, rng_seed=FIDELITY_SEED + context.seed)
    assert records["is"].value == pytest.approx(direct["inception_score_mean"], rel=1e-9)
    assert records["is"].details["std_over_splits"] == pytest.approx(direct["inception_score_std"], rel=1e-9)
    assert records["kid"].value == pytest.approx(direct["kernel_inception_distance_mean"], rel=1e-9)
    assert records["precision"].value == pytest.approx(direct["precision"], rel=1e-9)
    assert records["recall"].value == pytest.approx(direct["recall"], rel=1e-9)
    # FID: genbench's stable kernel on the same features agrees with torch-fidelity's eigvals route
    # here, where the 128-D covariances of 300 and 359 points are well conditioned.
    assert records["fid"].value == pytest.approx(direct["frechet_inception_distance"], rel=1e-6)


def test_fid_equals_numpy_on_the_same_features(digits, fixed_inputs, numpy_fid):
    """An independent numpy computation on the features torch-fidelity extracted: relative error
    < 1e-6. (The domain features are post-ReLU and some units are always zero on digits, so the
    covariances are singular: scipy's sqrtm warns here, numpy's QR route does not need to.)"""
    from torch_fidelity.utils import get_featuresdict_from_dataset

    x, metric, context, records = fixed_inputs
    reference = metric.reference(digits, context)
    fake = get_featuresdict_from_dataset(TensorRows(x), reference.module, 64, False, True, False)["features"]
    expected = numpy_fid(fake.double().numpy(), reference.real.features.double().numpy())
    assert records["fid"].value == pytest.approx(expected, rel=1e-6)


def test_density_coverage_equal_prdc_on_the_same_features(digits, fixed_inputs):
    import contextlib
    import io

    from prdc import compute_prdc
    from torch_fidelity.utils import get_featuresdict_from_dataset

    x, metric, context, records = fixed_inputs
    reference = metric.reference(digits, context)
    fake = get_featuresdict_from_dataset(TensorRows(x), reference.module, 64, False, True, False)["features"]
    with contextlib.redirect_stdout(io.StringIO()):
        expected = compute_prdc(reference.real.features.double().numpy(), fake.double().numpy(), 5)
    assert records["density"].value == pytest.approx(expected["density"], abs=1e-12)
    assert records["coverage"].value == pytest.approx(expected["coverage"], abs=1e-12)


def test_fid_below_the_feature_dimension_is_refused_with_a_way_out(digits):
    """n = 100 ≤ 128 domain features: FID is n/a (not failed: the protocol, not the model, rules it
    out, and every model gets the same), and the reason points to KID or a larger n."""
    records = by_metric(measure(RealData(digits.train), digits, [Fidelity(n=100, bootstrap=0)], eval_context()))
    fid = records["fid"]
    assert fid.status == NOT_AVAILABLE and fid.n == 100
    assert "use KID" in fid.reason and "n ≥ 129" in fid.reason
    assert records["kid"].status == OK and records["coverage"].status == OK


def test_the_same_seed_gives_the_same_records(digits, sampler):
    model = sampler(noise(digits.info), digits.info)
    first = measure(model, digits, [Fidelity(n=200, bootstrap=3)], eval_context(seed=1))
    again = measure(model, digits, [Fidelity(n=200, bootstrap=3)], eval_context(seed=1))
    assert [r.row() for r in first] == [r.row() for r in again]


def test_bootstrap_matches_the_spread_of_independent_draws(rings):
    """The standard errors the bootstrap reports against the spread over 15 independent draws of n =
    500 from the true ring mixture, measured against the same reference set. Each is itself uncertain
    (a 15-draw standard deviation by ±19%, a 20-replicate one by ±16%), so agreement within a factor
    1.8 is asked: recall (distinct-row replicates) and precision, coverage, FID (plain ones)."""
    truth = TrueModel(rings.true_distribution, rings.info)
    reported = by_metric(measure(truth, rings, [Fidelity(n=500, bootstrap=20)], eval_context(seed=0)))
    quick = Fidelity(n=500, bootstrap=0)
    draws = [by_metric(measure(truth, rings, [quick], eval_context(seed=s))) for s in range(1, 16)]
    for name in ("recall", "precision", "coverage", "fid"):
        observed = float(np.std([d[name].value for d in draws], ddof=1))
        assert 1 / 1.8 < reported[name].stderr / observed < 1.8, (name, reported[name].stderr, observed)
    assert reported["recall"].details["bootstrap"]["method"] == "bootstrap, repeated rows kept once"
    assert reported["precision"].details["bootstrap"]["method"] == "bootstrap"


def test_categorical_data_get_a_reason_not_a_number(wardrobe, fast):
    model = genbench.make_model("naive-bayes").fit(wardrobe.train)
    records = measure(model, wardrobe, [Fidelity()], eval_context())
    assert {r.status for r in records} == {NOT_AVAILABLE}
    assert "categorical" in records[0].reason


def test_options_are_checked(digits):
    from genbench.errors import UsageError

    with pytest.raises(UsageError, match="unknown extractor 'inceptoin'"):  # checked against the context's registry
        Fidelity(extractor="inceptoin").prepare(digits, eval_context())
    with pytest.raises(UsageError, match="unknown option 'kk'"):
        Fidelity(kk=3)
    with pytest.raises(UsageError, match="bootstrap needs at least 2"):
        Fidelity(bootstrap=1)
    with pytest.raises(UsageError, match="split must be one of"):
        Fidelity(split="dev")
    assert math.isnan(Fidelity(bootstrap=0).config.n or math.nan)
    defaults = Fidelity().config
    assert (defaults.replicates(359), defaults.replicates(5000), defaults.replicates(10_000)) == (20, 20, 0)
    assert Fidelity(bootstrap=50).config.replicates(10_000) == 50


def test_kid_replicates_reuse_torch_fidelitys_kernels(rings):
    """A replicate's KID from the precomputed kernel matrices equals torch-fidelity's KID on the
    resampled rows (one subset of the whole sets): float32 sums in another order, so relative 1e-5."""
    from genbench.metrics.fidelity import WholeSetKernels, kernel_inception_distance

    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(300, 2, generator=g), rings.test.x[:300]
    rows = torch.randint(300, (300,), generator=g)
    expected, _ = kernel_inception_distance(fake[rows], real, 1, None, 0)
    assert WholeSetKernels(fake, real).kid(rows) == pytest.approx(expected, rel=1e-5)
    options = Fidelity().config
    assert WholeSetKernels.applies(300, 300, options) and not WholeSetKernels.applies(300, 200, options)
