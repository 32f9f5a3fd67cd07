"""Meta's DINOv2 image backbone (ViT-S/14, ViT-B/14, ViT-L/14, without registers) on its released weights.

Source: Oquab et al. 2023, "DINOv2: Learning Robust Visual Features without Supervision"; the network is
facebookresearch/dinov2 ``dinov2/models/vision_transformer.py`` (``DinoVisionTransformer``) as
``dinov2/hub/backbones.py`` builds it for the published ``dinov2_vit{s,b,l}14_pretrain.pth``: image size 518,
patch 14, LayerScale (``init_values=1.0``), MLP feed-forward, unchunked blocks, no register tokens,
``interpolate_offset=0.1``, ``interpolate_antialias=False``. ``load_dinov2`` reads those files' plain state
dicts as published (same key names), and ``DinoV2.forward`` computes what Meta's ``model(x)`` returns: the
class token after the final LayerNorm, the feature torch-fidelity and dgm-eval use.

For an image x: (N, 3, H, W), already normalised with the ImageNet mean and std, H and W multiples of 14:

- patch tokens: a 14×14 convolution with stride 14, flattened row by row → (N, h·w, D), h = H/14, w = W/14;
- tokens = [cls_token; patch tokens] + position embedding → (N, 1 + h·w, D);
- ``depth`` pre-norm blocks: x += γ₁ · Attn(LN₁(x)); x += γ₂ · MLP(LN₂(x)), where Attn is multi-head softmax
  attention (one fused qkv projection, scale 1/√(D/heads)) followed by a linear projection, MLP is
  Linear(D, 4D) → GELU (exact, erf) → Linear(4D, D), γ are the LayerScale vectors and every LayerNorm has
  eps 10⁻⁶;
- the feature: LN(x)[:, 0] → (N, D).

The position embedding rule (``interpolate_pos_encoding``): the checkpoint stores one embedding for the class
token and a 37×37 grid for the patches (trained at 518 px). When the input's patch grid is that grid (518×518
after Meta's check ``npatch == N and w == h``, which for multiples of 14 means h = w = 37) the stored embedding
is used as it is. Otherwise the grid is resampled, bicubic (a = -0.75), ``align_corners=False``, no antialias,
by ``F.interpolate(..., scale_factor=((h + 0.1) / 37, (w + 0.1) / 37))``: the scale factor, not an output
size, so PyTorch maps output pixel i to source coordinate (i + 0.5) · 37 / (h + 0.1) - 0.5 (Meta's
"historical kludge", kept for backward compatibility). The class token's embedding is never resampled.
Meta resamples in float32 and casts to the tokens' dtype; here it is done in float32, or in float64 when
the module is float64.

The last block is computed for the class token only (its query row and its MLP), which is the same
arithmetic on the only row the feature reads.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genbench.errors import UnknownNameError

LAYER_NORM_EPS = 1e-6
"""eps of every LayerNorm (Meta's ``partial(nn.LayerNorm, eps=1e-6)``)."""
INTERPOLATE_OFFSET = 0.1
"""Added to the target grid before dividing by the stored grid to get the resampling scale factor."""
MLP_RATIO = 4
IGNORED_KEYS = frozenset({"mask_token"})
"""Checkpoint tensors the forward does not use (the masked-token embedding of iBOT training)."""


@dataclasses.dataclass(frozen=True)
class VitSize:
    """One DINOv2 ViT: width ``dim``, ``depth`` blocks, ``heads`` attention heads, ``patch``-pixel patches and
    the ``grid``×``grid`` patch grid its position embedding was trained on (518 px / 14 = 37)."""

    dim: int
    depth: int
    heads: int
    patch: int = 14
    grid: int = 37

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"VitSize.{field.name} must be a positive integer, got {value!r}.")
        if self.dim % self.heads:
            raise ValueError(f"VitSize.dim {self.dim} must be a multiple of heads {self.heads}.")

    @property
    def hidden(self) -> int:
        """The MLP's hidden width, 4·dim."""
        return MLP_RATIO * self.dim


