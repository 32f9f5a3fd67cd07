"""Distances between generated and real sets beyond FID: CMMD, FD∞ and the Fréchet wavelet distance; each a thin
adapter around its kernel (``genbench.metrics.cmmd``, ``genbench.metrics.fd_inf``,
``genbench.features.wavelet_packets``).

Each measures in the space its ``extractor`` option names, or in several (``inception+dinov2-vit-b-14``: a
further space's record is ``cmmd[dinov2-vit-b-14]``, as the fidelity metric's).

- ``cmmd``: 1000 · MMD² with a Gaussian kernel (σ = 10) on L2-normalised embeddings (Jayasumana et al., CVPR
  2024), by default in CMMD's own space, CLIP ViT-L/14@336px; unbiased (the U-statistic) unless ``biased=true``,
  which gives the reference code's V-statistic. Standard error: the U-statistic's first-order one.
- ``fd-inf``: FD∞ (Chong & Forsyth, CVPR 2020), the intercept of FD against 1/N over 15 subset sizes from 5 000
  (or n/10, and always above the feature dimension) to n, in the fidelity metric's space by default; its
  standard error is the regression's, a lower bound (``genbench.metrics.fd_inf``).
- ``fwd``: the Fréchet wavelet distance (Veeramacheneni et al., ICLR 2025): the mean over the 4^L Haar packets
  (level 4) of the Fréchet distance between the packet coefficients of the generated and the real images, as
  pytorchfwd computes it (8-bit RGB / 255, no resize); no weights.

Each draws the same samples as the fidelity metric (the context's shared draws) and reads the real features from
the same cache.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from genbench.config import require, require_positive
from genbench.data.splits import SUBSET_SEED, Data, subset_rows
from genbench.features.inputs import rgb_image_reason, to_uint8_rgb
from genbench.features.wavelet_packets import check_level, packet_features
from genbench.metric import EvalContext, Metric
from genbench.metrics.cmmd import cmmd_estimate
from genbench.metrics.fd_inf import default_sizes, fd_infinity, smallest_size
from genbench.metrics.feature_space import FeatureSpace, InSpaces, Reference, extract_features, in_space, space_names
from genbench.metrics.fidelity import Fidelity
from genbench.metrics.frechet import frechet_distance, gaussian_statistics
from genbench.metrics.samples import DrawOptions, sample_provenance
from genbench.model import Capability, GenerativeModel
from genbench.outputs import LOWER, Output
from genbench.records import Record

STREAM = Fidelity.name
"""The random stream of the samples: the fidelity metric's, so that every distance compares the same draws."""


@dataclasses.dataclass(frozen=True)
class CmmdOptions(DrawOptions):
    extractor: str = "clip-vit-l-14-336px"
    """The space (CMMD's is CLIP ViT-L/14@336px; any registered extractor works)."""
    sigma: float = 10.0
    scale: float = 1000.0
    biased: bool = False
    """The reference code's V-statistic instead of the unbiased U-statistic."""

    def validate(self) -> None:
        super().validate()
        require_positive(sigma=self.sigma, scale=self.scale)
        space_names(self.extractor)


@dataclasses.dataclass(frozen=True)
class FdInfOptions(DrawOptions):
    extractor: str = "auto"
    """The space (auto: the fidelity metric's)."""
    points: int = 15
    """Subset sizes the line is fitted through (the paper's 15)."""

    def validate(self) -> None:
        super().validate()
        require(self.points >= 3, f"points must be at least 3 for a line with an uncertainty, got {self.points}")
        space_names(self.extractor)


@dataclasses.dataclass(frozen=True)
class FwdOptions(DrawOptions):
    level: int = 4
    """Wavelet packet level (pytorchfwd's and the paper's 4)."""

    def validate(self) -> None:
        super().validate()
        require_positive(level=self.level)


class InSpace(InSpaces):
    """A figure from the generated and the real features, in each space asked for."""

    requires_any = frozenset({Capability.SAMPLE})
    from_samples = True

    def reference(self, data: Data, context: EvalContext, space: FeatureSpace | None = None) -> Reference | None:
        """The extractor and the real reference set in ``space`` (default: the first; None: no extractor fits)."""
        o = self.config
        split = o.reference_split(data)
        return (space or self.space).reference(data, context, split, o.sample_count(split), o.batch_size)

    def prepare(self, data: Data, context: EvalContext) -> None:
        for space in self.spaces:
            space.warn_when_absent(data, context, self.outputs[0].label)
            self.reference(data, context, space)

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        return self.space.unavailable_reason(data)

    def compute_in(self, space: FeatureSpace, model: GenerativeModel, data: Data, context: EvalContext,
                   name: str | None = None) -> list[Record]:
        ref = self.reference(data, context, space)
        if ref is None:
            return self.space_unavailable(space, data, context)
        if ref.real is None:
            return self.unavailable_in_space("the reference statistics file holds no features, which this figure "
                                             "needs")
        o = self.config
        n = o.sample_count(data.split(ref.split))
        x = context.samples(model, n, STREAM, o.batch_size)
        fake = extract_features(ref.module, ref.extractor, ref.extractor.to_input(x), o.batch_size, context.device)
        details = sample_provenance(n, ref.extractor.describe(), ref.describe(data))
        return [self.figure(fake.features, ref, context, details, n, name)]

    def figure(self, fake: torch.Tensor, ref: Reference, context: EvalContext, details: dict[str, Any],
               n: int, name: str | None) -> Record:
        """The figure's record from the generated features ``fake`` against ``ref`` (``name``: a further space's)."""
        raise NotImplementedError


