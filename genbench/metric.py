"""The metric contract: a metric needs capabilities of a model and returns ``Record``s.

A metric is a pure kernel on tensors (in its own module, pinned down by tests) plus this thin
adapter that gets samples, features or likelihoods from a model.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from genbench.config import Config, NoOptions
from genbench.curves import TrainingMonitor
from genbench.data.splits import Data
from genbench.errors import GenbenchError
from genbench.infra.atomic import write_bytes
from genbench.infra.rng import make_generator
from genbench.model import Capability, GenerativeModel
from genbench.outputs import Output, base_name
from genbench.records import Record

if TYPE_CHECKING:
    from genbench.registry import Registry


@dataclasses.dataclass(frozen=True)
class CellFiles:
    """Where a metric may write files of one cell beside metrics.csv: ``root/FOLDER/STEM<suffix>``, STEM being
    the cell's ``<label>-seed<k>`` (a per-sample table, a gallery). In a sweep's worker ``root`` is the cell's
    scratch folder, whose files travel back to the run directory with the records."""

    root: Path
    stem: str

    def write(self, folder: str, suffix: str, content: bytes) -> Path:
        """Write ``content`` atomically to ``root/folder/<stem><suffix>``; return its path."""
        path = self.root / folder / f"{self.stem}{suffix}"
        write_bytes(path, content)
        return path


@dataclasses.dataclass
class EvalContext:
    """What every metric may use: the seed, the device, a cache folder, local weight files, and the
    feature extractors by name (``genbench.service.evaluation.eval_context`` gives the catalog's)."""

    seed: int = 0
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))
    cache_dir: Path | None = None
    weights: dict[str, Path] = dataclasses.field(default_factory=dict)
    """Local weight files by feature-extractor name (``genbench run --inception-weights PATH``)."""
    extractors: Registry[Any] | None = None
    """The registry of ``genbench.features.FeatureExtractor`` classes that sample-based metrics find their
    feature extractor in (passed in, so that metrics depend on no registry of the layer above them; the
    contract of features, which builds on this module's, is not named here)."""
    files: CellFiles | None = None
    """Where the cell's own files go (None: nowhere, as in ``genbench.evaluate``)."""
    _draws: weakref.WeakKeyDictionary = dataclasses.field(default_factory=weakref.WeakKeyDictionary, repr=False)

    def generator(self, purpose: str) -> torch.Generator:
        """A CPU generator seeded from (seed, purpose): independent, reproducible streams per metric."""
        digest = hashlib.sha256(f"{self.seed}/{purpose}".encode()).digest()
        return make_generator(int.from_bytes(digest[:7], "little"))

    def samples(self, model: GenerativeModel, n: int, stream: str, batch_size: int = 500) -> torch.Tensor:
        """``model.draw(n)`` from the random stream ``stream``, drawn once in this context: metrics that compare
        the same draws (the fidelity metric's and the data-copying test's) share them instead of sampling twice."""
        drawn = self._draws.setdefault(model, {})
        key = (stream, n, batch_size)
        if key not in drawn:
            drawn[key] = model.draw(n, self.generator(stream), batch_size)
        return drawn[key]


class Metric(abc.ABC):
    """Base class. Subclasses set ``name``, ``outputs`` and implement ``compute``."""

    name: ClassVar[str]
    outputs: ClassVar[tuple[Output, ...]]
    """The figures ``compute`` returns, each declared once (name in metrics.csv, label, unit, better
    direction, headline, style: ``genbench.outputs``)."""
    config_class: ClassVar[type[Config]] = NoOptions
    requires_any: ClassVar[frozenset[Capability]] = frozenset()
    """The model needs at least one of these (empty: no requirement)."""
    from_samples: ClassVar[bool] = False
    """True when the metric needs nothing of a model but its samples (``GenerativeModel.draw``), so that
    it also measures a file of samples (``genbench score``)."""
    timed: ClassVar[bool] = False
    """True when ``compute`` times work (records whose estimator is ``records.TIMED``): beside other workers
    of a pool it then runs with the machine to itself (``genbench.infra.turns``)."""

    def __init__(self, config: Config | None = None, **options: Any):
        self.config = self.config_class.given(config, options, owner=f"metric {self.name}")

    def missing_capability(self, model: GenerativeModel) -> str | None:
        """Why ``model`` lacks what this metric needs (None when it has it)."""
        if self.requires_any and not (self.requires_any & model.capabilities):
            needs = " or ".join(sorted(c.value for c in self.requires_any))
            return f"{model.name} has no {needs}"
        return None

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        """Why the metric does not apply to this model on this data although the model has the
        capability (a density on categories, say); None when it applies."""
        return None

    def prepare(self, data: Data, context: EvalContext) -> None:
        """Load or compute, once and before any model is trained, what every model's measurement
        on ``data`` shares (extractor weights, reference features). A missing file raises
        ``UsageError`` here, once, instead of failing every model. ``compute`` works without it."""
        return None

    def while_training(self, data: Data, context: EvalContext) -> TrainingMonitor | None:
        """What measures a model while it trains (``genbench.curves``), handed to ``GenerativeModel.fit`` by the run;
        None (the default): the metric measures the trained model only."""
        return None

    @abc.abstractmethod
    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        """Measure ``model`` on ``data``; records carry the measurement, not the identity."""

    @property
    def produces(self) -> tuple[str, ...]:
        """The names of the records ``compute`` returns (also those of its n/a and failed records)."""
        return tuple(output.name for output in self.outputs)

    def declaration(self, metric: str) -> Output:
        """The output a record named ``metric`` belongs to; ``GenbenchError`` when it declares none."""
        for output in self.outputs:
            if output.name == base_name(metric):
                return output
        raise GenbenchError(f"the metric {self.name} returned a record {metric!r} it does not declare in its outputs")

    def declared(self, records: list[Record]) -> list[Record]:
        """``records`` with their output's unit and declaration (``details["output"]``)."""
        declared = []
        for record in records:
            output = self.declaration(record.metric)
            declared.append(dataclasses.replace(record, unit=output.unit,
                                                details={**record.details, "output": output.to_dict()}))
        return declared

    def not_available(self, reason: str, *, estimator: str = "") -> list[Record]:
        """n/a records; ``estimator="none"`` marks a model that lacks the capability altogether."""
        return [Record.not_available(metric, reason, estimator=estimator) for metric in self.produces]

    def failed(self, reason: str) -> list[Record]:
        return [Record.failed(metric, reason) for metric in self.produces]
