"""The ``wavelet`` space: FWD's Haar packets as an extractor, where the Fréchet distance is FWD's.

Independent checks: the FID the fidelity metric measures in this space against the ``fwd`` metric (float64
packets, the mean of per-packet distances; its parity with pytorchfwd is test_wavelet_packets.py's) on the same
draws; distances between images here against their pixel distances (the packet transform is orthonormal).
"""

from __future__ import annotations

import pytest
import torch

from genbench.features.inputs import to_uint8_rgb
from genbench.features.wavelet import WaveletExtractor
from genbench.features.wavelet_packets import packet_features, packet_side
from genbench.metrics.feature_distances import FrechetWaveletDistance
from genbench.metrics.fidelity import Fidelity
from genbench.records import OK
from genbench.service.evaluation import eval_context


def test_fid_in_the_wavelet_space_is_fwd_on_the_same_draws(digits, sampler):
    """8×8 digits take level 3 (64 packets of 3·1·1), and FID there is FWD at level 3.

    Tolerance 1e-5 relative: the fidelity metric's features pass through float32 (torch-fidelity's feature loop),
    the fwd metric's stay float64; packet values in [0, 8] keep a float32 rounding of 5e-7, and the distance, a
    sum of squared differences of such values, inherits about that relative error."""
    noise = sampler(lambda n, g: torch.rand((n, *digits.info.shape), generator=g), digits.info)
    context = eval_context(seed=0)
    fid = {r.metric: r for r in Fidelity(extractor="wavelet", n=300).compute(noise, digits, context)}["fid"]
    fwd = FrechetWaveletDistance(level=3, n=300).compute(noise, digits, context)[0]
    assert fid.status == fwd.status == OK and fid.extractor == fwd.extractor == "wavelet"
    assert fid.details["extractor"]["level"] == 3 and fid.details["extractor"]["blocks"] == 64
    assert fid.value == pytest.approx(fwd.value, rel=1e-5)


def test_distances_between_images_in_the_wavelet_space_are_their_pixel_distances():
    """Haar packets are an orthonormal transform: ‖packets(x) − packets(y)‖ = ‖x − y‖ over 3 channels (even sides)."""
    images = torch.randint(0, 256, (6, 1, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    packets = packet_features(images, 4)
    pixels = to_uint8_rgb(images.float() / 255).double().div(255).flatten(1)
    torch.testing.assert_close(torch.cdist(packets, packets), torch.cdist(pixels, pixels), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("side", "level", "expected"), [(28, 4, 2), (8, 3, 1), (32, 4, 2), (9, 4, 1), (27, 2, 7)])
def test_a_packets_side_is_the_image_side_halved_and_rounded_up(side, level, expected):
    assert packet_side(side, level) == expected
    assert packet_features(torch.zeros(1, 1, side, side), level).shape[1] == 4**level * 3 * expected**2


def test_the_wavelet_extractor_says_its_level_and_refuses_what_it_cannot_take(digits, rings):
    prepared = WaveletExtractor().prepare(digits, eval_context())
    assert (prepared.dim, prepared.blocks, prepared.frechet_dim) == (192, 64, 3)
    assert prepared.provenance["level"] == 3 and prepared.weights is None
    assert "takes images" in WaveletExtractor().unsupported_reason(rings.info)


def test_memorisation_tests_copying_in_each_space_and_exact_copies_once(digits):
    """extractor=domain+wavelet: the data-copying test and near copies in both spaces, the exact copies (the data's
    values) and the likelihood gap once."""
    from genbench import catalog
    from genbench.metrics.memorisation import Memorisation
    from genbench.service.evaluation import metric_records

    model = catalog.MODELS.get("pca")().fit(digits.train)
    context = eval_context(seed=0)
    metric = Memorisation(extractor="domain+wavelet", n=60, train_n=200, gap_n=20, gap_terms=5)
    metric.prepare(digits, context)
    records = {r.metric: r for r in metric_records(model, digits, metric, context)}
    assert set(records) == set(metric.produces)
    assert "exact_copies[wavelet]" not in records and "generalisation_gap[wavelet]" not in records
    for figure in ("copying_zu", "near_copies", "near_copies_heldout"):
        first, further = records[figure], records[f"{figure}[wavelet]"]
        assert first.status == further.status == OK, (first.reason, further.reason)
        assert (first.extractor, further.extractor) == ("domain", "wavelet")
    assert records["copying_zu"].value != records["copying_zu[wavelet]"].value


def test_the_learning_curve_measures_each_point_in_each_space_and_draws_the_first(digits, tmp_path):
    """The same draws at each point in both spaces; the first space's records keep their names (the report's
    curves read them), a further space's carry it before the point."""
    import genbench
    from genbench.metric import EvalContext
    from genbench.metrics.learning_curve import LearningCurve

    context = eval_context(seed=0, cache_dir=tmp_path)
    single, double = LearningCurve(n=200, bootstrap=2), LearningCurve(n=200, bootstrap=2, extractor="domain+wavelet")
    models = []
    for metric in (single, double):
        metric.prepare(digits, context)
        models.append(genbench.make_model("vae", budget="3e10").fit(
            digits.train, digits.val, generator=torch.Generator().manual_seed(0),
            monitor=metric.while_training(digits, context)))
    alone, both = ({r.metric: r for r in m.compute(model, digits, EvalContext())} for m, model in zip((single, double),
                                                                                                       models))
    assert set(both) == set(alone) | {f"curve_{f}[wavelet][at={p}]" for f in ("fid", "coverage")
                                      for p in ("1/8", "1/4", "1/2", "end")}
    for name, record in alone.items():  # the first space's figures are those of a single-space curve
        assert both[name].value == record.value and both[name].extractor == record.extractor
    further = both["curve_fid[wavelet][at=end]"]
    assert further.status == OK and further.extractor == "wavelet" and further.n == alone["curve_fid[at=end]"].n
