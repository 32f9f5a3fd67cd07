"""genbench.testing.check_model: it passes a correct model and names the check each defect breaks."""

from __future__ import annotations

import pytest
import torch

from genbench.baselines.naive_bayes import NaiveBayes
from genbench.model import Capability
from genbench.testing import CHECKS, ContractError, check_model


class Toy(NaiveBayes):
    """Naive Bayes under another name: a correct model to break one way at a time."""

    name = "toy"


class IgnoresGenerator(Toy):
    name = "ignores-generator"

    def _sample(self, n, generator):
        return super()._sample(n, None)  # torch's global RNG


class FixedSeed(Toy):
    name = "fixed-seed"

    def _sample(self, n, generator):
        return super()._sample(n, torch.Generator().manual_seed(0))


class WrongShape(Toy):
    name = "wrong-shape"

    def _sample(self, n, generator):
        return super()._sample(n, generator).flatten(1)


class OffGrid(Toy):
    name = "off-grid"

    def _sample(self, n, generator):
        return super()._sample(n, generator) + 0.01


class DeclaresAnEncoderItLacks(Toy):
    name = "no-encoder"
    capabilities = Toy.capabilities | {Capability.ENCODER}


class AnswersUndeclared(Toy):
    name = "answers-undeclared"

    def decode(self, z):  # the public method, without the capability check
        return torch.zeros(len(z), *self._info.shape)


class ForgetsOnSave(Toy):
    """Keeps learned state in a plain attribute, which the state dict (the checkpoint) does not hold."""

    name = "forgets-on-save"

    def _fit(self, x, x_val, generator):
        super()._fit(x, x_val, generator)
        self.shift = 1.0

    def _log_prob(self, x):
        return super()._log_prob(x) - getattr(self, "shift", 0.0)


class MassAboveOne(Toy):
    name = "mass-above-one"

    def _log_prob(self, x):
        return super()._log_prob(x) + 200.0


class FitReturnsNothing(Toy):
    name = "fit-returns-nothing"

    def fit(self, *args, **kwargs):
        super().fit(*args, **kwargs)


class TakesAnyOption(Toy):
    name = "takes-any-option"

    def __init__(self, **options):
        super().__init__()


def test_a_correct_model_passes_every_check(digits):
    assert check_model(Toy, digits) == [check.__name__ for check in CHECKS]


@pytest.mark.parametrize("model_class, check, says", [
    (IgnoresGenerator, "check_sampling_is_deterministic", "global random state"),
    (FixedSeed, "check_sampling_is_deterministic", "generator is ignored"),
    (WrongShape, "check_samples", "shape (12, 64)"),
    (OffGrid, "check_samples", "not on the data's grid"),
    (DeclaresAnEncoderItLacks, "check_declared_capabilities", "declares encoder but does not implement _encode"),
    (AnswersUndeclared, "check_undeclared_capabilities_refuse", "decode returned a value"),
    (ForgetsOnSave, "check_save_and_load", "log_prob differs"),
    (MassAboveOne, "check_declared_capabilities", "exceeds 0"),
    (TakesAnyOption, "check_unknown_option_refused", "unknown option was accepted"),
])
def test_each_defect_fails_its_own_check(model_class, check, says, digits):
    with pytest.raises(ContractError) as caught:
        check_model(model_class, digits)
    first = next(iter(caught.value.failures))  # later checks may fail as a consequence (a reload differs)
    assert first == check, caught.value.failures
    assert says in caught.value.failures[check]
    assert model_class.__name__ in str(caught.value)


def test_a_model_that_does_not_fit_stops_the_checks(digits):
    with pytest.raises(ContractError) as caught:
        check_model(FitReturnsNothing, digits)
    assert list(caught.value.failures) == ["check_fit_returns_the_model"]
    assert "returned NoneType" in caught.value.failures["check_fit_returns_the_model"]


def test_not_a_model_class_is_refused_at_once(digits):
    with pytest.raises(ContractError, match="not a GenerativeModel subclass"):
        check_model(int, digits)  # type: ignore[arg-type]


def test_unsupported_data_must_be_refused_by_fit(rings):
    assert check_model(Toy, rings) == ["check_refuses_unsupported_data"]  # naive Bayes refuses continuous data
