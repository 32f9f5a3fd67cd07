"""Test log-likelihood under one protocol for every model on a dataset.

The metric measures with one of the estimators the model offers (``genbench.estimators``): its default, or the
one ``estimator`` names where the model offers it. The protocol's settings (``k``, ``terms``, ``sampling``,
``rtol``, ``divergence``) go to the estimators that take them. Records carry the estimator's name, kind and
settings, and its network evaluations per example (``nfe``).

Event space: discrete data (binary, discrete, categorical) are measured as probability mass, in
nats per example and bits per dimension; continuous data as density.

- A model with an exact likelihood gives ``log_prob(x)``; a diffusion model's probability-flow ODE gives the
  density of the flow it defines (``baselines/diffusion/model.py``).
- A latent-variable model gives the importance-weighted bound (Burda et al. 2016, eq. 8)

      log p(x) ≥ L_K(x) = E[log (1/K) Σ_k p(x, z_k) / q(z_k | x)],   z_k ~ q(z | x),

  which is the ELBO at K = 1, never decreases with K and tends to log p(x) as K → ∞.
- A continuous density on discrete data is measured through uniform dequantization (Theis et
  al. 2016, §3.1): with y = x + (u - ½) Δ, u ~ U[0, 1)^D and Δ the bin width,

      log P(x) = log ∫_bin p(y) dy ≥ E_u[log p(y)] + D log Δ,

  by Jensen's inequality, so the figure is a bound on the discrete probability, recorded so.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import torch

from genbench.config import Config, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data, subset_rows
from genbench.errors import UsageError
from genbench.estimators import (  # noqa: F401 - the kernels' names here too, where tests and users find them
    MAX_ELEMENTS,
    Estimate,
    LikelihoodEstimator,
    importance_sampled_log_likelihood,
    iw_bound,
)
from genbench.infra.devices import synchronize
from genbench.metric import EvalContext, Metric
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import DEQUANTIZED_BOUND, EXACT, IW_BOUND, LIKELIHOOD, MODEL_BOUND, TIMED, Record

LOG2 = math.log(2)


def mean_and_stderr(values: torch.Tensor) -> tuple[float, float]:
    """Mean and standard error (sample std with ddof 1, over √N) of a 1-D tensor."""
    values = values.double()
    n = values.numel()
    mean = values.mean().item()
    stderr = (values.std(unbiased=True) / math.sqrt(n)).item() if n > 1 else math.nan
    return mean, stderr


FULL_K, FULL_N = 1000, 2000
"""The importance samples K and test examples n of the protocol at 8×8 and below; larger examples get
``monte_carlo_share`` of each."""
REFERENCE_VALUES = 64
"""Values per example (8×8 digits) at which the protocol's Monte Carlo counts are stated."""


def monte_carlo_share(values: int) -> float:
    """The share of the protocol's Monte Carlo draws and test examples given to examples of ``values`` values:
    min(1, (64 / values)^(2/3)), so that a likelihood estimate costs (values / 64)^(1/3) times one on 8×8 digits:
    0.19 of them on 28×28 images (K = 188, n = 376), 0.08 on 32×32 colour images; 64 values or fewer get all."""
    return min(1.0, (REFERENCE_VALUES / max(1, values)) ** (2 / 3))
LARGE = 64
"""Values per example up to which the protocol spends its full budgets (and the ODE takes the exact divergence)."""
BOUND_TERMS = 50
"""The terms a bound that sums more of them (the diffusion model's T = 1000) is estimated from by default, their t
drawn by importance (``sampling="importance"``, Nichol & Dhariwal 2021 §3.3). On digits: −148.75 ± 0.74 nats
against −149.12 ± 0.71 from all 1000 terms, at 139 network passes per example (a pilot in every batch, as it then
ran) rather than 1000 (``tests/benchmarks/likelihood_estimators.py``); 50 uniform terms gave −147.4 ± 6.5. With one
pilot per random stream an estimate costs 50 + 16 000/n passes per example: 95 on digits' 359 test images."""
DIVERGENCES = ("exact", "hutchinson")
SAMPLINGS = ("uniform", "importance")


