"""The model contract, checked: ``check_model(MyModel, dataset="digits")``.

In the spirit of scikit-learn's ``check_estimator``: the checks a third party runs on its own
class are the ones genbench runs over its own registry (``tests/test_contract.py``). Each check
is a small function; ``check_model`` runs them all and raises ``ContractError`` listing every
check that failed, or returns the names of those that passed.

What is checked, on the dataset's splits:

- the class: a concrete ``GenerativeModel`` with a ``name``, its options built from defaults, an
  unknown option refused with ``UsageError``;
- ``fit`` returns the model itself, and a model used before ``fit`` says so (``UsageError``);
- ``sample(n, generator)``: shape (n, *info.shape), the data's dtype and value set (on the grid
  for binary and discrete data, finite for continuous), on the model's device;
- determinism: the same generator gives the same samples, sampling draws from the generator and
  leaves the global RNG alone, and the same fitting seed gives the same model;
- every declared capability works (shapes, finite values, a log mass ≤ 0 on discrete data,
  decoded means in the data's range, one latent size for ``encode`` and ``sample_latent``), and
  every undeclared one raises ``CapabilityError``;
- ``save`` then ``load`` (the class's and ``genbench.load_model``) give identical outputs;
- inputs of the wrong shape are refused with ``UsageError``.
"""

from __future__ import annotations

import dataclasses
import inspect
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import genbench
from genbench.budget import SMOKE, trains_by_budget
from genbench.data.info import ValueType
from genbench.data.splits import Data
from genbench.errors import CapabilityError, GenbenchError, UsageError
from genbench.model import Capability, GenerativeModel

N_SAMPLES = 12
N_EXAMPLES = 8
FIT_SEED, SAMPLE_SEED, OTHER_SEED = 0, 5, 6


class ContractError(AssertionError):
    """One or more contract checks failed; ``failures`` maps each check's name to what went wrong."""

    def __init__(self, model: str, failures: dict[str, str]):
        self.failures = failures
        lines = "\n".join(f"  - {name}: {reason}" for name, reason in failures.items())
        super().__init__(f"{model} breaks the genbench model contract in {len(failures)} check(s):\n{lines}")


@dataclasses.dataclass
class Subject:
    """What the checks share: the class, its options, the data, and the model fitted once."""

    model_class: type[GenerativeModel]
    options: dict[str, Any]
    data: Data
    device: torch.device
    folder: Path
    _fitted: GenerativeModel | None = None

    def make(self) -> GenerativeModel:
        return self.model_class(**self.options)

    def fit(self, seed: int = FIT_SEED) -> GenerativeModel:
        return self.make().fit(self.data.train, self.data.val, generator=torch.Generator().manual_seed(seed),
                               device=self.device)

    @property
    def fitted(self) -> GenerativeModel:
        if self._fitted is None:
            self._fitted = self.fit()
        return self._fitted

    @property
    def x(self) -> torch.Tensor:
        return self.data.test.x[:N_EXAMPLES]


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# ------------------------------------------------------------------------------------------ checks
def check_class(s: Subject) -> None:
    cls = s.model_class
    require(isinstance(cls, type) and issubclass(cls, GenerativeModel), f"{cls!r} is not a GenerativeModel subclass")
    require(not inspect.isabstract(cls), f"{cls.__name__} is abstract: implement "
            f"{', '.join(sorted(getattr(cls, '__abstractmethods__', ())))}")
    require(isinstance(getattr(cls, "name", None), str) and cls.name != "", "set the class attribute name = '...'")
    require(Capability.SAMPLE in cls.capabilities, "every model must declare Capability.SAMPLE")


def check_unknown_option_refused(s: Subject) -> None:
    try:
        s.model_class(**s.options, not_an_option=1)
    except UsageError:
        return
    raise AssertionError("an unknown option was accepted; build the config with Config.from_options "
                         "(GenerativeModel.__init__ does), which refuses unknown names")


def check_unfitted_refused(s: Subject) -> None:
    try:
        s.make().sample(2, generator(SAMPLE_SEED))
    except UsageError:
        return
    except Exception as error:  # noqa: BLE001 - any other failure is the finding
        raise AssertionError(f"sample before fit raised {type(error).__name__}, not UsageError") from None
    raise AssertionError("sample before fit returned samples; it must raise UsageError (not fitted yet)")


def check_fit_returns_the_model(s: Subject) -> None:
    model = s.make()
    returned = model.fit(s.data.train, s.data.val, generator=generator(FIT_SEED), device=s.device)
    require(returned is model, f"fit returned {type(returned).__name__}, not the model itself")
    require(model.is_fitted, "after fit, is_fitted is False")
    require(not model.training, "after fit the model is still in training mode (call eval())")


