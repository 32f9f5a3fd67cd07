"""The ``raw`` extractor: the coordinates themselves, for continuous vectors (2-D ``rings``); no weights, no IS."""

from __future__ import annotations

import functools

import torch

from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.metric import EvalContext


class RawExtractor(FeatureExtractor):
    """The coordinates themselves, for continuous vectors such as the 2-D rings; no weights, no IS."""

    name = "raw"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        if info.value_type is not ValueType.CONTINUOUS or len(info.shape) != 1:
            return f"the raw extractor takes continuous vectors; {info.name} holds {info.value_type.value} " \
                   f"data of shape {info.shape}"
        return None

    @classmethod
    def card(cls) -> dict[str, str]:
        return {"dimension": "the data's", "input": "continuous vectors", "weights": "none"}

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        return PreparedExtractor(
            name=self.name, fidelity_name="genbench-raw", features="coordinates", dim=data.info.dim,
            to_input=functools.partial(torch.flatten, start_dim=1),
            provenance={"resize": "none: coordinates as they are"},
        )
