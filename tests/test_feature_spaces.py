"""The pretrained feature spaces (DINOv2, CLIP) on files written in their published formats, and several spaces in
one measurement.

No weights can be downloaded here, so each test writes random weights with the exact key names and shapes of the
published file (Meta's ``dinov2_vits14_pretrain.pth``, a TorchScript archive laid out as OpenAI's CLIP archives)
and tells genbench that file's SHA-256 is the published one (``published_as``); the hash check itself is
``tests/test_weights.py``'s, and Meta's forward ``tests/test_dinov2_net.py``'s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from genbench.errors import DataMissingError
from genbench.features import weights
from genbench.features.adapters import build
from genbench.features.clip import ClipVitB32
from genbench.features.dinov2 import DinoV2Small, normalise_imagenet, resize_like_dgm_eval
from genbench.features.dinov2_net import load_dinov2, random_dinov2_state
from genbench.features.inputs import to_uint8_rgb
from genbench.infra.cache import file_sha256
from genbench.metrics.feature_space import extract_features
from genbench.metrics.fidelity import Fidelity
from genbench.records import OK
from genbench.service.evaluation import eval_context


@pytest.fixture
def published_as(monkeypatch):
    """``published_as(name, path)``: make ``path``'s SHA-256 the published one of extractor ``name``."""
    def publish(name, path):
        monkeypatch.setitem(weights.PUBLISHED, name,
                            dataclasses.replace(weights.PUBLISHED[name], sha256=file_sha256(path)))
        return path
    return publish


@pytest.fixture
def dinov2_small(tmp_path, published_as):
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(random_dinov2_state("vit-s-14", torch.Generator().manual_seed(0)), path)
    return published_as("dinov2-vit-s-14", path)


class ClipArchive(nn.Module):
    """A small CLIP laid out as OpenAI's TorchScript archives: ``visual.*`` (a ViT with 32-pixel patches at 224
    px, width 64, two blocks, ViT-B/32's 512-d embedding) and the text side's tensors, which torch-fidelity
    drops."""

    def __init__(self):
        from torch_fidelity.feature_extractor_clip import CLIPVisual

        super().__init__()
        self.visual = CLIPVisual(512, 224, 2, 64, 32).visual
        self.text_projection = nn.Parameter(torch.randn(48, 512))
        self.logit_scale = nn.Parameter(torch.ones([]))
        self.ln_final = nn.LayerNorm(48)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.logit_scale


@pytest.fixture
def clip_archive(tmp_path, published_as):
    torch.manual_seed(0)
    path = tmp_path / "ViT-B-32.pt"
    torch.jit.script(ClipArchive()).save(str(path))
    return published_as("clip-vit-b-32", path)