def check_samples(s: Subject) -> None:
    model, info = s.fitted, s.data.info
    x = model.sample(N_SAMPLES, generator(SAMPLE_SEED))
    require(isinstance(x, torch.Tensor), f"sample returned {type(x).__name__}, not a tensor")
    require(tuple(x.shape) == (N_SAMPLES, *info.shape), f"sample({N_SAMPLES}) has shape {tuple(x.shape)}, "
            f"expected {(N_SAMPLES, *info.shape)}")
    require(x.device == model.device, f"samples are on {x.device}, the model on {model.device}")
    require_in_value_set(x, info, "samples")


def require_in_value_set(x: torch.Tensor, info, what: str) -> None:
    if info.value_type is ValueType.CATEGORICAL:
        require(x.dtype == torch.long, f"{what} of categorical data must be int64 category indices, got {x.dtype}")
        sizes = torch.tensor(info.n_categories, device=x.device)
        require(bool(((x >= 0) & (x < sizes)).all()), f"{what} hold category indices outside 0 … C_d - 1")
        return
    require(x.is_floating_point(), f"{what} must be floats for {info.value_type.value} data, got {x.dtype}")
    require(bool(torch.isfinite(x).all()), f"{what} hold NaN or infinite values")
    if info.value_type in (ValueType.BINARY, ValueType.DISCRETE):
        require(torch.equal(info.quantize(x), x), f"{what} are not on the data's grid (values k/{info.levels - 1} "
                f"in [0, 1]); map outputs with info.quantize" if info.levels else
                f"{what} are not binary (0 or 1); map outputs with info.quantize")


def check_sampling_is_deterministic(s: Subject) -> None:
    model = s.fitted
    state = torch.get_rng_state()
    first = model.sample(N_SAMPLES, generator(SAMPLE_SEED))
    require(torch.equal(torch.get_rng_state(), state), "sample(n, generator) changed torch's global random "
            "state: draw every random number from the generator")
    again = model.sample(N_SAMPLES, generator(SAMPLE_SEED))
    require(torch.equal(first, again), "the same generator gave different samples")
    drawn_from = generator(OTHER_SEED)
    unused = drawn_from.get_state()
    model.sample(N_SAMPLES, drawn_from)
    require(not torch.equal(drawn_from.get_state(), unused), "sample(n, generator) drew nothing from the generator: "
            "the generator is ignored")


def check_fitting_is_deterministic(s: Subject) -> None:
    twin = s.fit()
    expected = s.fitted.sample(N_SAMPLES, generator(SAMPLE_SEED))
    require(torch.equal(twin.sample(N_SAMPLES, generator(SAMPLE_SEED)), expected),
            "two fits with the same generator seed gave different models (different samples)")


