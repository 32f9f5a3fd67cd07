"""genbench.features.dinov2_net against a plain float64 rewrite of Meta's DINOv2 forward.

The reference below follows facebookresearch/dinov2 (``models/vision_transformer.py``, ``layers/*.py``, as
``hub/backbones.py`` builds the released ViT-S/B/L/14) step by step with nothing fused: patch embedding as a
matrix product over flattened patches, explicit per-head softmax attention, LayerNorm and erf GELU written
out, all tokens through every block, and Meta's ``interpolate_pos_encoding`` (its skip test, then
``F.interpolate`` with the offset scale factor). Weights are random with the checkpoint's keys and shapes.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from genbench.features.dinov2_net import (
    ARCHITECTURES,
    DinoV2,
    VitSize,
    checkpoint_shapes,
    load_dinov2,
    random_dinov2_state,
)

FLOAT32_RTOL = 1e-4
"""Float32 against the float64 reference: each block adds rounding of order 1e-7 relative to the residual
stream (sums over D = 384..1024 terms, softmax over up to 1370 tokens), and twelve blocks with the final
LayerNorm give about 1e-6 measured; 1e-4 leaves room for other BLAS kernels while any structural error (a
head order, a transposed grid, the interpolation's offset) moves features by 1e-2 or more."""


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |actual - expected| / max |expected|: the largest error on the features' own scale."""
    return ((actual.double() - expected.double()).abs().max() / expected.double().abs().max()).item()


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-6) * weight + bias


def reference_pos_embed(pos_embed: torch.Tensor, rows: int, cols: int, image_h: int, image_w: int,
                        offset: float = 0.1) -> torch.Tensor:
    """Meta's ``interpolate_pos_encoding(x, w=image_h, h=image_w)``: (1, 1 + rows·cols, D).

    ``offset=0`` is the registers models' variant (an output size instead of a scale factor), used here only
    to show that the tests see the difference."""
    n = pos_embed.shape[1] - 1
    m = int(math.sqrt(n))
    if rows * cols == n and image_h == image_w:
        return pos_embed
    dim = pos_embed.shape[-1]
    grid = pos_embed[:, 1:].reshape(1, m, m, dim).permute(0, 3, 1, 2)
    if offset:
        grid = F.interpolate(grid, scale_factor=(float(rows + offset) / m, float(cols + offset) / m),
                             mode="bicubic", antialias=False)
    else:
        grid = F.interpolate(grid, size=(rows, cols), mode="bicubic", antialias=False)
    assert grid.shape[-2:] == (rows, cols)
    grid = grid.permute(0, 2, 3, 1).reshape(1, rows * cols, dim)
    return torch.cat((pos_embed[:, :1], grid), dim=1)


def reference_features(state: dict[str, torch.Tensor], size: VitSize, images: torch.Tensor,
                       offset: float = 0.1) -> torch.Tensor:
    """Meta's ``model(images)`` in float64: (N, 3, H, W) → (N, D), the normed class token."""
    s = {key: value.double() for key, value in state.items()}
    x = images.double()
    n, _, height, width = x.shape
    p, d, heads = size.patch, size.dim, size.heads
    rows, cols = height // p, width // p
    patches = x.reshape(n, 3, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5).reshape(n, rows * cols, 3 * p * p)
    tokens = patches @ s["patch_embed.proj.weight"].reshape(d, -1).T + s["patch_embed.proj.bias"]
    tokens = torch.cat((s["cls_token"].expand(n, 1, d), tokens), dim=1)
    tokens = tokens + reference_pos_embed(s["pos_embed"], rows, cols, height, width, offset)
    t, hd = tokens.shape[1], d // heads
    for i in range(size.depth):
        b = {key[len(f"blocks.{i}."):]: value for key, value in s.items() if key.startswith(f"blocks.{i}.")}
        h = layer_norm(tokens, b["norm1.weight"], b["norm1.bias"])
        qkv = h @ b["attn.qkv.weight"].T + b["attn.qkv.bias"]
        heads_out = []
        for head in range(heads):
            q = qkv[:, :, head * hd:(head + 1) * hd]
            k = qkv[:, :, d + head * hd:d + (head + 1) * hd]
            v = qkv[:, :, 2 * d + head * hd:2 * d + (head + 1) * hd]
            scores = (q * hd ** -0.5) @ k.transpose(1, 2)
            weights = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)
            weights = weights / weights.sum(dim=-1, keepdim=True)
            heads_out.append(weights @ v)
        attended = torch.cat(heads_out, dim=-1) @ b["attn.proj.weight"].T + b["attn.proj.bias"]
        tokens = tokens + b["ls1.gamma"] * attended
        h = layer_norm(tokens, b["norm2.weight"], b["norm2.bias"])
        h = h @ b["mlp.fc1.weight"].T + b["mlp.fc1.bias"]
        h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
        tokens = tokens + b["ls2.gamma"] * (h @ b["mlp.fc2.weight"].T + b["mlp.fc2.bias"])
        assert tokens.shape == (n, t, d)
    return layer_norm(tokens, s["norm.weight"], s["norm.bias"])[:, 0]


