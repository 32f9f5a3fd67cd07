"""The feature-extractor contract: the space in which sample-based metrics compare samples with data.

IS, FID, KID and precision/recall come from torch-fidelity, so an extractor is, in the end, a
torch-fidelity feature extractor (a ``FeatureExtractorBase`` registered by name in torch-fidelity's
registry) together with what genbench must know around it: how its weights were obtained and
their hash, how genbench examples become its input, which of its layers give features and which
class logits. ``prepare`` returns all of that as a ``PreparedExtractor``; the metrics then run
torch-fidelity's own code on it. Extractors are listed by name in ``genbench.catalog.EXTRACTORS``.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch

from genbench.config import Config, NoOptions
from genbench.data.info import DataInfo
from genbench.data.splits import Data
from genbench.metric import EvalContext


@dataclasses.dataclass(frozen=True)
class PreparedExtractor:
    """A feature extractor ready to run: what torch-fidelity needs and what records must say about it."""

    name: str
    """genbench's name for it (the ``extractor`` column of metrics.csv)."""
    fidelity_name: str
    """Its name in torch-fidelity's feature-extractor registry."""
    features: str
    """The layer whose output is the feature vector (FID, KID, precision/recall, density/coverage)."""
    dim: int
    """Length of that feature vector."""
    to_input: Callable[[torch.Tensor], torch.Tensor]
    """Examples (N, *info.shape) as the data holds them → the extractor's input batch."""
    logits: str | None = None
    """The layer of class logits (the Inception Score); None where there are none."""
    weights: Path | None = None
    """The weights file torch-fidelity reads (its ``feature_extractor_weights_path``); None: no weights."""
    weights_sha256: str | None = None
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)
    """How inputs are made (resize, channels, quantisation) and anything else a record should carry."""
    no_logits_reason: str = ""
    """Why there are no logits (IS is n/a with this reason), where the extractor's own words say more."""
    blocks: int = 1
    """The feature vector's equal blocks whose Fréchet distances are averaged (the wavelet space's packets, as FWD
    averages them); 1: one Fréchet distance over the whole vector."""

    @property
    def frechet_dim(self) -> int:
        """The dimension a Fréchet distance here needs more samples than: a block's."""
        return self.dim // self.blocks

    def fidelity_options(self) -> dict[str, Any]:
        """Keyword options for torch-fidelity's extractor constructor."""
        return {"feature_extractor_weights_path": str(self.weights)} if self.weights is not None else {}

    def describe(self) -> dict[str, Any]:
        """The extractor's part of a record's ``details``."""
        return {"name": self.name, "torch_fidelity_name": self.fidelity_name, "layer": self.features,
                "dim": self.dim, "weights_sha256": self.weights_sha256, **self.provenance,
                **({"blocks": self.blocks} if self.blocks > 1 else {})}


class FeatureExtractor(abc.ABC):
    """Base class. Subclasses set ``name`` and implement ``prepare``; extractors take no options
    (what they are is fixed, so that figures from one extractor stay comparable)."""

    name: ClassVar[str]
    config_class: ClassVar[type[Config]] = NoOptions

    def unsupported_reason(self, info: DataInfo) -> str | None:
        """Why this extractor cannot take ``info``'s examples (None when it can)."""
        return None

    @classmethod
    def card(cls) -> dict[str, str]:
        """What ``genbench list`` says of it: dimension, input, preprocessing, weights and their SHA-256."""
        return {}

    @abc.abstractmethod
    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        """Obtain the weights (load, download where allowed, or train and cache) for ``data``.

        A weights file that is missing and may not be downloaded raises ``DataMissingError``
        naming the file, where it was looked for and the flag that supplies it.
        """
