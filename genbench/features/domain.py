"""The ``domain`` extractor: a small CNN genbench trains on the dataset's labelled training split
(``genbench.features.domain_net``), shipped for the built-in labelled datasets (``genbench.features.shipped``)
and otherwise trained once and cached by the dataset's fingerprint; features: its 128-unit penultimate layer;
IS from its class logits. Input: the data's own images, no resize.
"""

from __future__ import annotations

import torch

from genbench.data.info import DataInfo
from genbench.data.splits import Data
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.features.domain_net import DomainNetSpec, TrainingOptions, accuracy, train_domain_net
from genbench.features.inputs import as_float, image_reason
from genbench.features.shipped import find_shipped
from genbench.infra.cache import Cache, cache_root, file_sha256
from genbench.metric import EvalContext


class DomainExtractor(FeatureExtractor):
    """A small CNN trained on the dataset's labels (shipped for digits and shapes, else trained and cached)."""

    name = "domain"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        reason = image_reason(info, self.name)
        if reason is None and not info.n_classes:
            reason = f"the domain extractor trains a classifier on labels, and {info.name} has none"
        return reason

    @classmethod
    def card(cls) -> dict[str, str]:
        return {"dimension": "128, with class logits for IS", "input": "the data's own images, no resize",
                "weights": "shipped with genbench for digits and shapes (SHA-256 beside each file), else trained "
                           "on the labelled training split and cached"}

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
