"""The model contract: one interface for every generative model genbench measures.

Shapes: ``x`` is a batch (N, *info.shape) in the data's representation (see
``genbench.data.info``); ``z`` is (N, d) or, for importance sampling, (K, N, d).

A model declares what it can do in ``capabilities``; a metric declares what it needs. Calling
a method the model does not declare raises ``CapabilityError`` rather than returning a number.

**Likelihood estimators.** ``likelihood_estimators()`` names the ways the model gives log p(x)
(``genbench.estimators``), its default first; the log-likelihood metric measures with the default or the one a
user chooses (``log-likelihood:estimator=ode``) and records which, with its settings and its network evaluations
per example. By default the list follows the capabilities: ``"exact"`` from ``log_prob``, ``"iw-bound"`` (setting
``k``) from ``propose`` and ``log_joint``, ``"bound"`` from ``log_likelihood_bound`` (described by
``bound_settings``). A model with other estimators (a bound with settings, a likelihood by ODE) overrides it::

    def likelihood_estimators(self):
        return {"vlb": LikelihoodEstimator("vlb", MODEL_BOUND, self.vlb, settings={"terms": None}),
                "ode": LikelihoodEstimator("ode", ODE, self.ode, settings={"rtol": 1e-5}, event="density"),
                **super().likelihood_estimators()}

each ``compute(x, generator, **settings)`` returning an ``Estimate`` (values (N,) in nats, evaluations per
example) for x already checked and on the model's device.
"""

from __future__ import annotations

import abc
import itertools
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from genbench.checkpoint import load_checkpoint, save_checkpoint
from genbench.config import Config, NoOptions
from genbench.curves import TrainingMonitor
from genbench.data.info import DataInfo
from genbench.data.splits import as_examples, fingerprint
from genbench.errors import CapabilityError, InvalidSamples, UsageError
from genbench.estimators import Estimate, LikelihoodEstimator, importance_sampled_log_likelihood
from genbench.infra.rng import derive_seed
from genbench.records import EXACT, IW_BOUND, MODEL_BOUND

M = TypeVar("M", bound="GenerativeModel")


class Capability(str, Enum):
    SAMPLE = "sample"
    """``sample(n, generator)``: draws in the data's shape and value range."""
    EXACT_LIKELIHOOD = "exact-likelihood"
    """``log_prob(x)``: the exact log density (continuous) or log mass (discrete), per example."""
    IMPORTANCE_SAMPLER = "importance-sampler"
    """``propose(x, k)`` draws z ~ q(z|x) with log q; ``log_joint(x, z)`` gives log p(x, z)."""
    LIKELIHOOD_BOUND = "likelihood-bound"
    """``log_likelihood_bound(x, generator)``: a lower bound on log p(x) per example, of the model's own
    kind (a diffusion model's variational bound); ``bound_settings()`` says which (e.g. T)."""
    ENCODER = "encoder"
    """``encode(x)``: a point in latent space per example."""
    DECODER = "decoder"
    """``decode(z)``: an example (the decoder's mean) per latent point; ``sample_latent(n)``
    draws the z the model generates from (its prior, or the AE's fitted Gaussian)."""


