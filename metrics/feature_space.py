"""The feature space sample-based metrics compare in, on one dataset: its extractor and the real
reference set's features and Gaussian statistics.

``FeatureSpace`` picks the extractor (``auto``: raw coordinates for continuous vectors; for labelled
images Inception when weights are given, else the domain classifier), obtains its weights through the
extractor (``genbench.features``; the extractors are the evaluation context's, the catalog's in a
run), and holds the reference: computed from a split by torch-fidelity's feature loop and cached on
disk by content (``genbench.infra.cache``), or read from a reference statistics file (``genbench stats``).
The fidelity metric and the latent-smoothness metric each hold one, with the same cache keys, so they
measure in the same features.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from genbench.data.info import ValueType
from genbench.data.splits import SUBSET_SEED, Data, Split, subset_rows
from genbench.errors import GenbenchError, UsageError
from genbench.features.contract import FeatureExtractor, PreparedExtractor
from genbench.features.inception import INCEPTION_ENV
from genbench.infra.cache import Cache, cache_root
from genbench.metric import EvalContext, Metric
from genbench.metrics.frechet import GaussianStatistics, gaussian_statistics
from genbench.metrics.neighbourhoods import RealBalls, real_balls
from genbench.metrics.reference_file import read_reference_file
from genbench.model import GenerativeModel
from genbench.records import Record

log = logging.getLogger(__name__)



@dataclasses.dataclass(frozen=True)
class FeatureSet:
    """Features (N, D) and, where the extractor has them, class logits (N, C); CPU float32."""

    features: torch.Tensor
    logits: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.features)

    def rows(self, index: torch.Tensor) -> FeatureSet:
        return FeatureSet(self.features[index], None if self.logits is None else self.logits[index])


class TensorRows(Dataset):
    """A tensor (N, ...) as the Dataset torch-fidelity reads: item i is row i."""

    def __init__(self, x: torch.Tensor):
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.x[index]


def extract_features(module: Any, prepared: PreparedExtractor, inputs: torch.Tensor, batch_size: int,
                     device: torch.device) -> FeatureSet:
    """Run torch-fidelity's feature loop over ``inputs`` (already the extractor's input format)."""
    from torch_fidelity.utils import get_featuresdict_from_dataset  # defers torch-fidelity

    from genbench.features.adapters import on_device  # defers torch-fidelity

    with on_device(device):
        out = get_featuresdict_from_dataset(TensorRows(inputs), module, batch_size, device.type == "cuda",
                                            True, False)
    return FeatureSet(out[prepared.features].float(), out[prepared.logits].float() if prepared.logits else None)


@dataclasses.dataclass
class Reference:
    """What every model's measurement on one dataset shares: the extractor and the real features (None
    when only their statistics are known, from a pytorch-fid file)."""

    extractor: PreparedExtractor
    module: Any
    real: FeatureSet | None
    real_stats: GaussianStatistics
    split: str
    cache_hit: bool
    origin: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Where the reference came from, when not from the split itself (a statistics file)."""
    cache_parts: dict[str, Any] | None = None
    """The key of the reference features' cache entry (None: not cached), which the radii's key extends."""
    _balls: dict[tuple[int, int, int], Any] = dataclasses.field(default_factory=dict)

    def balls(self, prc_k: int, k: int, batch: int, context: EvalContext) -> Any:
        """The real features' k-NN radii (``genbench.metrics.neighbourhoods.RealBalls``): computed once per
        reference set and cached beside its features."""
        if (prc_k, k, batch) not in self._balls:
            def compute() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
                return real_balls(self.real.features.to(context.device), prc_k, k, batch).tensors(), {}

            if self.cache_parts is None:
                tensors = compute()[0]
            else:
                parts = {**self.cache_parts, "kind": "reference-radii", "prc_k": prc_k, "k": k, "batch": batch}
                tensors = Cache(cache_root(context.cache_dir), "references").fetch(parts, compute)[0]
            self._balls[(prc_k, k, batch)] = RealBalls.from_tensors(tensors, context.device)
        return self._balls[(prc_k, k, batch)]

    @property
    def n(self) -> int | None:
        """Reference examples behind the statistics (None: unknown)."""
        return self.real_stats.n if self.real_stats.n > 0 else None

    def describe(self, data: Data) -> dict[str, Any]:
        return {"split": self.split, "n": self.n, "dataset_fingerprint": data.fingerprint[:16], **self.origin}


