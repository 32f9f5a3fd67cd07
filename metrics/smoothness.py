"""Smoothness of decoded interpolations: do small steps in z give small steps in x?

For a pair of latent codes (z₀, z₁) the straight line z_t = z₀ + (t/T)(z₁ − z₀), t = 0 … T, is
decoded, x_t = g(z_t) (the decoder's mean), and mapped into the feature space of the quality
metrics, φ_t = φ(x_t): the dataset's extractor from ``genbench.metrics.fidelity`` (the domain
classifier's 128 features on labelled images, Inception with weights, the raw coordinates on 2-D
data). With s_t = ‖φ_t − φ_{t−1}‖ the steps, L = Σ_t s_t the decoded path's length and
c = ‖φ_T − φ₀‖ the distance between its ends, for pairs i = 1 … n:

- ``smoothness_mean`` = Σ_i L_i / Σ_i c_i: the mean step over every step of every pair, in units
  of the mean even step c/T, i.e. how much longer the decoded way is than the direct one (≥ 1 by
  the triangle inequality). It grows when paths detour through in-between decodings that the
  features see as unlike either end (implausible examples);
- ``smoothness_p99``: the 99th percentile (linear interpolation, as ``torch.quantile``) over every
  step of every pair of T·s_t / L_i, the step relative to an even pace along its own path. It
  grows with jumps: a decoder that makes its whole way in one step scores T there.

A perfectly even straight path scores 1 in both, whatever the distance between its ends and the
scale of the feature space, so datasets and models are read on one scale; and each figure sees
one failure: a jump leaves the mean at 1 (the path stays straight) and an even detour leaves
the p99 at 1 (a half-circle walked evenly scores T sin(π/2T) ≈ π/2 and 1). Why not divide each
step by its own pair's c (T s_t / c_i): pairs whose ends look alike to the features (on shapes,
two squares in different places, to a classifier of shapes) have a small c_i, and whatever their
path does in between is divided by it; on shapes PCA then scored a p99 of 14 ± 3 with the median
pair's L/c at 1.18 (the pooled mean above: 1.47, the p99 above: 2.35). The pooled mean and the
per-path pace avoid dividing by any one small distance.

Pairs: for a model with an encoder, the codes of 2n distinct examples of the split (test by
default), drawn at random and paired; for a decoder-only model (the GAN), 2n draws of
``sample_latent`` (its prior). A pair whose decoded path does not move (L at most 10⁻⁶ of the
median over pairs) has no pace: it is left out and counted in the record's details.
Uncertainty: the bootstrap over pairs (``genbench.metrics.bootstrap``).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from genbench.config import require
from genbench.data.splits import Data, Split
from genbench.metric import EvalContext
from genbench.metrics.bootstrap import bootstrap
from genbench.metrics.feature_space import FeatureSpace, InSpaces, Reference, extract_features, in_space, space_names
from genbench.metrics.samples import SampleOptions, decode_all, encode_all, figure_record, sample_provenance
from genbench.model import Capability, GenerativeModel
from genbench.outputs import LOWER, Output
from genbench.records import Record

OUTPUTS = (
    Output("smoothness_mean", "mean step", better=LOWER, headline=True),
    Output("smoothness_p99", "p99 step", better=LOWER, headline=True),
)
FIGURES = tuple(output.name for output in OUTPUTS)
QUANTILE = 0.99
DEGENERATE = 1e-6
"""A path shorter than this fraction of the median path length does not move: it is left out."""


# ------------------------------------------------------------------------------------------ kernel
def line_codes(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """The T + 1 points z₀ + (t/T)(z₁ − z₀), t = 0 … T, of each pair: (n, d), (n, d) → (n, T + 1, d)."""
    t = torch.linspace(0, 1, steps + 1, dtype=z0.dtype, device=z0.device).view(1, -1, 1)
    return z0.unsqueeze(1) + t * (z1 - z0).unsqueeze(1)


@dataclasses.dataclass(frozen=True)
class PathSteps:
    """Step lengths s_t (m, T) and end distances c (m,) of the m paths that move, in float64."""

    steps: torch.Tensor
    ends: torch.Tensor
    left_out: int
    """Paths that did not move (L ≈ 0), left out."""

    def rows(self, index: torch.Tensor) -> PathSteps:
        return PathSteps(self.steps[index], self.ends[index], self.left_out)


def path_steps(paths: torch.Tensor) -> PathSteps:
    """Features along each path (n, T + 1, D) → its steps and end distance; paths whose length is at
    most ``DEGENERATE`` of the median length are left out."""
    paths = paths.double().flatten(2)
    if paths.shape[1] < 2:
        raise ValueError("a path needs at least two points")
    steps = (paths[:, 1:] - paths[:, :-1]).norm(dim=2)
    ends = (paths[:, -1] - paths[:, 0]).norm(dim=1)
    lengths = steps.sum(dim=1)
    keep = lengths > DEGENERATE * lengths.median()
    return PathSteps(steps[keep], ends[keep], int((~keep).sum()))


def smoothness_figures(paths: PathSteps) -> dict[str, float]:
    """{smoothness_mean: Σ L / Σ c, smoothness_p99: 99% quantile of T s_t / L}; NaN without paths."""
    if not len(paths.steps):
        return {name: math.nan for name in FIGURES}
    lengths = paths.steps.sum(dim=1, keepdim=True)
    pace = paths.steps.shape[1] * paths.steps / lengths
    return {"smoothness_mean": float(lengths.sum() / paths.ends.sum()),
            "smoothness_p99": float(torch.quantile(pace.flatten(), QUANTILE))}


# --------------------------------------------------------------------------------------- the paths
def endpoint_codes(model: GenerativeModel, split: Split, n: int, generator: torch.Generator,
                   batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(z₀, z₁) each (n, d), and where they come from: the codes of 2n distinct examples of
    ``split`` for a model with an encoder, else 2n draws of the model's ``sample_latent``."""
    if model.has(Capability.ENCODER):
        rows = torch.randperm(len(split), generator=generator)[:2 * n]
        codes = encode_all(model, split.x[rows], batch_size).float()
        source = f"encoded {split.name} examples"
    else:
        codes = model.sample_latent(2 * n, generator).float()
        source = "sample_latent draws (the model's prior)"
    return codes[:n], codes[n:2 * n], source


