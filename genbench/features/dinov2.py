"""The ``dinov2-vit-{s,b,l}-14`` extractors: Meta's DINOv2 ViT backbones on their released weights, the space
Stein et al. (NeurIPS 2023, dgm-eval) recommend for every sample metric (ViT-L/14; ViT-B/14 to track training).

Features: the class token after the final LayerNorm (384, 768 or 1024 dimensions), computed by
``genbench.features.dinov2_net`` exactly as Meta's ``model(x)`` (position embeddings resampled from the 37×37
grid as Meta does). No classifier, so no IS.

Weights: Meta's ``dinov2_vit{s,b,l}14_pretrain.pth`` as published, from ``--weights dinov2-vit-b-14=PATH``,
``$GENBENCH_WEIGHTS_DINOV2_VIT_B_14``, genbench's cache, or a download unless offline; SHA-256 checked
(``genbench.features.weights``).

Input protocol, dgm-eval's (``dgm_eval/models/dinov2.py``, without its optional clean resize): the image as
8-bit RGB (round(255·x), grey replicated), resized to 224×224 by PIL's bicubic filter on the 8-bit image
(torchvision's ``Resize((224, 224), BICUBIC)`` on a PIL image, which is this), divided by 255 and normalised
with the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225). FD_DINOv2 figures computed this
way are comparable with dgm-eval's leaderboard and the papers that use dgm-eval. torch-fidelity resizes with
TensorFlow 1's bilinear filter instead; on the same weights the two give features about 14 % apart, so the
records name the protocol (``resize``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from genbench.data.info import DataInfo
from genbench.data.splits import Data
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.features.dinov2_net import ARCHITECTURES
from genbench.features.inputs import channels_text, rgb_image_reason, to_uint8_rgb
from genbench.features.weights import PUBLISHED, card, resolve
from genbench.metric import EvalContext

INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE = "PIL bicubic on 8-bit RGB to 224×224 (dgm-eval's protocol)"


def resize_like_dgm_eval(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """images: (N, 3, H, W) uint8 → (N, 3, size, size) float32 in [0, 1]: PIL's bicubic resize of each 8-bit
    image, as torchvision's ``Resize`` does on a PIL image in dgm-eval, then /255."""
    from PIL import Image  # defers Pillow

    pixels = images.permute(0, 2, 3, 1).cpu().numpy()
    resized = np.stack([np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC)) for image in pixels])
    return torch.from_numpy(resized).permute(0, 3, 1, 2).float().div_(255)


def normalise_imagenet(x: torch.Tensor) -> torch.Tensor:
    """x: (N, 3, H, W) in [0, 1] → (x − mean) / std with ImageNet's per-channel mean and std."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


class DinoV2Extractor(FeatureExtractor):
    """Meta's DINOv2 ViT-{size}/14: the class token after the final norm (module docstring)."""

    name: ClassVar[str]
    architecture: ClassVar[str]
    """Its size in ``genbench.features.dinov2_net.ARCHITECTURES`` (``vit-b-14``)."""

    def unsupported_reason(self, info: DataInfo) -> str | None:
        return rgb_image_reason(info, self.name)

    @classmethod
    def card(cls) -> dict[str, str]:
        return card(cls.name, ARCHITECTURES[cls.architecture].dim, INPUT_SIZE, f"{RESIZE}, ImageNet mean/std")

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        resolved = resolve(PUBLISHED[self.name], context.weights.get(self.name), context.cache_dir)
        _, height, width = data.info.shape
        return PreparedExtractor(
            name=self.name, fidelity_name=f"genbench-{self.name}", features="dinov2",
            dim=ARCHITECTURES[self.architecture].dim, to_input=to_uint8_rgb, weights=resolved.path,
            weights_sha256=resolved.sha256,
            no_logits_reason=f"the {self.name} extractor is a backbone without a classifier, and IS needs class "
                             "probabilities",
            provenance={"resize": f"{height}×{width} → {RESIZE}",
                        "channels": channels_text(data.info),
                        "input": "clamped to [0, 1], round(255·x) as uint8, ImageNet mean/std",
                        "feature": "class token after the final LayerNorm",
                        "forward": "Meta's, genbench.features.dinov2_net", "weights_source": resolved.origin},
        )


class DinoV2Small(DinoV2Extractor):
    """Meta's DINOv2 ViT-S/14 (384-d class token; 21 M parameters)."""

    name, architecture = "dinov2-vit-s-14", "vit-s-14"


class DinoV2Base(DinoV2Extractor):
    """Meta's DINOv2 ViT-B/14 (768-d class token; 86 M parameters), dgm-eval's choice to track training."""

    name, architecture = "dinov2-vit-b-14", "vit-b-14"


class DinoV2Large(DinoV2Extractor):
    """Meta's DINOv2 ViT-L/14 (1024-d class token; 300 M parameters), dgm-eval's recommended space."""

    name, architecture = "dinov2-vit-l-14", "vit-l-14"