def check_declared_capabilities(s: Subject) -> None:
    model, info, x = s.fitted, s.data.info, s.x
    if model.has(Capability.EXACT_LIKELIHOOD):
        log_p = model.log_prob(x)
        require(tuple(log_p.shape) == (len(x),), f"log_prob gave shape {tuple(log_p.shape)}, expected ({len(x)},)")
        require(bool(torch.isfinite(log_p).all()), "log_prob of test examples is not finite")
        if model.likelihood_kind == "mass":
            require(bool((log_p <= 1e-6).all()), f"log_prob is a log probability mass on {info.value_type.value} "
                    f"data but exceeds 0 (max {log_p.max().item():.3g}); a density must say likelihood_kind "
                    "= 'density'")
    if model.has(Capability.LIKELIHOOD_BOUND):
        bound = model.log_likelihood_bound(x, generator(SAMPLE_SEED))
        require(tuple(bound.shape) == (len(x),), f"log_likelihood_bound gave shape {tuple(bound.shape)}, "
                f"expected ({len(x)},)")
        require(bool(torch.isfinite(bound).all()), "log_likelihood_bound of test examples is not finite")
        if model.likelihood_kind == "mass":
            require(bool((bound <= 1e-6).all()), "log_likelihood_bound bounds a log probability mass on "
                    f"{info.value_type.value} data but exceeds 0 (max {bound.max().item():.3g})")
    estimators = model.likelihood_estimators()
    for name, estimator in estimators.items():
        require(estimator.name == name, f"likelihood_estimators() lists {estimator.name!r} under {name!r}")
    if estimators:  # the default one, as the likelihood metric calls it (the others may cost minutes)
        default = model.likelihood_estimator()
        with torch.no_grad():
            cheap = {key: value for key, value in CHEAP_ESTIMATES.items() if key in default.settings}
            estimate = default.with_settings(**cheap)(x.to(model.device), generator(SAMPLE_SEED))
        require(tuple(estimate.values.shape) == (len(x),), f"the {default.name!r} estimator gave shape "
                f"{tuple(estimate.values.shape)}, expected ({len(x)},)")
        require(bool(torch.isfinite(estimate.values).all()), f"the {default.name!r} estimator gave non-finite values")
    if model.has(Capability.IMPORTANCE_SAMPLER):
        z, log_q = model.propose(x, 3, generator(SAMPLE_SEED))
        require(tuple(z.shape[:2]) == (3, len(x)), f"propose(x, 3) gave z of shape {tuple(z.shape)}, expected "
                f"(3, {len(x)}, d)")
        require(tuple(log_q.shape) == (3, len(x)), f"propose gave log q of shape {tuple(log_q.shape)}")
        log_joint = model.log_joint(x, z)
        require(tuple(log_joint.shape) == (3, len(x)), f"log_joint gave shape {tuple(log_joint.shape)}")
        require(bool(torch.isfinite(log_q).all() and torch.isfinite(log_joint).all()),
                "propose or log_joint gave non-finite values")
    latent_sizes = set()
    if model.has(Capability.ENCODER):
        codes = model.encode(x)
        require(codes.ndim == 2 and len(codes) == len(x), f"encode gave shape {tuple(codes.shape)}, expected "
                f"({len(x)}, d)")
        require(bool(torch.isfinite(codes).all()), "encode gave non-finite codes")
        latent_sizes.add(codes.shape[1])
    if model.has(Capability.DECODER):
        z = model.sample_latent(N_EXAMPLES, generator(SAMPLE_SEED))
        require(z.ndim == 2 and len(z) == N_EXAMPLES, f"sample_latent({N_EXAMPLES}) gave shape {tuple(z.shape)}")
        latent_sizes.add(z.shape[1])
        decoded = model.decode(z)
        require(tuple(decoded.shape) == (N_EXAMPLES, *info.shape), f"decode gave shape {tuple(decoded.shape)}, "
                f"expected {(N_EXAMPLES, *info.shape)}")
        require(bool(torch.isfinite(decoded.float()).all()), "decode gave non-finite values")
        if info.value_type in (ValueType.BINARY, ValueType.DISCRETE):
            require(bool(((decoded >= 0) & (decoded <= 1)).all()), "decoded means must lie in the data's range [0, 1]")
    require(len(latent_sizes) <= 1, f"encode and sample_latent give latent points of different sizes {latent_sizes}")


UNDECLARED_CALLS: dict[Capability, tuple[str, Callable[[GenerativeModel, torch.Tensor], object]]] = {
    Capability.EXACT_LIKELIHOOD: ("log_prob", lambda m, x: m.log_prob(x)),
    Capability.IMPORTANCE_SAMPLER: ("propose", lambda m, x: m.propose(x, 2)),
    Capability.LIKELIHOOD_BOUND: ("log_likelihood_bound", lambda m, x: m.log_likelihood_bound(x)),
    Capability.ENCODER: ("encode", lambda m, x: m.encode(x)),
    Capability.DECODER: ("decode", lambda m, x: m.decode(torch.zeros(len(x), 2))),
}


def check_undeclared_capabilities_refuse(s: Subject) -> None:
    model = s.fitted
    for capability, (method, call) in UNDECLARED_CALLS.items():
        if model.has(capability):
            continue
        try:
            call(model, s.x)
        except CapabilityError:
            continue
        except Exception as error:  # noqa: BLE001 - any other outcome is the finding
            raise AssertionError(f"{method} is not declared ({capability.value}) but raised {type(error).__name__} "
                                 "instead of CapabilityError") from None
        raise AssertionError(f"{method} returned a value although {capability.value} is not declared; declare it in "
                             "capabilities, or leave the method to the base class")


def check_save_and_load(s: Subject) -> None:
    model = s.fitted
    stem = s.folder / "model"
    model.save(stem)
    for how, loaded in (("Model.load", s.model_class.load(stem, device=s.device)),
                        ("genbench.load_model", genbench.load_model(stem, device=str(s.device)))):
        require(type(loaded) is type(model), f"{how} gave a {type(loaded).__name__}, not a {type(model).__name__}")
        require(loaded.config == model.config and loaded.info_ == model.info_, f"{how} lost the config or data info")
        for what, call in outputs(model, s.x).items():
            require(torch.equal(call(loaded), call(model)), f"after {how}, {what} differs from the saved model's: "
                    "keep all learned state in parameters or registered buffers")


