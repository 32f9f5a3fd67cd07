"""What every sample-based metric shares: how many samples, drawn how, and the bootstrap option.

The default sample count n is the size of the reference split, at most ``MAX_DEFAULT_N``: the
generated and the real set are then equally large, the setting in which Naeem et al. (2020)
give the real-vs-real expectations of density (1) and coverage (1 − 2^−k), and in which the
real-data reference of a dataset without a known distribution (its training split, drawn
without replacement) can supply as many examples as the models do.

The bootstrap (``genbench.metrics.bootstrap``) runs 20 replicates by default up to n = 5 000
(digits: 359, rings: 2 000), where they cost seconds; above that one replicate costs about as much
as the measurement itself on a CPU, so the default is none (the image sets' 10 000) and their
uncertainty comes from several seeds, or from ``bootstrap=N`` when asked.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from genbench.config import Config, require, require_positive
from genbench.data.splits import Data, Split
from genbench.errors import GenbenchError
from genbench.infra.environment import package_versions
from genbench.metrics.bootstrap import Spread
from genbench.model import GenerativeModel
from genbench.records import Record

MAX_DEFAULT_N = 10_000
DEFAULT_BOOTSTRAP = 20
BOOTSTRAP_DEFAULT_MAX_N = 5_000
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class DrawOptions(Config):
    """Options of every metric that draws samples from a model: how many, compared with which split."""

    n: int | None = None
    """Samples drawn from the model (default: the reference split's size, at most 10 000)."""
    split: str = "test"
    """The real data the samples are compared with."""
    batch_size: int = 500

    def validate(self) -> None:
        require_positive(batch_size=self.batch_size)
        require(self.n is None or self.n >= 2, f"n must be at least 2, got {self.n}")
        require(self.split in SPLITS, f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")

    def sample_count(self, reference: Split) -> int:
        """n, or its default for this reference split."""
        return self.n if self.n is not None else min(MAX_DEFAULT_N, len(reference))

    def reference_split(self, data: Data) -> Split:
        return data.split(self.split)


@dataclasses.dataclass(frozen=True)
class SampleOptions(DrawOptions):
    """Options of a metric whose figures get bootstrap standard errors over the samples."""

    bootstrap: int | None = None
    """Bootstrap replicates for standard errors and 95% intervals (0: none; default: 20 up to
    n = 5 000, none above, where one replicate costs as much as the measurement)."""

    def validate(self) -> None:
        super().validate()
        if self.bootstrap is not None:
            require(self.bootstrap >= 0, f"bootstrap must be 0 (off) or a number of replicates, got {self.bootstrap}")
            require(self.bootstrap != 1, "bootstrap needs at least 2 replicates for a spread (or 0 for none)")

    def replicates(self, n: int) -> int:
        """Bootstrap replicates for n samples: the option, or its default."""
        if self.bootstrap is not None:
            return self.bootstrap
        return DEFAULT_BOOTSTRAP if n <= BOOTSTRAP_DEFAULT_MAX_N else 0


def require_finite(x: torch.Tensor, message: str) -> torch.Tensor:
    """``x``, unless it holds non-finite floats: then ``GenbenchError(message)``."""
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise GenbenchError(message)
    return x


def encode_all(model: GenerativeModel, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """encode(x) for examples x (N, ...) in batches: (N, d) codes on the CPU."""
    return torch.cat([model.encode(batch).detach().cpu() for batch in x.split(batch_size)])


def decode_all(model: GenerativeModel, z: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """decode(z) for z (N, d) in batches, on the CPU; non-finite decodings raise ``GenbenchError``."""
    return require_finite(torch.cat([model.decode(batch).detach().cpu() for batch in z.split(batch_size)]),
                          f"{model.name} decoded to non-finite values")


PROVENANCE_PACKAGES = ("torch", "torchvision", "torch-fidelity", "scipy")


def sample_provenance(n: int, extractor: dict[str, object], reference: dict[str, object] | None = None,
                      ) -> dict[str, object]:
    """What every sample-based record's ``details`` carries: n, the extractor (name, weight hash,
    resize), the reference set, and the versions of the packages that computed it."""
    details: dict[str, object] = {"n": n, "extractor": extractor}
    if reference is not None:
        details["reference"] = reference
    details["versions"] = package_versions(PROVENANCE_PACKAGES)
    return details


def figure_record(metric: str, value: float, spread: Spread | None, details: dict[str, object],
                  **fields: object) -> Record:
    """A record whose standard error and 95% interval come from the bootstrap ``spread`` (None: no
    bootstrap, NaN standard error)."""
    if spread is not None:
        details = {**details, "bootstrap": spread.details()}
    return Record(metric, float(value), spread.stderr if spread is not None else math.nan, details=details,
                  **fields)  # type: ignore[arg-type]