class GenerativeModel(torch.nn.Module, abc.ABC):
    """Base class. Subclasses set the class attributes and implement ``_build`` and ``_fit``.

    Learned state ends in ``_`` (``info_``, ``history_``) or lives in registered buffers and
    parameters, so ``state_dict`` holds everything a checkpoint needs.
    """

    name: ClassVar[str]
    family: ClassVar[str] = ""
    """The family the comparison table groups this model under, such as "VAEs" or "flows" (the lecture's families
    and genbench's order: ``genbench.report.families``); empty for the user's own models ("other models")."""
    config_class: ClassVar[type[Config]] = NoOptions
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.SAMPLE})
    samples_only: ClassVar[bool] = False
    """True for a set of samples without the model behind them: only metrics computed from samples
    alone (``Metric.from_samples``) can measure it."""

    def __init__(self, config: Config | None = None, **options: Any):
        super().__init__()
        self.config = self.config_class.given(config, options, owner=f"model {self.name}")
        self.info_: DataInfo | None = None
        self.history_: list[dict[str, float]] = []
        self.training_: dict[str, Any] = {}
        """What training spent (budget, FLOPs, steps, epochs, examples, seconds), where genbench's loop trained it."""
        self.learning_curve_: list[dict[str, Any]] = []
        """The figures a monitor measured while it trained (``genbench.curves``), point by point."""
        self.trained_on_: dict[str, Any] = {}  # what fit saw: see training_data_description

    # ----------------------------------------------------------------------------- what it can do
    @classmethod
    def unsupported_reason(cls, info: DataInfo) -> str | None:
        """Why this model cannot represent ``info``'s data (None when it can)."""
        return None

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @property
    def likelihood_kind(self) -> str:
        """"mass" when log_prob / log_joint are log probabilities of discrete values, else "density"."""
        return "mass" if self._info.is_discrete else "density"

    @property
    def device(self) -> torch.device:
        tensor = next(itertools.chain(self.parameters(), self.buffers()), None)
        return tensor.device if tensor is not None else torch.device("cpu")

    @property
    def is_fitted(self) -> bool:
        return self.info_ is not None

    @property
    def _info(self) -> DataInfo:
        if self.info_ is None:
            raise UsageError(f"{self.name} is not fitted yet: call fit(data) first")
        return self.info_

    def resolved_latent_dim(self, info: DataInfo) -> int:
        """``config.latent_dim``, or the dataset's hint when the config leaves it open."""
        latent_dim = getattr(self.config, "latent_dim", None)
        return int(latent_dim) if latent_dim is not None else info.latent_dim_hint

    # ---------------------------------------------------------------------------------- training
    def fit(
        self: M,
        data: Any,
        val: Any = None,
        *,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        monitor: TrainingMonitor | None = None,
    ) -> M:
        """Fit to ``data`` (a Tensor (N, ...) or a torch Dataset); ``val`` drives early stopping. ``monitor`` is
        called at points of the training budget and at its end (``genbench.curves``; models trained by genbench's
        loop, ``baselines.training``)."""
        x, info = as_examples(data, "training data")
        reason = self.unsupported_reason(info)
        if reason:
            raise UsageError(f"{self.name} cannot model {info.name}: {reason}")
        x_val = None
        if val is not None:
            x_val, _ = as_examples(val, "validation data")
            info.check(x_val, "validation data")
        self.build(info, seed=derive_seed(generator))
        self.to(device)
        self.history_, self.training_, self.learning_curve_ = [], {}, []
        self.trained_on_ = training_data_description(x, info)
        self._redraw = getattr(data, "redraw", None)
        self._monitor = monitor
        try:
            self._fit(x.to(device), None if x_val is None else x_val.to(device), generator)
        finally:
            self._redraw = self._monitor = None
        self.eval()
        return self

    def before_curve_point(self, x: torch.Tensor) -> None:
        """What the model must do, mid-training, before its learning-curve point draws samples from it, given its
        training examples ``x``: nothing, unless sampling rests on something fitted after training (an
        autoencoder's Gaussian over its codes). It must not touch what training updates."""

    def epoch_examples(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The training examples for one epoch: a fresh draw where the split redraws (dynamic
        binarization), else ``x`` itself."""
        redraw = getattr(self, "_redraw", None)
        return x if redraw is None else redraw(generator).to(x.device)

    def build(self, info: DataInfo, seed: int = 0) -> None:
        """Create the model's networks and buffers for ``info``; weights initialised from ``seed``."""
        self.info_ = info
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._build(info)

    @abc.abstractmethod
    def _build(self, info: DataInfo) -> None:
        """Create networks and buffers sized for ``info`` (called before ``_fit`` and on load)."""

    @abc.abstractmethod
    def _fit(self, x: torch.Tensor, x_val: torch.Tensor | None, generator: torch.Generator | None) -> None:
        """Learn from ``x`` (already on the model's device)."""

    # -------------------------------------------------------------------------------- the contract
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws (n, *info.shape) in the data's value range, on the model's device."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise UsageError(f"the number of samples must be a positive integer, got {n!r}")
        self._require(Capability.SAMPLE)
        return self._sample(n, generator)

    @torch.no_grad()
    def draw(self, n: int, generator: torch.Generator | None, batch_size: int = 500) -> torch.Tensor:
        """n samples on the CPU, drawn by ``sample`` in batches of ``batch_size``: the samples that
        sample-based metrics compare with the data. ``InvalidSamples`` when they are not n examples of the
        data's shape, type and range (a metric that compared them would report a number, not the fault)."""
        x = torch.cat([self.sample(min(batch_size, n - start), generator).detach().cpu()
                       for start in range(0, n, batch_size)])
        try:
            self.info_.check(x, f"{self.name}'s samples")
        except UsageError as error:
            raise InvalidSamples(str(error)) from None
        problem = self.info_.value_problem(x) if len(x) == n else f"{len(x)} samples drawn, {n} asked for"
        if problem:
            raise InvalidSamples(f"{self.name}'s samples are unusable: {problem}")
        return x

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) exact log density or log mass of x, in nats, with no protocol applied."""
        self._require(Capability.EXACT_LIKELIHOOD)
        return self._log_prob(self._input(x))

    @torch.no_grad()
    def propose(
        self, x: torch.Tensor, k: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """z ~ q(z | x), (k, N, d), with log q(z | x), (k, N)."""
        self._require(Capability.IMPORTANCE_SAMPLER)
        return self._propose(self._input(x), k, generator)

    @torch.no_grad()
    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) = log p(z) + log p(x | z) for z (k, N, d): (k, N)."""
        self._require(Capability.IMPORTANCE_SAMPLER)
        return self._log_joint(self._input(x), z.to(self.device))

    @torch.no_grad()
    def log_likelihood_bound(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(N,) a lower bound on log p(x), in nats (on discrete data, on the log mass unless the model's
        ``likelihood_kind`` is a density), as ``bound_settings`` describes it."""
        self._require(Capability.LIKELIHOOD_BOUND)
        return self._log_likelihood_bound(self._input(x), generator)

    def bound_settings(self) -> dict[str, Any]:
        """What ``log_likelihood_bound`` computes, for the records: e.g. ``{"bound": "variational", "T": 1000}``."""
        return {}

    def likelihood_estimators(self) -> dict[str, LikelihoodEstimator]:
        """The estimators of log p(x) this model offers, by name, its default first (module docstring)."""
        found: dict[str, LikelihoodEstimator] = {}
        if self.has(Capability.EXACT_LIKELIHOOD):
            found["exact"] = LikelihoodEstimator("exact", EXACT, lambda x, generator: Estimate(self.log_prob(x), 1.0))
        if self.has(Capability.LIKELIHOOD_BOUND):
            found["bound"] = LikelihoodEstimator("bound", MODEL_BOUND, self.log_likelihood_bound,
                                                 description=self.bound_settings())
        if self.has(Capability.IMPORTANCE_SAMPLER):
            found["iw-bound"] = LikelihoodEstimator("iw-bound", IW_BOUND, self._importance_weighted,
                                                    settings={"k": 1000})
        return found

    def likelihood_estimator(self, name: str | None = None) -> LikelihoodEstimator:
        """The estimator called ``name`` (None: the default); ``UsageError`` naming those on offer when absent."""
        offered = self.likelihood_estimators()
        if not offered:
            raise CapabilityError(f"{self.name} defines no likelihood (neither exact nor a bound)")
        if name is None:
            return next(iter(offered.values()))
        if name not in offered:
            raise UsageError(f"{self.name} offers no likelihood estimator {name!r}; it offers {', '.join(offered)}")
        return offered[name]

    def _importance_weighted(self, x: torch.Tensor, generator: torch.Generator | None, k: int) -> Estimate:
        """L_K(x) (``genbench.estimators.importance_sampled_log_likelihood``): K decoder passes per example."""
        return Estimate(importance_sampled_log_likelihood(self, x, k, generator), float(k))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(N, d) latent codes."""
        self._require(Capability.ENCODER)
        return self._encode(self._input(x))

    @torch.no_grad()
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, d) latent points the model generates from (its prior, or its fitted code Gaussian)."""
        self._require(Capability.DECODER)
        return self._sample_latent(n, generator)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, *info.shape) decoded examples (the decoder's mean, in the data's value range)."""
        self._require(Capability.DECODER)
        return self._decode(z.to(self.device))

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        raise self._missing(Capability.SAMPLE, "_sample")

    def _log_prob(self, x: torch.Tensor) -> torch.Tensor:
        raise self._missing(Capability.EXACT_LIKELIHOOD, "_log_prob")

    def _propose(self, x: torch.Tensor, k: int, generator: torch.Generator | None):
        raise self._missing(Capability.IMPORTANCE_SAMPLER, "_propose")

    def _log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        raise self._missing(Capability.IMPORTANCE_SAMPLER, "_log_joint")

    def _log_likelihood_bound(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise self._missing(Capability.LIKELIHOOD_BOUND, "_log_likelihood_bound")

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        raise self._missing(Capability.ENCODER, "_encode")

    def _sample_latent(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        raise self._missing(Capability.DECODER, "_sample_latent")

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        raise self._missing(Capability.DECODER, "_decode")

    def _missing(self, capability: Capability, method: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} declares {capability.value} but does not implement {method}")

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise CapabilityError(f"{self.name} does not provide {capability.value}")
        self._info  # noqa: B018 - raises when not fitted

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        self._info.check(x)
        return x.to(self.device)

    # ------------------------------------------------------------------------------- checkpoints
    def save(self, path: str | Path) -> None:
        """Write ``path.pt`` (the state_dict) and ``path.json`` (config, data description, checksum)."""
        save_checkpoint(self, path)

    @classmethod
    def load(cls: type[M], path: str | Path, device: str | torch.device = "cpu") -> M:
        """The model saved at ``path`` by ``save``; ``CheckpointError`` when it is unusable."""
        return load_checkpoint(path, model_class=cls, device=device)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.to_dict().items())


class FixedModel(GenerativeModel):
    """A model with nothing to build or train: a fixed set of samples, the true distribution, a test double.
    Subclasses implement what they offer (``_sample``, ``_log_prob``, ...) and call ``self.build(info)``."""

    def _build(self, info: DataInfo) -> None:
        pass

    def _fit(self, x: torch.Tensor, x_val: torch.Tensor | None, generator: torch.Generator | None) -> None:
        pass


def training_data_description(x: torch.Tensor, info: DataInfo) -> dict[str, Any]:
    """The ``trained_on_`` of a model fitted to examples ``x`` of ``info``: a checkpoint carries it, so
    that a run refuses a model trained on other data (``train_fingerprint`` differs)."""
    return {"dataset": info.name, "train_fingerprint": fingerprint(info, [x]), "n_train": len(x)}