@dataclasses.dataclass(frozen=True)
class LikelihoodOptions(Config):
    estimator: str | None = None
    """The estimator to measure with, where the model offers it (``exact``, ``iw-bound``, ``bound``, ``vlb``,
    ``ode``, or a user model's own); a model that does not offer it is measured by its default, which the records
    name. None: every model's default."""
    k: int | None = None
    """Importance samples per example for latent-variable models (K = 1 is the ELBO); default 1000 up to 64
    values per example, 1000 × ``monte_carlo_share`` above (188 on 28×28)."""
    terms: int | None = None
    """For a model whose bound sums many terms (the diffusion model's T), the unbiased estimate from this many
    terms at random t (T or more: every term); default: ``BOUND_TERMS`` (50) drawn by importance where the bound
    sums more of them and the model sets no count of its own (``diffusion:bound_steps``), else every term."""
    sampling: str | None = None
    """How those random terms' t are drawn: ``uniform``, or ``importance`` (Nichol & Dhariwal 2021 §3.3); default
    uniform for a count given here or by the model, importance for the protocol's ``BOUND_TERMS``."""
    rtol: float | None = None
    """The ODE solver's relative and absolute tolerance (default the estimator's, 1e-5)."""
    divergence: str | None = None
    """The ODE's divergence: ``exact`` (D vector–Jacobian products per evaluation) or ``hutchinson`` (one
    Rademacher probe per example); default exact up to 64 values per example."""
    n: int | None = None
    """Test examples measured (a fixed random subset when the split holds more); default 2000 up to 64 values per
    example, 2000 × ``monte_carlo_share`` above (376 on 28×28)."""
    batch_size: int = 256
    split: str = "test"

    def validate(self) -> None:
        require_positive(k=self.k, batch_size=self.batch_size, terms=self.terms, n=self.n, rtol=self.rtol)
        if self.divergence is not None and self.divergence not in DIVERGENCES:
            raise UsageError(f"unknown divergence {self.divergence!r}; choose one of {', '.join(DIVERGENCES)}")
        if self.sampling is not None and self.sampling not in SAMPLINGS:
            raise UsageError(f"unknown sampling {self.sampling!r}; choose one of {', '.join(SAMPLINGS)}")

    def importance_samples(self, info: DataInfo) -> int:
        return self.k if self.k is not None else max(1, round(FULL_K * monte_carlo_share(info.dim)))

    def examples(self, info: DataInfo) -> int:
        return self.n if self.n is not None else max(1, round(FULL_N * monte_carlo_share(info.dim)))

    def protocol_settings(self, estimator: LikelihoodEstimator, info: DataInfo) -> dict[str, Any]:
        """The settings of this protocol that ``estimator`` takes: K; the terms of a many-term bound (``terms``,
        else the model's own count, else ``BOUND_TERMS`` drawn by importance where T is larger) and how their t are
        drawn; the ODE's tolerance and divergence (exact up to 64 values, Hutchinson above)."""
        wanted: dict[str, Any] = {"k": self.importance_samples(info), "sampling": self.sampling,
                                  "terms": self.terms}
        steps = estimator.description.get("T")
        chosen_by_model = estimator.settings.get("terms") is not None
        if self.terms is None and not chosen_by_model and steps is not None and steps > BOUND_TERMS:
            wanted["terms"], wanted["sampling"] = BOUND_TERMS, self.sampling or "importance"
        if self.rtol is not None:
            wanted["rtol"] = wanted["atol"] = self.rtol
        wanted["divergence"] = self.divergence or ("exact" if info.dim <= LARGE else "hutchinson")
        return {key: value for key, value in wanted.items() if key in estimator.settings and value is not None}


