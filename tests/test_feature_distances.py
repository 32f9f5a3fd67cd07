"""The metrics beyond FID (CMMD, FD∞, FWD) as a run computes them: their kernels are pinned by test_cmmd.py,
test_fd_inf.py and test_wavelet_packets.py; here, the adapters on digits, against the same kernels on the same
features, and the expected order (real data's own figure near zero, noise's far above)."""

from __future__ import annotations

import math

import pytest
import torch

from genbench.features.inputs import to_uint8_rgb
from genbench.features.wavelet_packets import packet_features
from genbench.metrics.cmmd import cmmd_estimate
from genbench.metrics.feature_distances import Cmmd, FdInfinity, FrechetWaveletDistance
from genbench.metrics.frechet import frechet_distance, gaussian_statistics
from genbench.records import NOT_AVAILABLE, OK
from genbench.service.evaluation import eval_context


@pytest.fixture
def real_and_noise(digits, sampler):
    real = digits.train.x

    def draw_real(n, generator):
        return real[torch.randint(len(real), (n,), generator=generator)]

    def draw_noise(n, generator):
        return torch.rand((n, *digits.info.shape), generator=generator)

    return sampler(draw_real, digits.info), sampler(draw_noise, digits.info)


def test_cmmd_of_real_data_is_zero_within_its_error_and_of_noise_far_above(digits, real_and_noise):
    real, noise = real_and_noise
    context = eval_context()
    metric = Cmmd(extractor="domain")
    metric.prepare(digits, context)
    near, far = (metric.compute(model, digits, context)[0] for model in (real, noise))
    assert near.status == far.status == OK and near.extractor == "domain" and near.n == len(digits.test)
    assert abs(near.value) < 3 * near.stderr
    # σ = 10 on unit vectors (distances ≤ 2) keeps the kernel nearly flat: CMMD's figures are small numbers
    assert far.value > 10 * far.stderr and far.value > 10 * (abs(near.value) + near.stderr)
    # the adapter's figure is the kernel's on the same features: recompute them with the shared draws
    ref = metric.reference(digits, context)
    x = context.samples(noise, near.n, "fidelity", 500)
    from genbench.metrics.feature_space import extract_features

    features = extract_features(ref.module, ref.extractor, ref.extractor.to_input(x), 500, context.device).features
    assert far.value == pytest.approx(cmmd_estimate(features, ref.real.features).value, rel=1e-9)


def test_fd_infinity_lies_below_fid_at_n_for_real_data(digits, real_and_noise):
    from genbench.metrics.fidelity import Fidelity

    real, _ = real_and_noise
    context = eval_context()
    record = FdInfinity().compute(real, digits, context)[0]
    fid = next(r for r in Fidelity().compute(real, digits, context) if r.metric == "fid")
    assert record.status == OK and record.extractor == fid.extractor == "domain"
    assert record.details["sizes"][0] > 128 and record.details["sizes"][-1] == record.n  # above the dimension
    assert record.value < fid.value  # FID's bias is positive and shrinks like 1/N
    assert record.stderr > 0


def test_fd_infinity_is_refused_when_n_leaves_too_few_sizes_above_the_dimension(digits, real_and_noise):
    record = FdInfinity(n=140).compute(real_and_noise[0], digits, eval_context())[0]
    assert record.status == NOT_AVAILABLE and "128 feature dimensions" in record.reason


def test_fwd_is_the_mean_packet_frechet_distance_of_the_shared_draws(digits, real_and_noise):
    real, noise = real_and_noise
    context = eval_context()
    metric = FrechetWaveletDistance(level=2)
    near, far = (metric.compute(model, digits, context)[0] for model in (real, noise))
    assert near.status == far.status == OK and near.extractor == "wavelet" and math.isnan(near.stderr)
    assert far.value > 10 * near.value
    from genbench.data.splits import subset_rows

    test = digits.test
    x = context.samples(noise, far.n, "fidelity", 500)
    fake, real = (packet_features(to_uint8_rgb(images), 2).reshape(len(images), 16, -1)
                  for images in (x, test.x[subset_rows(test, far.n)]))
    # the mean of 16 separate Fréchet distances, one per packet, as pytorchfwd aggregates them
    per_packet = [frechet_distance(gaussian_statistics(fake[:, p]), gaussian_statistics(real[:, p])) for p in range(16)]
    expected = sum(per_packet) / 16
    assert far.value == pytest.approx(expected, rel=1e-12)


def test_fwd_at_a_level_the_image_is_too_small_for_is_na_with_the_reason(digits, real_and_noise):
    record = FrechetWaveletDistance().compute(real_and_noise[0], digits, eval_context())[0]
    assert record.status == NOT_AVAILABLE and "9×9" in record.reason
