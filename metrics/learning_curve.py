"""Learning curves (``genbench.curves``): a cheap subset of the default metrics, measured while a model trains, at
⅛, ¼ and ½ of its planned optimiser steps and at the end of training.

At each point (``CurveMonitor``, handed to ``GenerativeModel.fit`` by the run):

- ``curve_fid``: FID of ``n`` samples (2 000 by default) against as many examples of the validation split, in the run's
  feature space (the fidelity metric's extractor and caches; ``genbench.metrics.fidelity``), or ``curve_kid`` where
  FID needs more samples than the space has dimensions (Inception's 2 048);
- ``curve_coverage``: coverage (Naeem et al. 2020, k = 5) of the same samples;
- ``curve_val_loss``: the model's own training objective on the validation split, with noise from a fixed seed (the
  figure early stopping reads; nats per example for likelihood models, a bound on −log p(x)), its standard error from
  the batches' means.

FID and coverage get bootstrap standard errors (``bootstrap`` replicates over the samples,
``genbench.metrics.bootstrap``). The validation split is used because the curve watches training: no model is
chosen by it, and the test split stays for the final figures. Each record names its point in brackets
(``curve_fid[at=1/2]``, ``curve_fid[at=end]``) and carries the point's steps, FLOPs, examples and training seconds;
the report draws them (``figures/learning-curves.png``) and marks a model budget-limited from them.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from typing import Any

import torch

from genbench.config import require_positive
from genbench.curves import FRACTIONS, CurvePoint
from genbench.data.splits import Data
from genbench.metric import EvalContext
from genbench.metrics.bootstrap import bootstrap
from genbench.metrics.feature_space import FeatureSpace, InSpaces, Reference, extract_features, in_space
from genbench.metrics.fidelity import FidelityOptions, fid_refusal, figures
from genbench.metrics.samples import DrawOptions
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import Record

OUTPUTS = (
    Output("curve_fid", "FID while training", better=LOWER),
    Output("curve_kid", "KID while training", better=LOWER),
    Output("curve_coverage", "coverage while training", better=HIGHER),
    Output("curve_val_loss", "validation loss while training", better=LOWER),
)
SAMPLE_FIGURES = ("curve_fid", "curve_kid", "curve_coverage")
"""The figures of samples, measured in each feature space; the validation loss is the model's own."""
CURVE_N = 2000
END = "end"


@dataclasses.dataclass(frozen=True)
class CurveOptions(DrawOptions):
    """``n`` samples at each point (default 2 000, at most the split's size) against the ``split`` (validation)."""

    split: str = "val"
    extractor: str = "auto"
    """The feature space, as the fidelity metric's (auto: raw coordinates, the domain classifier or Inception);
    several joined by + measure each point in each (``curve_fid[wavelet][at=1/2]``), the figure the first."""
    k: int = 5
    """Neighbours for coverage (Naeem et al. 2020)."""
    bootstrap: int = 10
    """Bootstrap replicates for the standard errors of FID (or KID) and coverage at each point (0: none)."""

    def validate(self) -> None:
        super().validate()
        require_positive(k=self.k)

    def sample_count(self, reference) -> int:
        return self.n if self.n is not None else min(CURVE_N, len(reference))


def point_label(point: dict[str, Any]) -> str:
    """Where a point stands, as its records' names say it: ``1/8``, ``1/2``, ``end``."""
    return END if point.get("final") else str(Fraction(point["fraction"]).limit_denominator(64))


class CurveMonitor:
    """Measures one model at the points of its training (``genbench.curves.TrainingMonitor``) and keeps each point's
    figures in its ``learning_curve_``."""

    fractions = FRACTIONS

    def __init__(self, metric: LearningCurve, data: Data, context: EvalContext):
        self.metric, self.data, self.context = metric, data, context

    def __call__(self, model: GenerativeModel, point: CurvePoint) -> None:
        figures_: dict[str, list[float]] = {}
        space: dict[str, Any] = {}
        if point.val_loss is not None:
            figures_["curve_val_loss"] = list(point.val_loss)
        if model.has(Capability.SAMPLE):
            sampled, space = self.metric.sample_figures(model, self.data, self.context, point.step)
            figures_.update(sampled)
        entry = {**point.to_dict(), "figures": figures_, "space": space}
        label = point_label(entry)
        model.learning_curve_ = [e for e in model.learning_curve_ if point_label(e) != label] + [entry]


