"""genbench's own extractors as torch-fidelity feature extractors, so that torch-fidelity runs them.

``genbench-domain`` (the trained domain classifier), ``genbench-raw`` (the coordinates), the DINOv2 backbones
and FWD's wavelet packets are ``FeatureExtractorBase`` subclasses, registered in torch-fidelity's registry by
``register`` (an explicit, idempotent call made before any use). torch-fidelity then builds them from their
name and ``feature_extractor_weights_path`` exactly as it builds its own Inception, in its own
``create_feature_extractor``, and ``torch_fidelity.calculate_metrics(feature_extractor=
"genbench-domain", ...)`` works too.

This module imports torch-fidelity (about two seconds), so it is imported only when features
are about to be computed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import torch
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from genbench.errors import GenbenchError
from genbench.features.contract import PreparedExtractor
from genbench.features.dinov2 import normalise_imagenet, resize_like_dgm_eval
from genbench.features.dinov2_net import ARCHITECTURES, load_dinov2
from genbench.features.domain_net import DomainNet, DomainNetSpec
from genbench.features.wavelet_packets import FWD_LEVEL, packet_features
from genbench.infra.cache import load_tensors

DOMAIN, RAW = "genbench-domain", "genbench-raw"
DINOV2 = tuple(f"genbench-dinov2-{architecture}" for architecture in ARCHITECTURES)
WAVELET = tuple(f"genbench-wavelet-level-{level}" for level in range(1, FWD_LEVEL + 1))


class GenbenchExtractorBase(FeatureExtractorBase):
    """What genbench's torch-fidelity extractors share: small networks, never compiled."""

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        raise NotImplementedError("genbench's extractors are not compiled")


class OneFeatureExtractor(GenbenchExtractorBase):
    """An extractor of one feature layer, ``feature``, and no class logits, so no IS (``what`` says what it is)."""

    feature: ClassVar[str]
    what: ClassVar[str]

    @classmethod
    def get_provided_features_list(cls) -> tuple[str, ...]:
        return (cls.feature,)

    @classmethod
    def get_default_feature_layer_for_metric(cls, metric: str) -> str:
        if metric == "isc":
            raise ValueError(f"{cls.what} give no class logits, so no Inception Score")
        return cls.feature


class FidelityDomainNet(GenbenchExtractorBase):
    """The domain classifier: input (N, C, H, W) floats in [0, 1]; features ``features`` and ``logits``.

    ``feature_extractor_weights_path`` is the classifier's state dict (read with
    ``weights_only=True``); its architecture is read from the JSON file beside it.
    """

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: object):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError(f"{name} needs feature_extractor_weights_path: the classifier genbench trained "
                             "and cached (genbench.features.domain.DomainExtractor.prepare)")
        path = Path(feature_extractor_weights_path)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["meta"]
        self.net = DomainNet(DomainNetSpec.from_dict(meta["architecture"]))
        self.net.load_state_dict(load_tensors(path))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return "features", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"isc": "logits", "fid": "features", "kid": "features", "prc": "features"}[metric]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features, logits = self.net(x)
        out = {"features": features, "logits": logits}
        return tuple(out[name] for name in self.features_list)


class FidelityRaw(OneFeatureExtractor):
    """The coordinates themselves: (N, ...) → (N, D) float32, feature ``coordinates``."""

    feature, what = "coordinates", "raw coordinates"

    def __init__(self, name: str, features_list: list[str], **kwargs: object):
        super().__init__(name, features_list)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (x.reshape(len(x), -1).float(),)


class FidelityDinoV2(OneFeatureExtractor):
    """Meta's DINOv2 backbone (``genbench.features.dinov2``): input (N, 3, H, W) uint8 RGB; feature ``dinov2``,
    the class token after the final norm, after dgm-eval's resize and ImageNet normalisation.

    ``feature_extractor_weights_path`` is Meta's ``dinov2_vit*14_pretrain.pth`` (read with ``weights_only=True``),
    already hash-checked by ``genbench.features.weights``."""

    feature, what = "dinov2", "DINOv2 backbones"

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: object):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError(f"{name} needs feature_extractor_weights_path: Meta's released checkpoint")
        state = load_tensors(Path(feature_extractor_weights_path))
        self.net = load_dinov2(state, name.removeprefix("genbench-dinov2-"))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        images = normalise_imagenet(resize_like_dgm_eval(x)).to(x.device)
        with torch.inference_mode():
            return (self.net(images).float(),)


class FidelityWavelet(OneFeatureExtractor):
    """FWD's Haar packets (``genbench.features.wavelet``): input (N, 3, H, W) uint8 RGB; feature ``packets``, the
    level-L packets concatenated, float32; L is in the name (``genbench-wavelet-level-4``). No weights."""

    feature, what = "packets", "wavelet packets"

    def __init__(self, name: str, features_list: list[str], **kwargs: object):
        super().__init__(name, features_list)
        self.level = int(name.removeprefix("genbench-wavelet-level-"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (packet_features(x, self.level).float(),)


def register() -> None:
    """Put genbench's extractors into torch-fidelity's registry (once; a clash raises)."""
    extractors = ((DOMAIN, FidelityDomainNet), (RAW, FidelityRaw), *((n, FidelityDinoV2) for n in DINOV2),
                  *((n, FidelityWavelet) for n in WAVELET))
    for name, cls in extractors:
        registered = FEATURE_EXTRACTORS_REGISTRY.get(name)
        if registered is None:
            torch_fidelity.register_feature_extractor(name, cls)
        elif registered is not cls:
            raise GenbenchError(f"torch-fidelity already has another feature extractor called {name!r}")


@contextlib.contextmanager
def on_device(device: torch.device) -> Iterator[None]:
    """torch-fidelity moves work with ``.cuda()``: make that mean ``device``."""
    with torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext():
        yield


def build(prepared: PreparedExtractor, device: torch.device) -> FeatureExtractorBase:
    """torch-fidelity's own construction (``create_feature_extractor``) of ``prepared``'s extractor
    with its feature (and logits) layers, on ``device``, in eval mode."""
    register()
    layers = [prepared.features] + ([prepared.logits] if prepared.logits else [])
    try:
        with on_device(device):
            return create_feature_extractor(prepared.fidelity_name, layers, cuda=device.type == "cuda",
                                            verbose=False, **prepared.fidelity_options())
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        where = f" from {prepared.weights}" if prepared.weights else ""
        raise GenbenchError(f"torch-fidelity could not build the {prepared.name} extractor{where}: {error}") from error