@pytest.fixture(scope="module")
def small_state():
    return random_dinov2_state("vit-s-14", torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def small_model(small_state):
    return load_dinov2(small_state)


def images(n: int, height: int, width: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, height, width, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("n", "height", "width"), [(2, 224, 224), (1, 518, 518), (2, 224, 168), (1, 518, 224)],
                         ids=["224-grid16", "518-grid37-stored", "224x168-nonsquare", "518x224-one-side-37"])
def test_vit_s_matches_the_reference(small_state, small_model, n, height, width):
    x = images(n, height, width)
    with torch.no_grad():
        features = small_model(x)
    expected = reference_features(small_state, ARCHITECTURES["vit-s-14"], x)
    assert features.shape == (n, 384) and features.dtype == torch.float32
    assert relative_error(features, expected) <= FLOAT32_RTOL


def test_vit_b_matches_the_reference():
    state = random_dinov2_state("vit-b-14", torch.Generator().manual_seed(2))
    model = load_dinov2(state)
    assert model.size == ARCHITECTURES["vit-b-14"]
    x = images(2, 112, 112)
    with torch.no_grad():
        features = model(x)
    assert features.shape == (2, 768)
    assert relative_error(features, reference_features(state, model.size, x)) <= FLOAT32_RTOL


def test_float64_module_matches_the_reference_to_float64_rounding(small_state, small_model):
    x = images(1, 126, 98)
    double = load_dinov2(small_state).double()
    with torch.no_grad():
        features = double(x.double())
    assert features.dtype == torch.float64
    assert relative_error(features, reference_features(small_state, double.size, x)) <= 1e-12


def test_the_interpolation_offset_is_visible_at_this_tolerance(small_state, small_model):
    """Meta's scale factor (h + 0.1) / 37 samples other source points than an output size h would: the
    features differ by far more than the tolerance, so the parity tests pin the offset down."""
    x = images(1, 224, 224)
    with torch.no_grad():
        features = small_model(x)
    without_offset = reference_features(small_state, small_model.size, x, offset=0.0)
    assert relative_error(features, without_offset) > 100 * FLOAT32_RTOL


def test_the_stored_grid_is_used_as_stored(small_model):
    """At 518×518 Meta returns ``pos_embed`` untouched (``npatch == N and w == h``); resampling 37 → 37 with
    the offset scale 37.1 / 37 would not be the identity."""
    stored = small_model.pos_embed
    assert torch.equal(small_model.position_embedding(37, 37), stored)
    grid = stored[:, 1:].reshape(1, 37, 37, -1).permute(0, 3, 1, 2)
    resampled = F.interpolate(grid, scale_factor=(37.1 / 37, 37.1 / 37), mode="bicubic", align_corners=False)
    assert resampled.shape[-2:] == (37, 37)
    assert (resampled - grid).abs().max() > 1e-2


def cubic_matrix(out: int, grid: int) -> torch.Tensor:
    """(out, grid) weights of PyTorch's bicubic (Keys, a = -0.75, borders clamped) sampling output pixel i at
    source coordinate (i + 0.5) · grid / (out + 0.1) - 0.5, the scale factor Meta passes."""
    a = -0.75

    def kernel(t: float) -> float:
        t = abs(t)
        if t <= 1:
            return ((a + 2) * t - (a + 3)) * t * t + 1
        if t < 2:
            return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
        return 0.0

    matrix = torch.zeros(out, grid, dtype=torch.float64)
    for i in range(out):
        source = (i + 0.5) * grid / (out + 0.1) - 0.5
        base = math.floor(source)
        for tap in range(base - 1, base + 3):
            matrix[i, min(max(tap, 0), grid - 1)] += kernel(source - tap)
    return matrix


def test_the_resampling_rule_written_out(small_state):
    """The position grid resampled by hand (separable cubic convolution) equals the module's, in float64."""
    model = load_dinov2(small_state).double()
    rows, cols, dim = 16, 12, model.size.dim
    grid = model.pos_embed[0, 1:].reshape(37, 37, dim)
    by_hand = torch.einsum("ia,jb,abd->ijd", cubic_matrix(rows, 37), cubic_matrix(cols, 37), grid)
    with torch.no_grad():
        embedding = model.position_embedding(rows, cols)
    assert embedding.shape == (1, 1 + rows * cols, dim)
    assert torch.equal(embedding[0, 0], model.pos_embed[0, 0])
    assert torch.allclose(embedding[0, 1:].reshape(rows, cols, dim), by_hand, rtol=0, atol=1e-12)


def test_features_do_not_depend_on_the_batch(small_model):
    x = images(4, 112, 140, seed=3)
    with torch.no_grad():
        together = small_model(x)
        alone = torch.cat([small_model(x[i:i + 1]) for i in range(4)])
    assert relative_error(together, alone) <= 1e-5


def test_random_weights_give_features_that_tell_images_apart(small_model):
    with torch.no_grad():
        features = small_model(images(2, 112, 112, seed=4))
    distance = (features[0] - features[1]).norm() / features[0].norm()
    assert distance > 0.1


def test_the_random_state_has_the_checkpoint_layout():
    first = random_dinov2_state("vit-s-14", torch.Generator().manual_seed(5))
    again = random_dinov2_state("vit-s-14", torch.Generator().manual_seed(5))
    assert {key: tuple(value.shape) for key, value in first.items()} == checkpoint_shapes("vit-s-14")
    assert list(first) == list(again) and all(torch.equal(first[key], again[key]) for key in first)
    shapes = checkpoint_shapes("vit-s-14")
    assert shapes["pos_embed"] == (1, 1370, 384) and shapes["blocks.11.mlp.fc1.weight"] == (1536, 384)
    assert len(shapes) == 5 + 12 * 14 + 2


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_size_is_inferred_from_the_shapes(name):
    """Meta tensors: no memory, so the ViT-L layout is checked too."""
    state = {key: torch.empty(shape, device="meta") for key, shape in checkpoint_shapes(name).items()}
    model = load_dinov2(state)
    assert model.size == ARCHITECTURES[name]
    assert isinstance(model, DinoV2) and not model.training
    assert all(not parameter.requires_grad for parameter in model.parameters())


def test_every_layer_norm_has_metas_eps(small_model):
    """An eps of 1e-5 instead of 1e-6 moves features by about 1e-6 here, below the parity tolerance."""
    norms = [module for module in small_model.modules() if isinstance(module, torch.nn.LayerNorm)]
    assert len(norms) == 2 * 12 + 1 and all(norm.eps == 1e-6 for norm in norms)


def test_mask_token_may_be_absent(small_state):
    state = {key: value for key, value in small_state.items() if key != "mask_token"}
    assert load_dinov2(state, "vit-s-14").size == ARCHITECTURES["vit-s-14"]


def test_a_missing_tensor_is_named(small_state):
    state = {key: value for key, value in small_state.items() if key != "blocks.3.ls1.gamma"}
    with pytest.raises(ValueError, match=r"no tensor 'blocks\.3\.ls1\.gamma'"):
        load_dinov2(state)


def test_a_wrong_shape_is_named(small_state):
    state = dict(small_state, pos_embed=torch.zeros(1, 1 + 16 * 16, 384))
    with pytest.raises(ValueError, match=r"'pos_embed' has shape \(1, 257, 384\); vit-s-14 needs \(1, 1370, 384\)"):
        load_dinov2(state)
    with pytest.raises(ValueError, match=r"'norm\.bias' must be a float tensor; got a torch\.int64 tensor"):
        load_dinov2(dict(small_state, **{"norm.bias": torch.zeros(384, dtype=torch.long)}))


def test_an_unexpected_tensor_is_named(small_state):
    state = dict(small_state, register_tokens=torch.zeros(1, 4, 384))
    with pytest.raises(ValueError, match=r"unexpected tensor 'register_tokens'.*registers"):
        load_dinov2(state)


def test_a_size_that_does_not_match_the_shapes_is_refused(small_state):
    with pytest.raises(ValueError, match=r"'cls_token' has shape \(1, 1, 384\); vit-b-14 needs \(1, 1, 768\)"):
        load_dinov2(small_state, "vit-b-14")
    with pytest.raises(ValueError, match="vit-h-14"):
        load_dinov2(small_state, "vit-h-14")
    shallow = {key: value for key, value in small_state.items() if not key.startswith("blocks.11.")}
    with pytest.raises(ValueError, match="width 384 and 11 blocks"):
        load_dinov2(shallow)


@pytest.mark.parametrize("shape", [(1, 3, 224, 170), (1, 3, 10, 14), (1, 1, 224, 224), (3, 224, 224)])
def test_bad_images_are_refused(small_model, shape):
    with pytest.raises(ValueError, match="multiples of its patch size 14|RGB images") as error:
        small_model(torch.zeros(shape))
    if shape == (1, 3, 224, 170):
        assert "224×170" in str(error.value) and "224×168" in str(error.value)
