"""Budgets counted in compute: a budget is training FLOPs, asked as a name (whose level follows the training set),
a number or a time; the training loop counts one optimiser step's FLOPs and plans that many steps. The counts are
checked against hand counts of small networks and against torch's counter on the real models' steps."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import genbench
from genbench.baselines import training
from genbench.baselines.training import TrainingConfig, counted_flops, plan_steps, train
from genbench.budget import LEVELS, REFERENCE_VALUES, named_flops, parse_budget, readable_flops
from genbench.errors import UsageError

TRAINED = ("ae", "vae", "beta-vae", "gan", "flow", "diffusion")


@pytest.mark.parametrize(("text", "field", "value"), [
    ("default", "name", "default"), ("Smoke", "name", "smoke"), ("paper", "name", "paper"),
    ("2e13", "flops", 2e13), ("20000000000000", "flops", 2e13), ("3.5E12", "flops", 3.5e12),
    ("10min", "seconds", 600.0), ("90s", "seconds", 90.0), ("1.5h", "seconds", 5400.0), ("2 minutes", "seconds", 120.0),
])
def test_a_budget_is_a_name_a_number_of_flops_or_a_time(text, field, value):
    assert getattr(parse_budget(text), field) == value


@pytest.mark.parametrize("text", ["", "fast", "-2e13", "0", "nan", "inf", "10 parsecs", "0min", "2e13flops", "1e-3"])
def test_a_malformed_budget_is_refused_in_one_line(text):
    with pytest.raises(UsageError) as error:
        parse_budget(text)
    assert "\n" not in str(error.value) and ("budget" in str(error.value))


def test_a_named_budget_grows_with_the_training_set_by_one_rule():
    """F(V) = F_name (V / 10⁵)^(2/5), V = examples × values: digits' 1 258 × 64 values 0.917 F, MNIST's 55 000 × 784
    11.3 F (12.35 times digits'), rings' 8 000 × 2 0.48 F; a number of FLOPs is the same on every dataset."""
    digits, mnist = named_flops("default", 1258 * 64), named_flops("default", 55_000 * 784)
    assert named_flops("default", REFERENCE_VALUES) == LEVELS["default"]
    assert digits == pytest.approx(LEVELS["default"] * (1258 * 64 / 1e5) ** 0.4)
    assert mnist / digits == pytest.approx((55_000 * 784 / (1258 * 64)) ** 0.4) == pytest.approx(12.35, abs=0.01)
    assert named_flops("paper", 55_000 * 784) == pytest.approx(100 * mnist)
    assert parse_budget("2e13").flops_for(10) == parse_budget("2e13").flops_for(10**9) == 2e13
    with pytest.raises(UsageError, match="converts it to FLOPs at the start"):
        parse_budget("10min").flops_for(1000)
    assert readable_flops(3.6e13) == "3.6·10¹³"


def test_a_model_takes_a_named_budget_or_flops_but_not_a_time():
    assert TrainingConfig(budget="2e13").budget == "2e13"
    with pytest.raises(UsageError, match="is a time on this machine"):
        TrainingConfig(budget="10min")


def test_steps_are_the_budget_over_one_steps_flops_in_full_batches():
    config = TrainingConfig(budget="1e9", batch_size=100)
    plan = plan_steps(config, n_train=1050, flops_per_step=3e6, values=64)
    assert (plan.steps, plan.per_epoch, plan.epochs, plan.batch_size) == (333, 10, 34, 100)
    assert plan.steps * plan.flops_per_step <= 1e9 < (plan.steps + 1) * plan.flops_per_step
    by_epochs = plan_steps(config.replace(epochs=7), n_train=1050, flops_per_step=3e6)
    assert (by_epochs.steps, by_epochs.budget, by_epochs.budget_flops) == (70, "epochs=7", None)
    small = plan_steps(config, n_train=30, flops_per_step=3e6)
    assert (small.batch_size, small.per_epoch) == (30, 1)  # a training set smaller than a batch is one batch
    named = plan_steps(config.replace(budget="default"), n_train=1050, flops_per_step=3e6, values=64)
    assert named.budget_flops == named_flops("default", 1050 * 64)


def linear_loss(module):
    return lambda batch, generator: (module(batch) - 1).pow(2).mean()


def test_the_flops_of_a_linear_layers_step_are_the_hand_count():
    """A linear layer y = xWᵀ + b on a batch of B: 2·B·in·out forward, 2·B·in·out for ∂W going back (the input
    needs no gradient); the loss's elementwise work counts nothing. B = 8, in = 3, out = 2: 96 + 96."""
    module = nn.Linear(3, 2)
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
    train(module, linear_loss(module), x, None, TrainingConfig(epochs=1, batch_size=8), None, "test")
    assert module.training_["flops_per_step"] == 2 * (2 * 8 * 3 * 2)
    assert module.training_["steps"] == 4 and module.training_["flops"] == 4 * 192


def test_the_flops_of_a_convolutions_step_are_the_hand_count():
    """Two layers, so that the second's input needs its gradient: a 3×3 convolution 1 → 4 channels on 8×8 with
    padding 1 (2·B·64·9·4 forward and as much for ∂W), then a linear layer 256 → 1 (2·B·256 forward, as much for
    ∂W and again for ∂input)."""
    module = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(256, 1))
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    train(module, linear_loss(module), x, None, TrainingConfig(epochs=1, batch_size=4), None, "test")
    b = 4
    conv, linear = 2 * b * 64 * 9 * 4, 2 * b * 256
    assert module.training_["flops_per_step"] == 2 * conv + 3 * linear


