"""The ``clip-vit-b-32``, ``clip-vit-l-14`` and ``clip-vit-l-14-336px`` extractors: OpenAI's CLIP image
encoders (Radford et al. 2021), through torch-fidelity's own ``FeatureExtractorCLIP`` with a weights path.

Features: the image embedding (the visual transformer's projected class token: 512, 768 and 768 dimensions),
not normalised here (CMMD normalises it, ``genbench.metrics.cmmd``). CLIP ViT-L/14@336px is the space of CMMD
(Jayasumana et al., CVPR 2024). No classifier, so no IS.

Weights: OpenAI's TorchScript archives as published (``ViT-B-32.pt``, ``ViT-L-14.pt``, ``ViT-L-14-336px.pt``),
from ``--weights clip-vit-l-14-336px=PATH``, ``$GENBENCH_WEIGHTS_CLIP_VIT_L_14_336PX``, genbench's cache, or a
download unless offline; SHA-256 checked before torch-fidelity opens the archive
(``genbench.features.weights``).

Input protocol, torch-fidelity's (``feature_extractor_clip.py``): 8-bit RGB (round(255·x), grey replicated),
resized inside the extractor to the encoder's resolution (224 or 336) with TensorFlow 1's bilinear filter and
normalised with CLIP's mean (0.4815, 0.4578, 0.4082) and std (0.2686, 0.2613, 0.2758). The CMMD paper's code
resizes with a bicubic filter instead, so CMMD here matches torch-fidelity's CLIP features, not that code's
to the last digit; the records name the protocol (``resize``).
"""

from __future__ import annotations

from typing import ClassVar

from genbench.data.info import DataInfo
from genbench.data.splits import Data
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.features.inputs import channels_text, rgb_image_reason, to_uint8_rgb
from genbench.features.weights import PUBLISHED, card, resolve
from genbench.metric import EvalContext

RESIZE = "bilinear as TensorFlow 1.x, inside torch-fidelity"


class ClipExtractor(FeatureExtractor):
    """OpenAI's CLIP image encoder through torch-fidelity (module docstring)."""

    name: ClassVar[str]
    dim: ClassVar[int]
    resolution: ClassVar[int]

    def unsupported_reason(self, info: DataInfo) -> str | None:
        return rgb_image_reason(info, self.name)

    @classmethod
    def card(cls) -> dict[str, str]:
        return card(cls.name, cls.dim, cls.resolution, f"{RESIZE}, CLIP mean/std")

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        resolved = resolve(PUBLISHED[self.name], context.weights.get(self.name), context.cache_dir)
        _, height, width = data.info.shape
        return PreparedExtractor(
            name=self.name, fidelity_name=self.name, features="clip", dim=self.dim, to_input=to_uint8_rgb,
            weights=resolved.path, weights_sha256=resolved.sha256,
            no_logits_reason=f"the {self.name} extractor is an image encoder without a classifier, and IS needs "
                             "class probabilities",
            provenance={"resize": f"{height}×{width} → {self.resolution}×{self.resolution}, {RESIZE}",
                        "channels": channels_text(data.info),
                        "input": "clamped to [0, 1], round(255·x) as uint8, CLIP mean/std",
                        "feature": "image embedding (projected class token), not normalised",
                        "weights_source": resolved.origin},
        )


class ClipVitB32(ClipExtractor):
    """OpenAI's CLIP ViT-B/32 image embedding (512-d)."""

    name, dim, resolution = "clip-vit-b-32", 512, 224


class ClipVitL14(ClipExtractor):
    """OpenAI's CLIP ViT-L/14 image embedding (768-d)."""

    name, dim, resolution = "clip-vit-l-14", 768, 224


class ClipVitL14At336(ClipExtractor):
    """OpenAI's CLIP ViT-L/14 at 336 px, image embedding (768-d): CMMD's space."""

    name, dim, resolution = "clip-vit-l-14-336px", 768, 336
