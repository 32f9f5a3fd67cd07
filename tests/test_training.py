"""The shared training loop survives a bad step: a NaN loss or a non-finite gradient sends it back to the last good
epoch at half the learning rate, a stated number of times, each time written into the history and the log."""

from __future__ import annotations

import logging
import re

import pytest
import torch
from torch import nn

import genbench
from genbench.baselines.training import LR_DROP, BadStep, Recovery, TrainingConfig, train
from genbench.errors import TrainingFailed
from genbench.service.runner import describe_cell


class Faults:
    """A loss on a linear model that misbehaves at chosen training steps (counted from 0): ``nan_at`` gives a NaN
    loss, ``inf_grad_at`` a finite loss whose gradient is infinite (the exploding gradient). The loop's first call
    counts the step's FLOPs on a step it then undoes: it is not a step, and is not counted."""

    def __init__(self, nan_at=(), inf_grad_at=()):
        self.module = nn.Linear(3, 1)
        self.calls = -1
        self.nan_at, self.inf_grad_at = set(nan_at), set(inf_grad_at)
        self.lrs: list[float] = []

    def __call__(self, batch: torch.Tensor, generator) -> torch.Tensor:
        call, self.calls = self.calls, self.calls + 1
        loss = (self.module(batch) - 1).pow(2).mean()
        if not self.module.training:  # validation passes are not counted as steps
            self.calls -= 1
            return loss
        if call in self.nan_at:
            return loss * float("nan")
        if call in self.inf_grad_at:
            return Explode.apply(loss)
        return loss


class Explode(torch.autograd.Function):
    """The identity going forward; going back, the gradient times ``FACTOR`` (infinite, or merely huge)."""

    FACTOR = float("inf")

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * Explode.FACTOR


def fit(faults: Faults, epochs: int = 3, **options):
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
    config = TrainingConfig(epochs=epochs, batch_size=8, **options)
    return train(faults.module, faults, x, x[:8], config, torch.Generator().manual_seed(0), "train test")


def test_a_nan_loss_goes_back_to_the_last_good_epoch_at_half_the_rate(caplog):
    faults = Faults(nan_at={6})  # epoch 1's third step (4 steps an epoch)
    with caplog.at_level(logging.WARNING, logger="genbench"):
        history = fit(faults)
    assert [e["epoch"] for e in history] == [0, 1, 2]
    assert "recovery" not in history[0] and "recovery" not in history[2]
    note = history[1]["recovery"]
    assert history[1]["recoveries"] == 1
    assert "training loss became nan in epoch 1" in note and "went back to the weights of epoch 0" in note
    assert f"1e-03 → {1e-3 * LR_DROP:.3g}" in note.replace("0.001", "1e-03")
    assert all(torch.isfinite(torch.tensor(e["train_loss"])) for e in history)
    assert faults.calls == 3 * 4 + 3  # epoch 1 ran again from its start: the three steps before the bad one redone
    assert any("recovery 1 of 3" in r.getMessage() for r in caplog.records)


def test_an_exploding_gradient_is_a_bad_step_and_the_weights_stay_finite():
    faults = Faults(inf_grad_at={1})
    history = fit(faults, epochs=2)
    assert re.search(r"the gradient of the training loss became (inf|nan) in epoch 0", history[0]["recovery"])
    assert "went back to the initial weights" in history[0]["recovery"]
    assert all(torch.isfinite(p).all() for p in faults.module.parameters())


def test_a_finite_gradient_a_million_times_its_recent_median_is_a_bad_step(monkeypatch):
    monkeypatch.setattr(Explode, "FACTOR", 1e6)
    faults = Faults(inf_grad_at={14})  # epoch 3: twelve ordinary steps before it
    history = fit(faults, epochs=4)
    note = history[3]["recovery"]
    assert "the gradient of the training loss exploded to" in note and "times the median of the last 14 steps" in note
    assert "went back to the weights of epoch 2" in note


def test_the_learning_rate_halves_at_each_recovery_and_the_training_fails_past_the_limit():
    faults = Faults(nan_at={1, 2, 3})  # three bad steps in a row, each at the second step of the redone epoch 0
    history = fit(faults, epochs=1)
    assert history[0]["recoveries"] == 3 and "learning rate 0.00025 → 0.000125" in history[0]["recovery"]
    with pytest.raises(TrainingFailed, match="became nan in epoch 0 after 2 recoveries, the most allowed"):
        fit(Faults(nan_at={1, 2, 3}), epochs=1, max_recoveries=2)
    with pytest.raises(TrainingFailed, match=r"became nan in epoch 0$"):
        fit(Faults(nan_at={1}), epochs=1, max_recoveries=0)


def adam_steps(module: nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        optimizer.zero_grad()
        module(torch.randn(8, 3, generator=generator)).pow(2).mean().backward()
        optimizer.step()


def snapshot(module: nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Every weight and every Adam moment and step count, copied."""
    moments = [t for state in optimizer.state.values() for t in state.values()]
    return [t.detach().clone() for t in (*module.state_dict().values(), *moments)]


def test_every_recovery_goes_back_to_the_state_of_the_last_good_epoch_whatever_ran_since():
    """The saved state is copied into the same tensors epoch after epoch, and the steps after a recovery must not
    change it: a second bad step in the redone epoch goes back to the same state as the first did."""
    module = nn.Linear(3, 1)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    adam_steps(module, optimizer, 3, seed=0)
    recovery = Recovery(module, [optimizer], limit=3, desc="test")
    adam_steps(module, optimizer, 2, seed=1)
    recovery.save(epoch=0)
    good = snapshot(module, optimizer)
    for attempt in range(3):
        adam_steps(module, optimizer, 2, seed=2 + attempt)
        assert not all(torch.equal(a, b) for a, b in zip(snapshot(module, optimizer), good))
        recovery.recover(BadStep("a bad step"))
        assert all(torch.equal(a, b) for a, b in zip(snapshot(module, optimizer), good)), f"recovery {attempt + 1}"
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-2 * LR_DROP**3)

def test_the_gan_survives_a_bad_step(digits, monkeypatch):
    from genbench.baselines.gan import GAN

    calls = {"n": 0}
    original = GAN.generator_loss

    def once_nan(self, fake):
        calls["n"] += 1
        loss = original(self, fake)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(GAN, "generator_loss", once_nan)
    model = genbench.make_model("gan", epochs=2, hidden=(32,), width=8).fit(digits.train)
    assert "generator loss became nan in epoch 0" in model.history_[0]["recovery"]
    assert torch.isfinite(model.sample(4)).all()


def test_the_cell_log_line_says_that_training_recovered():
    line = describe_cell("flow", 0, [], {"fit_seconds": 10.0, "evaluate_seconds": 2.0, "recoveries": 2})
    assert line == "flow seed 0: done in 12.0 s (training recovered from 2 bad steps: see its history and run.log)"