class LogLikelihood(Metric):
    """Test log-likelihood by one of the model's estimators; nats, bits/dim, evaluations/s and per example."""

    name = "log-likelihood"
    timed = True
    outputs = (
        Output("log_likelihood", "test log-likelihood", "nats", HIGHER, headline=True),
        Output("bits_per_dim", "bits/dim", "bits/dim", LOWER, headline=True),
        Output("likelihood_examples_per_second", "likelihood evaluations/s", "examples/s", HIGHER, headline=True,
               log_scale=True),
    )
    config_class = LikelihoodOptions
    requires_any = frozenset({Capability.EXACT_LIKELIHOOD, Capability.IMPORTANCE_SAMPLER,
                              Capability.LIKELIHOOD_BOUND})

    def missing_capability(self, model: GenerativeModel) -> str | None:
        if not self.requires_any & model.capabilities and not model.likelihood_estimators():
            return f"{model.name} defines no likelihood (neither exact nor a bound)"
        return None

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        if data.info.value_type is ValueType.CATEGORICAL and self.event(model, self.estimator(model, data.info)) \
                == "density":
            return f"{model.name} gives a density, which assigns no probability to categories"
        return None

    def estimator(self, model: GenerativeModel, info: DataInfo) -> LikelihoodEstimator:
        """The estimator this protocol measures ``model`` with, its settings in force: the one ``estimator`` names
        where the model offers it, else the model's default."""
        offered = model.likelihood_estimators()
        chosen = offered.get(self.config.estimator) if self.config.estimator else None
        chosen = chosen or model.likelihood_estimator()
        return chosen.with_settings(**self.config.protocol_settings(chosen, info))

    @staticmethod
    def event(model: GenerativeModel, estimator: LikelihoodEstimator) -> str:
        return estimator.event or model.likelihood_kind

    def how(self, model: GenerativeModel, info: DataInfo) -> tuple[str, dict[str, Any]]:
        """The estimator's label for people and, for the records' ``details``, how the figure is had
        (``genbench.records.LIKELIHOOD``: exact; a dequantized bound of an exact density; the model's own bound,
        its settings under ``bound``; the importance-weighted bound, K under ``k``; the probability-flow ODE) with
        the estimator's name and settings."""
        estimator = self.estimator(model, info)
        dequantized = info.is_discrete and self.event(model, estimator) == "density"
        kind = DEQUANTIZED_BOUND if dequantized and estimator.kind == EXACT else estimator.kind
        details: dict[str, Any] = {LIKELIHOOD: kind, "dequantized": dequantized, "estimator_name": estimator.name,
                                   "settings": estimator.facts}
        if kind == MODEL_BOUND:
            details["bound"] = estimator.facts
        if kind == IW_BOUND:
            details["k"] = estimator.settings["k"]
        if kind in (EXACT, DEQUANTIZED_BOUND) and estimator.name == "exact":
            label = "exact"
        elif estimator.name == "bound" and kind == MODEL_BOUND:  # a bound by the contract's log_likelihood_bound
            label = "bound(" + ", ".join(f"{k}={v}" for k, v in estimator.facts.items()) + ")"
        else:
            label = estimator.label.replace("iw-bound(k=", "iw-bound(K=")
        if dequantized:
            label = "bound+dequantized" if label == "exact" else f"{label}+dequantized"
        return label, details

    def estimate(self, model: GenerativeModel, x: torch.Tensor, info: DataInfo,
                 generator: torch.Generator) -> Estimate:
        """log-likelihoods of x (N,) under this protocol (``how`` says which), with the network evaluations per
        example (the batches' mean)."""
        estimator = self.estimator(model, info)
        dequantized = info.is_discrete and self.event(model, estimator) == "density"
        values, evaluations = [], []
        for batch in x.split(self.config.batch_size):
            batch = batch.to(model.device)
            info.check(batch)
            if dequantized:
                batch = info.dequantize(batch, generator)
            with torch.no_grad():
                result = estimator(batch, generator)
            values.append(result.values.double().cpu())
            evaluations.append(result.evaluations * len(batch))
        log_likelihood = torch.cat(values)
        if dequantized:
            log_likelihood = log_likelihood + info.dim * math.log(info.bin_width)
        return Estimate(log_likelihood, sum(evaluations) / len(x))

    def per_example(self, model: GenerativeModel, x: torch.Tensor, info: DataInfo,
                    generator: torch.Generator) -> torch.Tensor:
        """(N,) log-likelihoods of x under this protocol (``how`` says which)."""
        return self.estimate(model, x, info, generator).values

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        split = data.split(self.config.split)
        generator = context.generator(self.name)
        x = split.x[subset_rows(split, self.config.examples(data.info))]
        self.per_example(model, x[:2], data.info, context.generator("warm-up"))  # untimed warm-up
        synchronize(model.device)
        start = time.perf_counter()
        result = self.estimate(model, x, data.info, generator)
        synchronize(model.device)
        seconds = time.perf_counter() - start
        mean, stderr = mean_and_stderr(result.values)
        per_dim = -1.0 / (data.info.dim * LOG2)
        estimator, how = self.how(model, data.info)
        details = {"split": split.name, "kind": model.likelihood_kind, **how}
        if math.isfinite(result.evaluations):
            details["nfe"] = result.evaluations
        common = dict(n=len(x), estimator=estimator, details=details)
        return [
            Record("log_likelihood", mean, stderr, **common),
            Record("bits_per_dim", mean * per_dim, abs(stderr * per_dim), **common),
            Record("likelihood_examples_per_second", len(x) / seconds, n=len(x),
                   estimator=TIMED, details={**details, "estimator": estimator, "seconds": seconds}),
        ]