def one_step_flops(name: str, data) -> float:
    """The FLOPs of one training step of a fresh ``name`` counted here, by hand-written code beside the model's
    own loop: its loss forward and backward (the GAN: the discriminator's step, then the generator's)."""
    model = genbench.make_model(name, epochs=1)
    model.build(data.info, seed=0)
    batch = data.train.x[: model.config.batch_size]
    generator = torch.Generator().manual_seed(0)
    if name == "gan":
        def step():
            fake = model.generate(model._sample_latent(len(batch), generator), model.generator)
            model.discriminator_loss(batch, fake, generator).backward()
            model.generator_loss(fake).backward(inputs=list(model.generator.parameters()))
    else:
        def step():
            model.loss(batch, generator).backward()
    model.train()
    return counted_flops(step)[1]


@pytest.mark.parametrize("name", TRAINED)
def test_each_models_step_is_counted_once_with_torchs_flop_counter(name, digits):
    """The loop counts exactly one optimiser step: no validation pass, no moving average, nothing twice."""
    model = genbench.make_model(name, budget="smoke").fit(digits.train, digits.val,
                                                          generator=torch.Generator().manual_seed(0))
    assert model.training_["flops_per_step"] == one_step_flops(name, digits) > 0


@pytest.mark.parametrize("name", TRAINED)
def test_equal_budgets_give_equal_flops_within_one_steps_worth(name, digits):
    budget = 2e10
    model = genbench.make_model(name, budget=f"{budget:g}")
    model.fit(digits.train, None, generator=torch.Generator().manual_seed(0))  # no validation: no early stop
    spent = model.training_
    assert budget - spent["flops_per_step"] < spent["flops"] <= budget
    assert spent["examples"] == spent["steps"] * spent["batch_size"]
    assert spent["epochs"] == pytest.approx(spent["steps"] / (len(digits.train) // spent["batch_size"]), abs=1e-3)


@pytest.mark.parametrize("name", ["vae", "gan"])
def test_counting_the_first_step_changes_no_weight(name, digits, monkeypatch):
    """The counter moves a transposed convolution's last bits, so the loop counts a step it then undoes: the trained
    weights are those of a loop that counts nothing (the VAE's decoder and the GAN's generator have transposed
    convolutions)."""
    def fit():
        return genbench.make_model(name, epochs=2).fit(digits.train, digits.val,
                                                       generator=torch.Generator().manual_seed(0))

    counted = fit()
    monkeypatch.setattr(training, "counted_flops", lambda work: (work(), 1))
    uncounted = fit()
    assert counted.training_["flops_per_step"] > 1 and uncounted.training_["flops_per_step"] == 1
    for a, b in zip(counted.state_dict().values(), uncounted.state_dict().values()):
        assert torch.equal(a, b)


def test_a_warm_up_then_cosine_schedule_sets_each_steps_rate():
    from genbench.baselines.training import LearningRates

    module = nn.Linear(2, 1)
    optimizer = torch.optim.Adam(module.parameters(), lr=1.0)
    rates = LearningRates([optimizer], TrainingConfig(lr=1.0, warmup=10, lr_schedule="cosine", lr_floor=0.1))
    rates.steps = 200
    assert rates.factor(0, 0) == pytest.approx(0.1 * (0.1 + 0.9 * 0.5 * (1 + math.cos(0))))
    assert rates.factor(9, 0) == pytest.approx(1.0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 9 / 199))))
    assert rates.factor(199, 0) == pytest.approx(0.1)
    assert rates.factor(100, 2) == pytest.approx(0.25 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 100 / 199))))
    rates.set(199, 0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    short = LearningRates([optimizer], TrainingConfig(lr=1.0, warmup=1000))
    short.steps = 50  # a warm-up is at most a tenth of the planned steps
    assert short.factor(4, 0) == pytest.approx(1.0)