ARCHITECTURES: dict[str, VitSize] = {
    "vit-s-14": VitSize(dim=384, depth=12, heads=6),
    "vit-b-14": VitSize(dim=768, depth=12, heads=12),
    "vit-l-14": VitSize(dim=1024, depth=24, heads=16),
}
"""Meta's ``vit_small``, ``vit_base`` and ``vit_large`` with patch 14 (``dinov2_vit{s,b,l}14``)."""


class LayerScale(nn.Module):
    """x · γ, γ: (D,) (``ls1``, ``ls2``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


class Attention(nn.Module):
    """Multi-head softmax attention with a fused qkv projection (``attn``)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, class_only: bool = False) -> Tensor:
        """x: (N, T, D) → (N, T, D), or (N, 1, D) for the class token's row only when ``class_only``.

        qkv's output is [q | k | v], each split into ``heads`` contiguous slices of D/heads."""
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        if class_only:
            q = q[:, :, :1]
        out = F.scaled_dot_product_attention(q, k, v)  # (N, heads, T_q, D/heads), scale (D/heads)^-1/2
        return self.proj(out.transpose(1, 2).reshape(n, q.shape[2], d))


class Mlp(nn.Module):
    """Linear(D, 4D) → exact GELU → Linear(4D, D) (``mlp``)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """x + γ₁·Attn(LN₁(x)), then x + γ₂·MLP(LN₂(x)) (``blocks.{i}``)."""

    def __init__(self, size: VitSize) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(size.dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(size.dim, size.heads)
        self.ls1 = LayerScale(size.dim)
        self.norm2 = nn.LayerNorm(size.dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(size.dim, size.hidden)
        self.ls2 = LayerScale(size.dim)

    def forward(self, x: Tensor, class_only: bool = False) -> Tensor:
        """x: (N, T, D) → (N, T, D), or (N, 1, D) (the class token's row) when ``class_only``."""
        attended = self.ls1(self.attn(self.norm1(x), class_only=class_only))
        x = (x[:, :1] if class_only else x) + attended
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    """A patch×patch convolution with stride patch (``patch_embed``)."""

    def __init__(self, size: VitSize) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, size.dim, kernel_size=size.patch, stride=size.patch)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 3, H, W) → (N, H/patch · W/patch, D), patches row by row."""
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoV2(nn.Module):
    """DINOv2's ViT backbone; its parameters carry the names of Meta's checkpoints (``mask_token`` aside).

    ``forward(x)``: x (N, 3, H, W) float, normalised with the ImageNet mean (0.485, 0.456, 0.406) and std
    (0.229, 0.224, 0.225), H and W multiples of 14 → (N, D) class-token features after the final LayerNorm.
    Built directly it has PyTorch's default initialisation; ``load_dinov2`` gives it a checkpoint's weights."""

    def __init__(self, size: VitSize) -> None:
        super().__init__()
        self.size = size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, size.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + size.grid * size.grid, size.dim))
        self.patch_embed = PatchEmbed(size)
        self.blocks = nn.ModuleList(Block(size) for _ in range(size.depth))
        self.norm = nn.LayerNorm(size.dim, eps=LAYER_NORM_EPS)

    @property
    def feature_dim(self) -> int:
        return self.size.dim

    def position_embedding(self, rows: int, cols: int) -> Tensor:
        """The position embedding for a rows×cols patch grid: (1, 1 + rows·cols, D), class token first.

        The stored one itself on the stored grid, else the stored grid resampled as the module docstring says
        (Meta's ``interpolate_pos_encoding`` with offset 0.1, bicubic, no antialias)."""
        grid, dim = self.size.grid, self.size.dim
        if rows == grid and cols == grid:
            return self.pos_embed
        work = torch.promote_types(self.pos_embed.dtype, torch.float32)
        stored = self.pos_embed.to(work)
        patches = stored[:, 1:].reshape(1, grid, grid, dim).permute(0, 3, 1, 2)
        scale = ((rows + INTERPOLATE_OFFSET) / grid, (cols + INTERPOLATE_OFFSET) / grid)
        patches = F.interpolate(patches, scale_factor=scale, mode="bicubic", align_corners=False, antialias=False)
        if patches.shape[-2:] != (rows, cols):  # floor(grid · (rows + 0.1) / grid) is rows
            raise RuntimeError(f"resampling the position grid gave {tuple(patches.shape[-2:])}, not {(rows, cols)}")
        patches = patches.permute(0, 2, 3, 1).reshape(1, rows * cols, dim)
        return torch.cat((stored[:, :1], patches), dim=1).to(self.pos_embed.dtype)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 3, H, W) normalised float images → (N, D) features (Meta's ``x_norm_clstoken``)."""
        patch = self.size.patch
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"DINOv2 takes RGB images of shape (N, 3, H, W); got shape {tuple(x.shape)}.")
        if not x.is_floating_point():
            raise ValueError(f"DINOv2 takes float images normalised with the ImageNet mean and std; got {x.dtype}.")
        height, width = x.shape[-2:]
        if height < patch or width < patch or height % patch or width % patch:
            raise ValueError(
                f"DINOv2 needs a height and width that are multiples of its patch size {patch}; got "
                f"{height}×{width}: resize or crop to e.g. {max(patch, height // patch * patch)}×"
                f"{max(patch, width // patch * patch)}."
            )
        x = x.to(self.pos_embed.dtype)
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(x.shape[0], -1, -1).to(tokens.dtype), tokens), dim=1)
        tokens = tokens + self.position_embedding(height // patch, width // patch).to(tokens.dtype)
        last = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            tokens = block(tokens, class_only=index == last)
        return self.norm(tokens[:, 0])


def checkpoint_shapes(size_name: str) -> dict[str, tuple[int, ...]]:
    """Every tensor of Meta's ``dinov2_*14_pretrain.pth`` for ``size_name`` (``mask_token`` included) → shape."""
    size = _size(size_name)
    d, hidden = size.dim, size.hidden
    shapes: dict[str, tuple[int, ...]] = {
        "cls_token": (1, 1, d),
        "pos_embed": (1, 1 + size.grid * size.grid, d),
        "mask_token": (1, d),
        "patch_embed.proj.weight": (d, 3, size.patch, size.patch),
        "patch_embed.proj.bias": (d,),
    }
    for i in range(size.depth):
        for name, shape in (("norm1.weight", (d,)), ("norm1.bias", (d,)),
                            ("attn.qkv.weight", (3 * d, d)), ("attn.qkv.bias", (3 * d,)),
                            ("attn.proj.weight", (d, d)), ("attn.proj.bias", (d,)), ("ls1.gamma", (d,)),
                            ("norm2.weight", (d,)), ("norm2.bias", (d,)),
                            ("mlp.fc1.weight", (hidden, d)), ("mlp.fc1.bias", (hidden,)),
                            ("mlp.fc2.weight", (d, hidden)), ("mlp.fc2.bias", (d,)), ("ls2.gamma", (d,))):
            shapes[f"blocks.{i}.{name}"] = shape
    shapes["norm.weight"] = (d,)
    shapes["norm.bias"] = (d,)
    return shapes


def load_dinov2(state: Mapping[str, Tensor], size_name: str | None = None) -> DinoV2:
    """A ``DinoV2`` in eval mode, without gradients, with the weights of a Meta checkpoint's state dict.

    ``size_name`` (a key of ``ARCHITECTURES``) is inferred from the width of ``cls_token`` and the number of
    blocks when None. Keys and shapes are checked strictly (``mask_token`` may be present; it is not used).
    The parameters are the state's tensors as float32: a float32 state is shared, not copied."""
    name = _infer_size_name(state) if size_name is None else size_name
    expected = checkpoint_shapes(name)
    for key, shape in expected.items():
        if key not in state:
            if key in IGNORED_KEYS:
                continue
            raise ValueError(f"The DINOv2 state has no tensor {key!r} (expected shape {shape} for {name}).")
        tensor = state[key]
        if not isinstance(tensor, Tensor) or not tensor.is_floating_point():
            raise ValueError(f"The DINOv2 state's {key!r} must be a float tensor; got {_describe(tensor)}.")
        if tuple(tensor.shape) != shape:
            raise ValueError(f"The DINOv2 state's {key!r} has shape {tuple(tensor.shape)}; {name} needs {shape}.")
    for key in state:
        if key not in expected:
            hint = " (checkpoints with registers are not supported)" if "register" in key else ""
            raise ValueError(f"The DINOv2 state has an unexpected tensor {key!r} for {name}{hint}.")
    with torch.device("meta"):
        model = DinoV2(ARCHITECTURES[name])
    weights = {key: tensor.detach().to(torch.float32) for key, tensor in state.items() if key not in IGNORED_KEYS}
    model.load_state_dict(weights, strict=True, assign=True)
    return model.requires_grad_(False).eval()


def random_dinov2_state(size_name: str, generator: torch.Generator) -> dict[str, Tensor]:
    """Random float32 weights with exactly the keys and shapes of Meta's checkpoint for ``size_name`` (tests).

    Scales keep the network away from degenerate regimes through 24 blocks: matrices N(0, 1/fan_in) (qkv at
    1.5× that, so that attention is far from uniform), biases N(0, 0.02²), norm weights 1 + N(0, 0.1²),
    LayerScale U(0.1, 0.5), position embedding N(0, 0.5²) (so that resampling it matters), class token
    N(0, 1)."""

    def normal(shape: tuple[int, ...], std: float, mean: float = 0.0) -> Tensor:
        return torch.randn(shape, generator=generator) * std + mean

    state: dict[str, Tensor] = {}
    for key, shape in checkpoint_shapes(size_name).items():
        leaf = key.rsplit(".", 1)[-1]
        if key in ("cls_token", "mask_token"):
            state[key] = normal(shape, 1.0)
        elif key == "pos_embed":
            state[key] = normal(shape, 0.5)
        elif leaf == "gamma":
            state[key] = torch.rand(shape, generator=generator) * 0.4 + 0.1
        elif leaf == "weight" and re.search(r"norm\d?\.weight$", key):
            state[key] = normal(shape, 0.1, mean=1.0)
        elif leaf == "weight":
            fan_in = math.prod(shape[1:])
            state[key] = normal(shape, (1.5 if "qkv" in key else 1.0) / math.sqrt(fan_in))
        else:
            state[key] = normal(shape, 0.02)
    return state


def _size(size_name: str) -> VitSize:
    if size_name not in ARCHITECTURES:
        raise UnknownNameError("DINOv2 size", size_name, ARCHITECTURES)
    return ARCHITECTURES[size_name]


def _infer_size_name(state: Mapping[str, Tensor]) -> str:
    """The ``ARCHITECTURES`` key whose width is ``cls_token``'s last dimension and whose depth is the number
    of ``blocks.{i}``."""
    cls_token = state.get("cls_token")
    if not isinstance(cls_token, Tensor) or cls_token.ndim == 0:
        raise ValueError("The DINOv2 state has no tensor 'cls_token' to infer the size from; pass size_name.")
    indices = [int(match.group(1)) for key in state if (match := re.match(r"blocks\.(\d+)\.", key))]
    dim, depth = cls_token.shape[-1], 1 + max(indices, default=-1)
    for name, size in ARCHITECTURES.items():
        if (size.dim, size.depth) == (dim, depth):
            return name
    known = ", ".join(f"{name} (dim {size.dim}, depth {size.depth})" for name, size in ARCHITECTURES.items())
    raise ValueError(f"The DINOv2 state has width {dim} and {depth} blocks, which is none of {known}; "
                     "pass size_name to see which tensor differs.")


def _describe(value: object) -> str:
    return f"a {value.dtype} tensor" if isinstance(value, Tensor) else type(value).__name__
