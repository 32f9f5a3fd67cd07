"""How genbench examples become an extractor's input, and what an extractor says it cannot take."""

from __future__ import annotations

from importlib import metadata

import torch

from genbench.data.info import DataInfo, ValueType


def as_float(x: torch.Tensor) -> torch.Tensor:
    return x.float()


def to_uint8_rgb(x: torch.Tensor) -> torch.Tensor:
    """Images (N, 1 or 3, H, W) with values in [0, 1] → (N, 3, H, W) uint8 (clamped, round(255·x))."""
    pixels = (x.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return pixels.expand(-1, 3, -1, -1).contiguous() if pixels.shape[1] == 1 else pixels


def image_reason(info: DataInfo, extractor: str) -> str | None:
    if not info.is_image or info.value_type is ValueType.CATEGORICAL:
        return f"the {extractor} extractor takes images; {info.name} holds {info.value_type.value} vectors"
    return None


def rgb_image_reason(info: DataInfo, extractor: str) -> str | None:
    """Why an extractor of grey or RGB images cannot take ``info``'s examples (None when it can)."""
    reason = image_reason(info, extractor)
    if reason is None and info.shape[0] not in (1, 3):
        reason = f"the {extractor} extractor takes grey or RGB images; {info.name} has {info.shape[0]} channels"
    return reason


def channels_text(info: DataInfo) -> str:
    """How an RGB extractor's input channels are made from the data's, as records say it."""
    return "grey replicated to RGB" if info.shape[0] == 1 else "RGB"


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(version unknown)"