def decoded_paths(model: GenerativeModel, z0: torch.Tensor, z1: torch.Tensor, steps: int,
                  batch_size: int = 500) -> torch.Tensor:
    """The decoded straight lines between paired codes: (n, T + 1, *info.shape)."""
    codes = line_codes(z0, z1, steps)
    x = decode_all(model, codes.flatten(0, 1), batch_size)
    return x.reshape(*codes.shape[:2], *x.shape[1:])


# ------------------------------------------------------------------------------------- the adapter
@dataclasses.dataclass(frozen=True)
class SmoothnessOptions(SampleOptions):
    """``n``: pairs (default 200, or half the split when smaller); ``bootstrap``: replicates over
    pairs (default 200: a replicate is one quantile of n·T numbers)."""

    steps: int = 10
    """T: the path has T + 1 points and T steps."""
    extractor: str = "auto"
    """The feature space, as ``fidelity``'s option of the same name."""

    DEFAULT_PAIRS = 200
    DEFAULT_REPLICATES = 200

    def validate(self) -> None:
        super().validate()
        require(self.steps >= 1, f"steps must be at least 1, got {self.steps}")
        space_names(self.extractor)

    def pair_count(self, split: Split) -> int:
        return min(self.n if self.n is not None else self.DEFAULT_PAIRS, len(split) // 2)

    def replicates(self, n: int) -> int:
        return self.bootstrap if self.bootstrap is not None else self.DEFAULT_REPLICATES


class LatentSmoothness(InSpaces):
    """Step lengths along decoded straight lines in latent space, in the quality metrics' features."""

    name = "latent-smoothness"
    outputs = OUTPUTS
    config_class = SmoothnessOptions
    requires_any = frozenset({Capability.DECODER})

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        return self.space.unavailable_reason(data)

    def reference(self, data: Data, context: EvalContext, space: FeatureSpace | None = None) -> Reference | None:
        """A feature space of the quality metrics on ``data`` (default: the first): their extractor, and their
        reference set (the split's default n, whatever the pairs), so that the cache entry is theirs."""
        split = self.config.reference_split(data)
        return (space or self.space).reference(data, context, split, SampleOptions().sample_count(split),
                                               self.config.batch_size)

    def prepare(self, data: Data, context: EvalContext) -> None:
        for space in self.spaces:
            self.reference(data, context, space)

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        """The paths are drawn and decoded once, then measured in each feature space."""
        o: SmoothnessOptions = self.config
        if all(self.reference(data, context, space) is None for space in self.spaces):
            return self.in_each_space(lambda space, name: self.space_unavailable(space, data, context))
        split = o.reference_split(data)
        n = o.pair_count(split)
        if n < 2:
            return self.not_available(f"{split} holds too few examples for two pairs")
        z0, z1, source = endpoint_codes(model, split, n, context.generator(self.name), o.batch_size)
        x = decoded_paths(model, z0, z1, o.steps, o.batch_size)
        return self.in_each_space(lambda space, name: self.steps_in(space, x, source, split, data, context, name))

    def steps_in(self, space: FeatureSpace, x: torch.Tensor, source: str, split: Split, data: Data,
                 context: EvalContext, name: str | None) -> list[Record]:
        """The figures of the decoded paths ``x`` (n, T + 1, ...) in one feature space (``name``: a further one's)."""
        o: SmoothnessOptions = self.config
        ref = self.reference(data, context, space)
        if ref is None:
            return self.space_unavailable(space, data, context)
        n = len(x)
        prepared = ref.extractor
        features = extract_features(ref.module, prepared, prepared.to_input(x.flatten(0, 1)), o.batch_size,
                                    context.device).features
        paths = path_steps(features.reshape(n, o.steps + 1, -1))
        if not len(paths.steps):
            return self.unavailable_in_space(f"the decoded paths of all {n} pairs stand still in {prepared.name} "
                                             "features: the decodings do not change with z")
        values = smoothness_figures(paths)
        spreads = bootstrap(lambda rows: smoothness_figures(paths.rows(rows)), [len(paths.steps)],
                            o.replicates(len(paths.steps)), context.generator(in_space(f"{self.name}/bootstrap", name)),
                            values)
        details = {**sample_provenance(n, prepared.describe()), "pairs": n, "steps": o.steps, "endpoints": source,
                   "split": split.name, "pairs_left_out_standing_still": paths.left_out}
        estimators = {"smoothness_mean": "Σ path length / Σ end distance over pairs",
                      "smoothness_p99": f"{QUANTILE:.0%} quantile of T·step / path length (T={o.steps})"}
        return [figure_record(metric, values[metric], spreads.get(metric), details, n=len(paths.steps),
                              extractor=prepared.name, estimator=estimators[metric]) for metric in FIGURES]