class Cmmd(InSpace):
    """CMMD: 1000 · MMD² with a Gaussian kernel on normalised CLIP embeddings (module docstring)."""

    name = "cmmd"
    outputs = (Output("cmmd", "CMMD", better=LOWER),)
    config_class = CmmdOptions

    def figure(self, fake: torch.Tensor, ref: Reference, context: EvalContext, details: dict[str, Any],
               n: int, name: str | None) -> Record:
        o: CmmdOptions = self.config
        estimate = cmmd_estimate(fake.to(context.device), ref.real.features.to(context.device), o.sigma, o.scale,
                                 unbiased=not o.biased)
        estimator = "V-statistic (biased), as the reference code" if o.biased else "U-statistic (unbiased)"
        return Record("cmmd", estimate.value, estimate.stderr, n=n, extractor=ref.extractor.name,
                      estimator=f"jayasumana2024 {estimator}",
                      details={**details, "sigma": o.sigma, "scale": o.scale, "embeddings": "L2-normalised"})


class FdInfinity(InSpace):
    """FD∞: FD extrapolated to infinitely many samples (module docstring)."""

    name = "fd-inf"
    outputs = (Output("fd_inf", "FD∞", better=LOWER),)
    config_class = FdInfOptions

    def figure(self, fake: torch.Tensor, ref: Reference, context: EvalContext, details: dict[str, Any],
               n: int, name: str | None) -> Record:
        o: FdInfOptions = self.config
        dim = ref.extractor.frechet_dim
        smallest = smallest_size(n, above=dim)  # FD needs more samples than dimensions
        if n < smallest + o.points:
            return Record.not_available("fd_inf", f"FD∞ fits FD at {o.points} subset sizes above the {dim} feature "
                                        f"dimensions up to n; n = {n} leaves too few (use n ≥ {smallest + o.points}"
                                        " or a smaller space)", n=n, extractor=ref.extractor.name)
        sizes = default_sizes(n, o.points, above=dim)
        subsets = context.generator(in_space(f"{self.name}/subsets", name))
        fit = fd_infinity(ref.real_stats, fake.to(context.device), sizes, subsets)
        return Record("fd_inf", fit.intercept, fit.stderr, n=n, extractor=ref.extractor.name,
                      estimator="chong2020 (OLS intercept of FD on 1/N; stderr a lower bound)",
                      details={**details, "sizes": list(fit.sizes), "fd": list(fit.distances), "slope": fit.slope})


class FrechetWaveletDistance(Metric):
    """FWD: the mean over wavelet packets of the Fréchet distance of their coefficients (module docstring)."""

    name = "fwd"
    outputs = (Output("fwd", "FWD", better=LOWER),)
    config_class = FwdOptions
    requires_any = frozenset({Capability.SAMPLE})
    from_samples = True

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        return rgb_image_reason(data.info, "wavelet")

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        o: FwdOptions = self.config
        split = o.reference_split(data)
        n = o.sample_count(split)
        _, height, width = data.info.shape
        try:
            check_level(height, width, o.level)
        except ValueError as error:
            return self.not_available(str(error))
        real = split.x[subset_rows(split, n)]
        fake = context.samples(model, n, STREAM, o.batch_size)
        packets = 4**o.level
        fake_features, real_features = (packet_features(to_uint8_rgb(images), o.level) for images in (fake, real))
        size = real_features.shape[1] // packets
        if min(len(fake), len(real)) <= size:
            return self.not_available(f"FWD needs more samples than each packet's {size} coefficients, got n = {n}")
        value = frechet_distance(gaussian_statistics(fake_features, packets),
                                 gaussian_statistics(real_features, packets))
        details = {"n": n, "wavelet": "haar", "level": o.level, "packets": packets,
                   "input": "8-bit RGB / 255, no resize (pytorchfwd's)",
                   "reference": {"split": split.name, "n": len(real), "subset_seed": SUBSET_SEED,
                                 "dataset_fingerprint": data.fingerprint[:16]}}
        return [Record("fwd", value, math.nan, n=n, extractor="wavelet", estimator="veeramacheneni2025 (pytorchfwd)",
                       details=details)]
