"""The ``wavelet`` extractor: the Haar wavelet packets of the Fréchet wavelet distance, a space with no weights.

Features (``genbench.features.wavelet_packets``): each image as pytorchfwd reads it (8-bit RGB / 255, grey
repeated, no resize), cut into the P = 4^L packets of a level-L Haar packet transform, concatenated packet after
packet: P·3·h·w values, h and w the sides halved L times (rounded up). L is FWD's 4 where the image allows it,
and the deepest level it has below that (8×8 digits: 3, P = 64); the records say which.

The space's Fréchet distance is FWD's: the mean over packets of the Fréchet distance of each packet's
coefficients (``PreparedExtractor.blocks`` = P), so FID measured here is FWD at that level. The packet transform
is orthonormal (an image's packets hold its pixels rotated; only odd sides add reflected samples), so the
distances between images here are those between their 3-channel pixels: KID, precision/recall and
density/coverage in this space are pixel-space figures. No classifier, so no IS.
"""

from __future__ import annotations

from genbench.data.info import DataInfo
from genbench.data.splits import Data
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.features.inputs import channels_text, rgb_image_reason, to_uint8_rgb
from genbench.features.wavelet_packets import FWD_LEVEL, deepest_level, packet_side
from genbench.metric import EvalContext

INPUT = "8-bit RGB / 255, no resize (pytorchfwd's)"


class WaveletExtractor(FeatureExtractor):
    """FWD's Haar wavelet packets, concatenated, with no weights; FID here is FWD."""

    name = "wavelet"

    def unsupported_reason(self, info: DataInfo) -> str | None:
        reason = rgb_image_reason(info, self.name)
        if reason is None and deepest_level(*info.shape[1:]) == 0:
            reason = f"the {self.name} extractor needs images of at least 2×2 pixels; {info.name} has {info.shape[1:]}"
        return reason

    @classmethod
    def card(cls) -> dict[str, str]:
        return {"dimension": "4^L·3·h·w (3072 on 28×28 at L = 4: 256 packets of 3·2·2)", "input": INPUT,
                "preprocessing": f"Haar packets of level L = {FWD_LEVEL} (FWD's), or the deepest a smaller image has; "
                                 "Fréchet distance averaged over packets, as FWD",
                "weights": "none"}

    def prepare(self, data: Data, context: EvalContext) -> PreparedExtractor:
        _, height, width = data.info.shape
        level = deepest_level(height, width)
        h, w = packet_side(height, level), packet_side(width, level)
        packets = 4**level
        return PreparedExtractor(
            name=self.name, fidelity_name=f"genbench-wavelet-level-{level}", features="packets",
            dim=packets * 3 * h * w, to_input=to_uint8_rgb, blocks=packets,
            no_logits_reason="the wavelet space has no classifier, and IS needs class probabilities",
            provenance={"resize": f"none: {height}×{width} as it is", "channels": channels_text(data.info),
                        "input": INPUT, "wavelet": "haar", "level": level, "packets": packets,
                        "packet_shape": [3, h, w], "reference": "pytorchfwd 1.0.1's packets and per-packet FD"},
        )
