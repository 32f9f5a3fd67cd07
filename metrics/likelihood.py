"""Test log-likelihood under one protocol for every model on a dataset.

Event space: discrete data (binary, discrete, categorical) are measured as probability mass, in
nats per example and bits per dimension; continuous data as density.

- A model with an exact likelihood gives ``log_prob(x)``.
- A latent-variable model gives the importance-weighted bound (Burda et al. 2016, eq. 8)

      log p(x) ≥ L_K(x) = E[log (1/K) Σ_k p(x, z_k) / q(z_k | x)],   z_k ~ q(z | x),

  which is the ELBO at K = 1, never decreases with K and tends to log p(x) as K → ∞.
- A continuous density on discrete data is measured through uniform dequantization (Theis et
  al. 2016, §3.1): with y = x + (u - ½) Δ, u ~ U[0, 1)^D and Δ the bin width,

      log P(x) = log ∫_bin p(y) dy ≥ E_u[log p(y)] + D log Δ,

  by Jensen's inequality, so the figure is a bound on the discrete probability, recorded so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from typing import Any

import torch

from genbench.config import Config, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.data.splits import Data, subset_rows
from genbench.defaults import size_factor
from genbench.devices import synchronize
from genbench.metric import EvalContext, Metric
from genbench.model import Capability, GenerativeModel
from genbench.outputs import HIGHER, LOWER, Output
from genbench.records import DEQUANTIZED_BOUND, EXACT, IW_BOUND, LIKELIHOOD, MODEL_BOUND, TIMED, Record

LOG2 = math.log(2)


def iw_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """log (1/K) Σ_k w_k from log w of shape (K, N): the importance-weighted estimate per example."""
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


MAX_ELEMENTS = 1 << 22
"""Data values (rows × dimensions) one chunk of importance samples decodes at once: 65 536 rows of
8×8 digits, 5 350 of 28×28 MNIST, about 200 MB of decoder activations, whatever the image size."""


def importance_sampled_log_likelihood(
    model: GenerativeModel, x: torch.Tensor, k: int, generator: torch.Generator | None,
    max_elements: int = MAX_ELEMENTS,
) -> torch.Tensor:
    """L_K(x) per example, (N,). The K samples are drawn in chunks of at most ``max_elements`` data values
    (k · N · D): memory stays bounded on large images (K = 1000 on a batch of 256 MNIST images at once
    would decode 256 000 images)."""
    max_rows = max(1, max_elements // max(1, x[0].numel()))
    chunk = max(1, min(k, max_rows // max(1, len(x))))
    log_weights = []
    for start in range(0, k, chunk):
        z, log_q = model.propose(x, min(chunk, k - start), generator)
        log_weights.append(model.log_joint(x, z).double() - log_q.double())
    return iw_bound(torch.cat(log_weights))


def mean_and_stderr(values: torch.Tensor) -> tuple[float, float]:
    """Mean and standard error (sample std with ddof 1, over √N) of a 1-D tensor."""
    values = values.double()
    n = values.numel()
    mean = values.mean().item()
    stderr = (values.std(unbiased=True) / math.sqrt(n)).item() if n > 1 else math.nan
    return mean, stderr


FULL_K, FULL_N = 1000, 2000
"""The importance samples K and test examples n of the protocol at 8×8 and below; larger examples get
``size_factor`` of each, as their training budgets do."""


@dataclasses.dataclass(frozen=True)
class LikelihoodOptions(Config):
    k: int | None = None
    """Importance samples per example for latent-variable models (K = 1 is the ELBO); default 1000 up to 64
    values per example, 1000 × size_factor above (188 on 28×28)."""
    terms: int | None = None
    """For a model whose bound sums many terms (the diffusion model's T), the unbiased estimate from this many
    terms at random t (the model's ``bound_terms``); default: every term up to 64 values per example, T ×
    size_factor above."""
    n: int | None = None
    """Test examples measured (a fixed random subset when the split holds more); default 2000 up to 64 values per
    example, 2000 × size_factor above (376 on 28×28)."""
    batch_size: int = 256
    split: str = "test"

    def validate(self) -> None:
        require_positive(k=self.k, batch_size=self.batch_size, terms=self.terms, n=self.n)

    def importance_samples(self, info: DataInfo) -> int:
        return self.k if self.k is not None else max(1, round(FULL_K * size_factor(info.dim)))

    def examples(self, info: DataInfo) -> int:
        return self.n if self.n is not None else max(1, round(FULL_N * size_factor(info.dim)))


class LogLikelihood(Metric):
    """Test log-likelihood: exact, importance-weighted bound or dequantized bound; nats and bits/dim."""

    name = "log-likelihood"
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
        if not self.requires_any & model.capabilities:
            return f"{model.name} defines no likelihood (neither exact nor a bound)"
        return None

    def unavailable_reason(self, model: GenerativeModel, data: Data) -> str | None:
        if data.info.value_type is ValueType.CATEGORICAL and model.likelihood_kind == "density":
            return f"{model.name} gives a density, which assigns no probability to categories"
        return None

    def how(self, model: GenerativeModel, info: DataInfo) -> tuple[str, dict[str, Any]]:
        """The estimator's label for people and, for the records' ``details``, how the figure is had
        (``genbench.records.LIKELIHOOD``) with its settings: exact; a dequantized bound of an exact density;
        the model's own bound; or the importance-weighted bound with K."""
        dequantized = info.is_discrete and model.likelihood_kind == "density"
        if model.has(Capability.EXACT_LIKELIHOOD):
            if dequantized:
                return "bound+dequantized", {LIKELIHOOD: DEQUANTIZED_BOUND, "dequantized": True}
            return "exact", {LIKELIHOOD: EXACT, "dequantized": False}
        if model.has(Capability.LIKELIHOOD_BOUND):
            with self.settings(model):
                settings = model.bound_settings()
            label = "bound(" + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")"
            kind = {LIKELIHOOD: MODEL_BOUND, "bound": settings, "dequantized": dequantized}
        else:
            k = self.config.importance_samples(info)
            label = f"iw-bound(K={k})"
            kind = {LIKELIHOOD: IW_BOUND, "k": k, "dequantized": dequantized}
        return (f"{label}+dequantized" if dequantized else label), kind

    def settings(self, model: GenerativeModel) -> contextlib.AbstractContextManager:
        """The model with this protocol's settings in force: ``terms``, where the model's bound takes them (its
        ``bound_terms``), by default T × size_factor random terms on examples of more than 64 values."""
        if not hasattr(model, "bound_terms"):
            return contextlib.nullcontext()
        terms = self.config.terms
        if terms is None:
            factor, steps = size_factor(model.info_.dim), model.bound_settings().get("T")
            if factor == 1 or steps is None:
                return contextlib.nullcontext()
            terms = max(1, round(steps * factor))
        return model.bound_terms(terms)

    def per_example(self, model: GenerativeModel, x: torch.Tensor, info: DataInfo,
                    generator: torch.Generator) -> torch.Tensor:
        """(N,) log-likelihoods of x under this protocol (``how`` says which)."""
        with self.settings(model):
            return self._per_example(model, x, info, generator)

    def _per_example(self, model: GenerativeModel, x: torch.Tensor, info: DataInfo,
                     generator: torch.Generator) -> torch.Tensor:
        dequantized = info.is_discrete and model.likelihood_kind == "density"
        values = []
        for batch in x.split(self.config.batch_size):
            batch = batch.to(model.device)
            if dequantized:
                batch = info.dequantize(batch, generator)
            if model.has(Capability.EXACT_LIKELIHOOD):
                values.append(model.log_prob(batch).double().cpu())
            elif model.has(Capability.LIKELIHOOD_BOUND):
                values.append(model.log_likelihood_bound(batch, generator).double().cpu())
            else:
                k = self.config.importance_samples(info)
                values.append(importance_sampled_log_likelihood(model, batch, k, generator).cpu())
        log_likelihood = torch.cat(values)
        if dequantized:
            log_likelihood = log_likelihood + info.dim * math.log(info.bin_width)
        return log_likelihood

    def compute(self, model: GenerativeModel, data: Data, context: EvalContext) -> list[Record]:
        split = data.split(self.config.split)
        generator = context.generator(self.name)
        x = split.x[subset_rows(split, self.config.examples(data.info))]
        self.per_example(model, x[:2], data.info, context.generator("warm-up"))  # untimed warm-up
        synchronize(model.device)
        start = time.perf_counter()
        log_likelihood = self.per_example(model, x, data.info, generator)
        synchronize(model.device)
        seconds = time.perf_counter() - start
        mean, stderr = mean_and_stderr(log_likelihood)
        per_dim = -1.0 / (data.info.dim * LOG2)
        estimator, how = self.how(model, data.info)
        details = {"split": split.name, "kind": model.likelihood_kind, **how}
        common = dict(n=len(x), estimator=estimator, details=details)
        return [
            Record("log_likelihood", mean, stderr, **common),
            Record("bits_per_dim", mean * per_dim, abs(stderr * per_dim), **common),
            Record("likelihood_examples_per_second", len(x) / seconds, n=len(x),
                   estimator=TIMED, details={**details, "estimator": estimator, "seconds": seconds}),
        ]