def test_dinov2_input_is_dgm_evals_pil_bicubic_then_imagenet_normalisation(digits):
    """dgm-eval's transform, as it runs it (torchvision on PIL images), against genbench's batched one."""
    from PIL import Image
    from torchvision import transforms

    images = to_uint8_rgb(digits.test.x[:6])
    dgm_eval = transforms.Compose([transforms.Resize((224, 224), transforms.InterpolationMode.BICUBIC),
                                   transforms.ToTensor(),
                                   transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    expected = torch.stack([dgm_eval(Image.fromarray(image.permute(1, 2, 0).numpy())) for image in images])
    assert torch.allclose(normalise_imagenet(resize_like_dgm_eval(images)), expected, atol=1e-6)


@pytest.mark.slow
def test_dinov2_features_are_metas_forward_on_the_published_file(digits, dinov2_small, tmp_path):
    context = eval_context(weights={"dinov2-vit-s-14": dinov2_small}, cache_dir=tmp_path / "cache")
    prepared = DinoV2Small().prepare(digits, context)
    assert prepared.weights_sha256 == file_sha256(dinov2_small) and prepared.dim == 384
    images = digits.test.x[:8]
    features = extract_features(build(prepared, context.device), prepared, prepared.to_input(images), 4,
                                context.device).features
    net = load_dinov2(torch.load(dinov2_small, weights_only=True)).double()
    expected = net(normalise_imagenet(resize_like_dgm_eval(to_uint8_rgb(images))).double())
    # float32 through 12 blocks against float64: test_dinov2_net.py measures 1e-6 relative
    assert torch.allclose(features.double(), expected, rtol=0, atol=1e-4 * float(expected.abs().max()))


def test_a_dinov2_file_that_is_not_the_published_one_is_refused_in_one_line(digits, tmp_path):
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(random_dinov2_state("vit-s-14", torch.Generator().manual_seed(0)), path)
    context = eval_context(weights={"dinov2-vit-s-14": path}, cache_dir=tmp_path / "cache")
    with pytest.raises(DataMissingError) as error:
        DinoV2Small().prepare(digits, context)
    message = str(error.value)
    assert "\n" not in message and str(path) in message and weights.PUBLISHED["dinov2-vit-s-14"].sha256 in message


def test_clip_features_are_torch_fidelitys_on_an_openai_archive(digits, clip_archive, tmp_path):
    from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP

    context = eval_context(weights={"clip-vit-b-32": clip_archive}, cache_dir=tmp_path / "cache")
    prepared = ClipVitB32().prepare(digits, context)
    images = digits.test.x[:10]
    features = extract_features(build(prepared, context.device), prepared, prepared.to_input(images), 5,
                                context.device).features
    reference = FeatureExtractorCLIP("clip-vit-b-32", ["clip"], feature_extractor_weights_path=str(clip_archive))
    with torch.no_grad():
        expected = reference(to_uint8_rgb(images))[0]
    assert features.shape == (10, 512)
    # the same network on the same uint8 input; batches of 5 against 10 may change float32 sums in the last bits
    assert torch.allclose(features, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))


@pytest.mark.slow
def test_every_figure_in_each_of_several_spaces(digits, sampler, dinov2_small, tmp_path):
    """extractor=domain+dinov2-vit-s-14: the first space's figures keep their names, the second's carry it."""
    real = digits.test.x

    def draw(n, generator):
        return real[torch.randint(len(real), (n,), generator=generator)]

    context = eval_context(weights={"dinov2-vit-s-14": dinov2_small}, cache_dir=tmp_path / "cache")
    metric = Fidelity(extractor="domain+dinov2-vit-s-14", n=140)
    assert metric.produces[:7] == ("is", "fid", "kid", "precision", "recall", "density", "coverage")
    assert "fid[dinov2-vit-s-14]" in metric.produces
    records = {r.metric: r for r in metric.compute(sampler(draw, digits.info), digits, context)}
    assert records["fid"].extractor == "domain" and records["fid[dinov2-vit-s-14]"].extractor == "dinov2-vit-s-14"
    assert records["kid[dinov2-vit-s-14]"].status == OK and records["coverage[dinov2-vit-s-14]"].status == OK
    assert records["is[dinov2-vit-s-14]"].status != OK  # a backbone has no class probabilities
    # n = 140: above the domain space's 128 dimensions, below DINOv2's 384, where FID is refused and KID is not
    assert records["fid[dinov2-vit-s-14]"].status != OK and "384" in records["fid[dinov2-vit-s-14]"].reason
    assert np.isfinite(records["fid"].value)
    sha = records["kid[dinov2-vit-s-14]"].details["extractor"]["weights_sha256"]
    assert sha == file_sha256(dinov2_small)


def test_extractor_names_joined_by_plus_are_checked():
    from genbench.errors import UsageError

    for bad in ("domain+", "domain+domain", "+raw"):
        with pytest.raises((UsageError, ValueError)):
            Fidelity(extractor=bad)


@pytest.mark.slow
def test_score_a_folder_of_pngs_in_dinov2_space_with_weights_from_a_file(cli, digits, dinov2_small, tmp_path):
    """A paper's FD_DINOv2 on its own samples: one command, the weights a file named on the command line."""
    import pandas as pd
    from PIL import Image

    folder = tmp_path / "samples"
    folder.mkdir()
    for i, image in enumerate(to_uint8_rgb(digits.train.x[:150])[:, 0]):
        Image.fromarray(image.numpy()).save(folder / f"{i:03d}.png")
    out = tmp_path / "scored"
    result = cli("score", folder, "--metrics", "fidelity:extractor=dinov2-vit-s-14", "--n", "150",
                 "--weights", f"dinov2-vit-s-14={dinov2_small}", "--out", out, "--quiet")
    assert result.code == 0, result.err
    frame = pd.read_csv(out / "metrics.csv")
    kid = frame[(frame.metric == "kid") & (frame.model == "samples")].iloc[0]
    assert kid.extractor == "dinov2-vit-s-14" and kid.status == OK
    assert file_sha256(dinov2_small) in kid.details


def error_lines(err: str) -> list[str]:
    """What a command wrote to stderr, without the note on a busy machine that a parallel test run causes."""
    return [line for line in err.strip().splitlines() if "the machine is busy" not in line]


def test_a_weights_file_that_is_not_the_published_one_stops_the_command_in_one_line(cli, tmp_path):
    path = tmp_path / "dinov2_vitb14_pretrain.pth"
    path.write_bytes(b"not Meta's file")
    result = cli("stats", "--extractor", "dinov2-vit-b-14", "--weights", f"dinov2-vit-b-14={path}",
                 "-o", tmp_path / "stats.npz")
    assert result.code != 0 and len(error_lines(result.err)) == 1, result.err
    assert str(path) in result.err and weights.PUBLISHED["dinov2-vit-b-14"].sha256 in result.err


def test_weights_flag_takes_name_path_pairs(cli, tmp_path):
    result = cli("stats", "--weights", "dinov2-vit-b-14", "-o", tmp_path / "stats.npz")
    assert result.code == 2 and "NAME=PATH" in result.err and len(error_lines(result.err)) == 1


SPACE_METRICS = ("fidelity:n={n}", "cmmd:n={n}", "fd-inf:n={n}", "latent-smoothness:n=20:steps=4",
                 "memorisation:n={n}:train_n=200:gap_n=20:gap_terms=5")
"""Every metric that measures in a feature space, at sizes a test affords on a ViT at 224×224."""


@pytest.mark.slow
@pytest.mark.parametrize("space", ["domain", "dinov2-vit-s-14", "clip-vit-b-32", "wavelet"])
def test_every_metric_measures_in_every_space(space, digits, dinov2_small, clip_archive, tmp_path):
    """The contract over the spaces: each metric that takes an extractor runs in it on digits, for a model with a
    latent space, and every record is measured in that space or n/a with its reason, never failed."""
    from genbench import catalog
    from genbench.records import FAILED
    from genbench.service.evaluation import metric_records
    from genbench.specs import parse_spec

    model = catalog.MODELS.get("pca")().fit(digits.train)
    context = eval_context(seed=0, weights={"dinov2-vit-s-14": dinov2_small, "clip-vit-b-32": clip_archive},
                           cache_dir=tmp_path / "cache")
    for text in SPACE_METRICS:
        spec = parse_spec(text.format(n=60) + f":extractor={space}", "metric")
        metric = catalog.METRICS.get(spec.name)(**spec.option_dict())
        metric.prepare(digits, context)
        records = metric_records(model, digits, metric, context)
        assert records and not [r for r in records if r.status == FAILED], [r.reason for r in records]
        measured = [r for r in records if r.status == OK and r.extractor]
        if spec.name == "fd-inf":  # 15 subset sizes above the dimension need n in the hundreds
            assert records[0].status == OK or "feature dimensions" in records[0].reason
            continue
        assert measured, (spec.name, [(r.metric, r.reason) for r in records])
        assert {r.extractor for r in measured} == {space}, spec.name


@pytest.mark.slow
def test_latent_smoothness_and_cmmd_measure_in_several_spaces_too(digits, dinov2_small, tmp_path):
    from genbench import catalog
    from genbench.metrics.feature_distances import Cmmd
    from genbench.metrics.smoothness import LatentSmoothness
    from genbench.service.evaluation import metric_records

    model = catalog.MODELS.get("pca")().fit(digits.train)
    context = eval_context(seed=0, weights={"dinov2-vit-s-14": dinov2_small}, cache_dir=tmp_path / "cache")
    for metric in (LatentSmoothness(extractor="domain+dinov2-vit-s-14", n=20, steps=4),
                   Cmmd(extractor="domain+dinov2-vit-s-14", n=60)):
        metric.prepare(digits, context)
        records = {r.metric: r for r in metric_records(model, digits, metric, context)}
        assert set(records) == set(metric.produces)
        first = metric.outputs[0].name
        assert records[first].status == OK and records[first].extractor == "domain"
        further = records[f"{first}[dinov2-vit-s-14]"]
        assert further.status == OK and further.extractor == "dinov2-vit-s-14"
        assert further.value != records[first].value