class LearningCurve(InSpaces):
    """FID (or KID), coverage and the validation loss at points of a model's training (module docstring); FID and
    coverage in each feature space its ``extractor`` names (``curve_fid[wavelet][at=1/2]``), of the same draws."""

    name = "learning-curve"
    outputs = OUTPUTS
    config_class = CurveOptions
    in_every_space = SAMPLE_FIGURES

    def reference(self, data: Data, context: EvalContext, space: FeatureSpace | None = None) -> Reference | None:
        o: CurveOptions = self.config
        split = o.reference_split(data)
        return (space or self.space).reference(data, context, split, o.sample_count(split), o.batch_size)

    def measurable(self, data: Data) -> bool:
        """Whether the split has a feature space and the two examples its Gaussian statistics need."""
        return len(data.split(self.config.split)) >= 2 and self.space.unavailable_reason(data) is None

    def prepare(self, data: Data, context: EvalContext) -> None:
        if self.measurable(data):
            for space in self.spaces:
                self.reference(data, context, space)

    def while_training(self, data: Data, context: EvalContext) -> CurveMonitor:
        return CurveMonitor(self, data, context)

    def sample_figures(self, model: GenerativeModel, data: Data, context: EvalContext, step: int,
                       ) -> tuple[dict[str, list[float]], dict[str, Any]]:
        """FID (or KID) and coverage of the model's samples against the split in each space, each [value, standard
        error], and where they were measured (the first space's extractor, n, and a further space's figures' own);
        nothing where the data has no feature space."""
        o: CurveOptions = self.config
        if not self.measurable(data):
            return {}, {}
        refs = {name: self.reference(data, context, space)
                for space, name in ((self.space, None), *self.further.items())}
        refs = {name: ref for name, ref in refs.items() if ref is not None and ref.real is not None}
        if not refs:
            return {}, {}
        n = min(o.sample_count(data.split(o.split)), *(len(ref.real) for ref in refs.values()))
        x = model.draw(n, context.generator(f"{self.name}/{step}"), o.batch_size)
        sampled: dict[str, list[float]] = {}
        for name, ref in refs.items():
            for figure, value in self.figures_in(ref, x, context, in_space(f"{self.name}/{step}", name)).items():
                sampled[in_space(figure, name)] = value
        first = refs.get(None)
        return sampled, {"extractor": first.extractor.name if first else "", "n": n}

    def figures_in(self, ref: Reference, x: torch.Tensor, context: EvalContext, stream: str) -> dict[str, list[float]]:
        """FID (or KID) and coverage of the samples ``x`` in ``ref``'s space, with bootstrap standard errors."""
        o: CurveOptions = self.config
        fake = extract_features(ref.module, ref.extractor, ref.extractor.to_input(x), o.batch_size, context.device)
        distance = "kid" if fid_refusal(len(fake), len(ref.real), ref.extractor) else "fid"
        options = FidelityOptions(k=o.k, kid_subsets=1)
        skip = frozenset({"is", "fid", "kid", "precision", "recall", "density"} - {distance})
        balls = ref.balls(options.prc_k, options.k, 4096, context)

        def measure(rows: torch.Tensor) -> dict[str, float]:
            return figures(fake.rows(rows), ref.real, options, 0, context.device, skip=skip,
                           real_stats=ref.real_stats, balls=balls)[0]

        values = measure(torch.arange(len(fake)))
        spreads = bootstrap(measure, [len(fake)], o.bootstrap, context.generator(f"{stream}/bootstrap"),
                            values) if o.bootstrap else {}
        return {f"curve_{name}": [values[name], spreads[name].stderr if name in spreads else math.nan]
                for name in (distance, "coverage")}

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        if not model.learning_curve_:
            reason = (f"{model.name} was not trained by genbench's training loop here (fitted in closed form, "
                      "trained by its own loop, or loaded from a checkpoint that holds no learning curve)")
            return self.not_available(reason)
        records = []
        for entry in model.learning_curve_:
            label = point_label(entry)
            point = {k: v for k, v in entry.items() if k not in ("figures", "space")}
            space = entry.get("space") or {}
            for figure, (value, stderr) in entry["figures"].items():
                sampled = figure != "curve_val_loss"
                extractor = figure.partition("[")[2].rstrip("]") or space.get("extractor", "")
                records.append(Record(f"{figure}[at={label}]", value, stderr, n=space.get("n") if sampled else None,
                                      extractor=extractor if sampled else "",
                                      estimator="while training", details={"point": point,
                                                                           "split": self.config.split}))
        return records