def load_reference(prepared: PreparedExtractor, module: Any, data: Data, split: Split, n: int, batch_size: int,
                   context: EvalContext) -> Reference:
    """The reference set's features and Gaussian statistics, from the cache or computed and cached."""
    from torch_fidelity import __version__ as fidelity_version  # defers torch-fidelity

    rows = subset_rows(split, n)
    parts = {"kind": "reference-features", "dataset": data.fingerprint, "split": split.name, "n": len(rows),
             "subset_seed": SUBSET_SEED, "extractor": prepared.describe(),
             "logits": prepared.logits, "torch_fidelity": fidelity_version}

    def compute() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        real = extract_features(module, prepared, prepared.to_input(split.x[rows]), batch_size, context.device)
        stats = gaussian_statistics(real.features, prepared.blocks)
        tensors = {"features": real.features, "fid_mean": stats.mean, "fid_cov": stats.cov}
        if real.logits is not None:
            tensors["logits"] = real.logits
        return tensors, {"rows": len(rows)}

    tensors, _, hit = Cache(cache_root(context.cache_dir), "references").fetch(parts, compute)
    real = FeatureSet(tensors["features"], tensors.get("logits"))
    stats = GaussianStatistics(tensors["fid_mean"].to(context.device), tensors["fid_cov"].to(context.device), len(real),
                               prepared.blocks)
    return Reference(prepared, module, real, stats, split.name, hit, cache_parts=parts)


def reference_from_file(path: Path, prepared: PreparedExtractor, module: Any, data: Data, split: Split, n: int,
                        device: torch.device) -> Reference:
    """The reference read from a statistics file, refused (``UsageError``, exit 2) when it was not measured
    under this run's protocol: another extractor or weights, n, split or dataset. A pytorch-fid file says
    none of these: it is used for FID alone, with a warning, when its dimension fits."""
    file = read_reference_file(path)
    if (file.dim, file.blocks) != (prepared.dim, prepared.blocks):
        def in_blocks(blocks: int) -> str:
            return f" in {blocks} blocks" if blocks > 1 else ""

        raise UsageError(f"{path} holds statistics of {file.dim}-dimensional features{in_blocks(file.blocks)}; the "
                         f"{prepared.name} extractor gives {prepared.dim}{in_blocks(prepared.blocks)}")
    if file.provenance is None:
        log.warning("%s holds only mu and sigma (pytorch-fid's format): its extractor, weights and n cannot be "
                    "checked against this run's %s features; FID alone is computed from it", path, prepared.name)
        stats = GaussianStatistics(file.mean.to(device), file.cov.to(device), 0, file.blocks)
        return Reference(prepared, module, None, stats, split.name, False, file.describe())
    saved, dataset = file.provenance.get("extractor", {}), file.provenance.get("dataset", {})
    expected = {"extractor": (saved.get("name"), prepared.name),
                "extractor weights (SHA-256)": (saved.get("weights_sha256"), prepared.weights_sha256),
                "n": (dataset.get("n"), n), "split": (dataset.get("split"), split.name),
                "dataset fingerprint": (dataset.get("fingerprint"), data.fingerprint)}
    for what, (theirs, ours) in expected.items():
        if theirs != ours:
            raise UsageError(f"{path} was computed with {what} {theirs}; this run's protocol has {ours} "
                             "(figures under different protocols are never compared): write it again with "
                             "genbench stats under this run's options")
    features = None if file.features is None else FeatureSet(file.features)
    stats = GaussianStatistics(file.mean.to(device), file.cov.to(device), n, file.blocks)
    return Reference(prepared, module, features, stats, split.name, False, file.describe())


def auto_extractor(data: Data, context: EvalContext) -> str | None:
    """The extractor ``auto`` stands for on ``data`` (None: none fits)."""
    info = data.info
    if info.value_type is ValueType.CONTINUOUS and len(info.shape) == 1:
        return "raw"
    if info.is_image and info.value_type is not ValueType.CATEGORICAL:
        if context.weights.get("inception") or os.environ.get(INCEPTION_ENV):
            return "inception"
        return "domain" if info.n_classes else None
    return None


NO_FEATURE_SPACE = ("{name} is categorical: nearest-neighbour balls and Gaussian statistics on category codes "
                    "mean little (one-hot distances take a handful of values, so ties decide every k-NN radius); "
                    "the exact log-likelihood compares these models")


