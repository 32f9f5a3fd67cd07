"""Likelihood estimators: the ways a model can give log p(x), each one named, with its settings and its cost.

A model offers its estimators by name (``GenerativeModel.likelihood_estimators``); the log-likelihood metric
chooses among them (``log-likelihood:estimator=ode``; by default the model's first) and writes into the records
which one it used, its settings and the network evaluations it spent per example. The kinds (``kind``):

- ``EXACT`` — log p(x) itself (naive Bayes, PCA, the flow: ``log_prob``).
- ``IW_BOUND`` — the importance-weighted bound of a latent-variable model (Burda et al. 2016, eq. 8),
  log p(x) ≥ E[log (1/K) Σ_k p(x, z_k) / q(z_k | x)], z_k ~ q(z | x): K decoder passes per example.
- ``MODEL_BOUND`` — a lower bound of the model's own (a diffusion model's variational bound over T steps).
- ``ODE`` — the density of a continuous-time flow, log p(x) = log p_T(x_T) + ∫ div f dt (Chen et al. 2018,
  Theorem 1; Song et al. 2021, App. D.2, the probability-flow ODE of a diffusion model): the exact density of
  the model the ODE defines, up to the solver's tolerance (and to Hutchinson's unbiased noise where the
  divergence is estimated), so as accurate as ``EXACT``, at the cost of one solve per batch.

``ACCURATE`` holds the kinds that give the likelihood itself rather than a bound of unknown slack; a continuous
density on discrete data is measured through uniform dequantization (``genbench.metrics.likelihood``), a bound
on the same event space that the records mark ``dequantized``.

This module imports torch only inside the functions that compute, so that the report (torch-free) can read
its constants.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from genbench.errors import UsageError
from genbench.records import DEQUANTIZED_BOUND, EXACT, IW_BOUND, MODEL_BOUND

if TYPE_CHECKING:
    import torch

ODE = "probability-flow ODE"
"""The kind of an estimator that integrates an ODE's divergence (``details["likelihood"]``)."""
KINDS = (EXACT, IW_BOUND, MODEL_BOUND, ODE)
ACCURATE = frozenset({EXACT, DEQUANTIZED_BOUND, ODE})
"""Kinds that estimate log p(x) itself (a dequantized exact density counts: the lecture's "exact" flow)."""


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One batch's log-likelihoods, (N,) float64 in nats, and network evaluations per example (NaN: unknown)."""

    values: torch.Tensor
    evaluations: float = math.nan


Compute = Callable[..., "Estimate | torch.Tensor"]
"""compute(x, generator, **settings) → an ``Estimate`` (or just the (N,) values)."""


@dataclasses.dataclass(frozen=True)
class LikelihoodEstimator:
    """A named way to compute log p(x) per example.

    ``compute(x, generator, **settings)`` gets a batch x (N, *shape) already on the model's device and returns
    an ``Estimate``. ``settings`` are the parameters it takes (K, terms, a tolerance), which ``with_settings``
    changes; ``description`` is what is fixed (T, "variational"). ``event`` is "density" when the values are a
    density even though the model's own ``likelihood_kind`` says "mass" (a diffusion model's ODE on discrete
    data: the metric dequantizes it); None: the model's ``likelihood_kind``.
    """

    name: str
    kind: str
    compute: Compute
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    description: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    event: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"estimator {self.name!r} has kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.event not in (None, "density", "mass"):
            raise UsageError(f"estimator {self.name!r} has event {self.event!r}; choose 'density' or 'mass'")

    def with_settings(self, **settings: Any) -> LikelihoodEstimator:
        """A copy with ``settings`` changed; a name the estimator does not take raises ``UsageError``."""
        unknown = sorted(set(settings) - set(self.settings))
        if unknown:
            valid = ", ".join(self.settings) or "none"
            raise UsageError(f"estimator {self.name!r} takes no setting {unknown[0]!r}; its settings: {valid}")
        return dataclasses.replace(self, settings={**self.settings, **settings})

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> Estimate:
        result = self.compute(x, generator, **self.settings)
        return result if isinstance(result, Estimate) else Estimate(result)

    @property
    def facts(self) -> dict[str, Any]:
        """The description and the settings in force (None left out): what the records carry."""
        return {**self.description, **{k: v for k, v in self.settings.items() if v is not None}}

    @property
    def label(self) -> str:
        """``name(key=value, …)``: the records' ``estimator`` (a description's ``bound``, the bound's kind, is left
        to the name: ``vlb(T=1000)``)."""
        facts = {k: v for k, v in self.facts.items() if k != "bound"}
        return f"{self.name}(" + ", ".join(f"{k}={v}" for k, v in facts.items()) + ")" if facts else self.name


def iw_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """log (1/K) Σ_k w_k from log w of shape (K, N): the importance-weighted estimate per example."""
    import torch  # defers torch

    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


MAX_ELEMENTS = 1 << 16
"""Data values (rows × dimensions) one chunk of importance samples decodes at once, at least one sample per example
of the batch: 1 024 rows of 8×8 digits, whose decoder's activations then stay in the processor's cache. The VAE's
K = 1000 bound over digits' 359 test examples took 3.2 s in chunks of 2¹⁶ values, 4.1 s at 2¹⁵, 5.0 s at 2¹⁴ and
2¹⁷, and 9–11 s at 2²² (2 cores of a Xeon, 2026-12-02); the samples are drawn in the same order whatever the
chunk, so the figure is the same."""


def importance_sampled_log_likelihood(model: Any, x: torch.Tensor, k: int, generator: torch.Generator | None,
                                      max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """L_K(x) per example, (N,), from the model's ``propose`` and ``log_joint``. The K samples are drawn in chunks
    of at most ``max_elements`` data values (k · N · D): memory stays bounded on large images (K = 1000 on a batch
    of 256 MNIST images at once would decode 256 000 images)."""
    import torch  # defers torch

    max_rows = max(1, max_elements // max(1, x[0].numel()))
    chunk = max(1, min(k, max_rows // max(1, len(x))))
    log_weights = []
    for start in range(0, k, chunk):
        z, log_q = model.propose(x, min(chunk, k - start), generator)
        log_weights.append(model.log_joint(x, z).double() - log_q.double())
    return iw_bound(torch.cat(log_weights))