def outputs(model: GenerativeModel, x: torch.Tensor) -> dict[str, Callable[[GenerativeModel], torch.Tensor]]:
    calls: dict[str, Callable[[GenerativeModel], torch.Tensor]] = {
        "sample": lambda m: m.sample(N_SAMPLES, generator(SAMPLE_SEED))}
    if model.has(Capability.EXACT_LIKELIHOOD):
        calls["log_prob"] = lambda m: m.log_prob(x)
    if model.has(Capability.ENCODER):
        calls["encode"] = lambda m: m.encode(x)
    if model.has(Capability.DECODER):
        calls["decode"] = lambda m: m.decode(m.sample_latent(N_EXAMPLES, generator(SAMPLE_SEED)))
    return calls


def check_bad_inputs_refused(s: Subject) -> None:
    model = s.fitted
    for n in (0, -1, 2.5):
        try:
            model.sample(n)  # type: ignore[arg-type]
        except UsageError:
            continue
        raise AssertionError(f"sample({n!r}) did not raise UsageError")
    wrong = torch.zeros(2, *(d + 1 for d in s.data.info.shape))
    for capability, method in ((Capability.EXACT_LIKELIHOOD, "log_prob"), (Capability.ENCODER, "encode")):
        if model.has(capability):
            try:
                getattr(model, method)(wrong)
            except UsageError:
                continue
            raise AssertionError(f"{method} of examples of the wrong shape did not raise UsageError")


CHECKS: tuple[Callable[[Subject], None], ...] = (
    check_class,
    check_unknown_option_refused,
    check_unfitted_refused,
    check_fit_returns_the_model,
    check_samples,
    check_sampling_is_deterministic,
    check_fitting_is_deterministic,
    check_declared_capabilities,
    check_undeclared_capabilities_refuse,
    check_save_and_load,
    check_bad_inputs_refused,
)
"""Every check, in order; the first one that fails stops none of the others (``check_class`` aside)."""


CHEAP_ESTIMATES = {"k": 3, "terms": 8}
"""Settings that make an estimator's check cheap where it has them: 3 importance samples, 8 random terms of a
many-term bound (the shape and finiteness of its figures are checked, not their accuracy)."""


def check_model(model_class: type[GenerativeModel], dataset: str | Data = "digits", *,
                options: dict[str, Any] | None = None, device: str | torch.device = "cpu") -> list[str]:
    """Run every contract check on ``model_class`` fitted to ``dataset`` (a registered name, a path, or
    a loaded ``Data``); return the names of the checks (all passed) or raise ``ContractError``.

    ``options`` are the model's keyword options; a model with a training ``budget`` option is checked
    at ``budget="smoke"`` unless they say otherwise. A model that declares it cannot represent the
    dataset (``unsupported_reason``) must refuse ``fit`` with ``UsageError``, and nothing else is checked.
    """
    data = dataset if isinstance(dataset, Data) else genbench.load_dataset(dataset)
    options = dict(options or {})
    fields = model_class.config_class.field_names() if hasattr(model_class, "config_class") else []
    if trains_by_budget(fields):
        options.setdefault("budget", SMOKE)
    label = getattr(model_class, "__name__", repr(model_class))
    try:
        check_class(Subject(model_class, options, data, torch.device(device), Path(".")))
    except AssertionError as error:
        raise ContractError(label, {"check_class": str(error)}) from None
    if model_class.unsupported_reason(data.info):
        return [check_refuses_unsupported_data(model_class, options, data)]
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="genbench-check-") as folder:
        subject = Subject(model_class, options, data, torch.device(device), Path(folder))
        for check in CHECKS[1:]:
            try:
                check(subject)
            except AssertionError as error:
                failures[check.__name__] = str(error)
            except (GenbenchError, RuntimeError, ValueError, TypeError, NotImplementedError) as error:
                failures[check.__name__] = f"raised {type(error).__name__}: {error}"
            if check is check_fit_returns_the_model and check.__name__ in failures:
                break  # nothing else can run on a model that does not fit
    if failures:
        raise ContractError(label, failures)
    return [check.__name__ for check in CHECKS]


def check_refuses_unsupported_data(model_class: type[GenerativeModel], options: dict[str, Any], data: Data) -> str:
    try:
        model_class(**options).fit(data.train, generator=generator(FIT_SEED))
    except UsageError:
        return "check_refuses_unsupported_data"
    raise ContractError(model_class.__name__, {"check_refuses_unsupported_data": (
        f"unsupported_reason says it cannot model {data.name}, but fit did not raise UsageError")})