class FeatureSpace:
    """The extractor and the real reference set of one metric on a dataset (see the module docstring);
    ``reference_file``: statistics to use instead of the split's features."""

    def __init__(self, extractor: str = "auto", reference_file: str | None = None):
        self.extractor, self.reference_file = extractor, reference_file
        self._references: dict[str, Reference] = {}

    def extractor_for(self, data: Data, context: EvalContext) -> tuple[FeatureExtractor | None, str | None]:
        """The extractor to use on ``data`` and, when there is none, why."""
        if context.extractors is None:
            raise GenbenchError("the evaluation context has no feature extractors; make it with "
                                "genbench.service.evaluation.eval_context")
        name = self.extractor if self.extractor != "auto" else auto_extractor(data, context)
        if name is None:
            if data.info.value_type is ValueType.CATEGORICAL:
                return None, NO_FEATURE_SPACE.format(name=data.name)
            return None, (f"no feature space for {data.name}: it has no labels to train the domain classifier "
                          "on; give Inception weights (--inception-weights, or pip install genbench[inception] "
                          "with --metrics fidelity:extractor=inception)")
        extractor = context.extractors.get(name)()
        reason = extractor.unsupported_reason(data.info)
        return (None, reason) if reason else (extractor, None)

    def unavailable_reason(self, data: Data) -> str | None:
        if data.info.value_type is ValueType.CATEGORICAL:
            return NO_FEATURE_SPACE.format(name=data.name)
        return None

    def reference(self, data: Data, context: EvalContext, split: Split, n: int, batch_size: int) -> Reference | None:
        """The extractor and the real reference set on ``data`` (built once per dataset, device and
        weights; None when no extractor fits)."""
        extractor, _ = self.extractor_for(data, context)
        if extractor is None:
            return None
        key = json.dumps([data.fingerprint, extractor.name, str(context.device), str(cache_root(context.cache_dir)),
                          {k: str(v) for k, v in context.weights.items()}, os.environ.get(INCEPTION_ENV)])
        if key not in self._references:
            from genbench.features.adapters import build  # defers torch-fidelity

            prepared = extractor.prepare(data, context)
            module = build(prepared, context.device)
            if self.reference_file is not None:
                self._references[key] = reference_from_file(Path(self.reference_file), prepared, module, data, split,
                                                            n, context.device)
            else:
                self._references[key] = load_reference(prepared, module, data, split, n, batch_size, context)
        return self._references[key]

    def warn_when_absent(self, data: Data, context: EvalContext, figures: str) -> None:
        """Say once, at the start, that ``figures`` will be n/a on ``data`` for want of a feature space."""
        extractor, reason = self.extractor_for(data, context)
        if extractor is None and data.info.is_image:
            log.warning("%s will be n/a: %s", figures, reason)


SPACE_SEPARATOR = "+"


def space_names(extractor: str) -> list[str]:
    """The extractors an ``extractor`` option names, in order (``inception+dinov2-vit-b-14``; the first is the
    table's); ``UsageError`` when one is empty or repeated."""
    names = [name.strip() for name in extractor.split(SPACE_SEPARATOR)]
    if not all(names) or len(set(names)) != len(names):
        raise UsageError(f"extractor takes names joined by {SPACE_SEPARATOR} (inception+dinov2-vit-b-14), each "
                         f"once; got {extractor!r}")
    return names


def in_space(metric: str, space: str | None) -> str:
    """A figure's record name in a further feature space: ``fid`` → ``fid[dinov2-vit-b-14]`` (None: the first)."""
    return metric if space is None else f"{metric}[{space}]"


class InSpaces(Metric):
    """A metric measured in one feature space or several (its ``extractor`` option, names joined by +): the first
    space's records keep their names (the table's marks read them), a further space's are ``name[space]``.
    Subclasses implement ``compute_in``, or ``compute`` through ``in_each_space`` where work that does not depend
    on the space comes first (latent smoothness decodes its paths once); ``space_options`` gives a space's
    ``FeatureSpace`` arguments."""

    in_every_space: tuple[str, ...] | None = None
    """The outputs a further space has too (None: all; memorisation's exact copies compare the data's values, in no
    space)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        names = space_names(self.config.extractor)
        self.spaces = [FeatureSpace(name, *self.space_options(i == 0)) for i, name in enumerate(names)]
        self.space = self.spaces[0]
        self.further = dict(zip(self.spaces[1:], names[1:]))
        """The further spaces, with the name their records carry."""

    def space_options(self, first: bool) -> tuple[Any, ...]:
        """``FeatureSpace``'s arguments after the extractor, for the first space or a further one."""
        return ()

    @property
    def produces(self) -> tuple[str, ...]:
        spaced = [o.name for o in self.outputs if self.in_every_space is None or o.name in self.in_every_space]
        further = (in_space(name, space) for space in self.further.values() for name in spaced)
        return (*(o.name for o in self.outputs), *further)

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        return self.in_each_space(lambda space, name: self.compute_in(space, model, data, context, name))

    def in_each_space(self, measure: Callable[[FeatureSpace, str | None], list[Record]]) -> list[Record]:
        """``measure(space, name)`` in the first space, then in each further one, its records renamed there."""
        records = measure(self.space, None)
        for space, name in self.further.items():
            records += [dataclasses.replace(r, metric=in_space(r.metric, name)) for r in measure(space, name)]
        return records

    def compute_in(self, space: FeatureSpace, model: GenerativeModel, data: Data, context: EvalContext,
                   name: str | None = None) -> list[Record]:
        """The records in one space (``name``: a further space's, for streams of its own)."""
        raise NotImplementedError

    def space_unavailable(self, space: FeatureSpace, data: Data, context: EvalContext) -> list[Record]:
        """n/a records of one space's figures, with the reason it has no extractor here."""
        return self.unavailable_in_space(space.extractor_for(data, context)[1] or "no feature space")

    def unavailable_in_space(self, reason: str) -> list[Record]:
        """n/a records of one space's figures (``not_available`` gives every space's)."""
        return [Record.not_available(output.name, reason) for output in self.outputs
                if self.in_every_space is None or output.name in self.in_every_space]
