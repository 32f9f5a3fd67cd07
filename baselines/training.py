"""The training loop neural baselines share: minibatches, budgets, early stopping, divergence checks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping

import torch
from torch import nn

from genbench.config import Config, require, require_positive
from genbench.defaults import BUDGETS
from genbench.errors import TrainingFailed
from genbench.progress import progress
from genbench.rng import child_generator, derive_seed, make_generator


@dataclasses.dataclass(frozen=True)
class TrainingConfig(Config):
    """Options every trained model shares.

    ``budget`` sets the number of optimiser steps (see each model's ``steps_by_budget``);
    ``epochs`` overrides it. ``amp`` trains under bfloat16 autocast (mixed precision).
    """

    budget: str = "default"
    epochs: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    amp: bool = False

    def validate(self) -> None:
        require(self.budget in BUDGETS, f"budget must be one of {', '.join(BUDGETS)}, got {self.budget!r}")
        require_positive(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr)


@dataclasses.dataclass(frozen=True)
class EarlyStoppingConfig(TrainingConfig):
    """``patience``: epochs without a better validation loss before training stops (0: never
    stop early); the weights of the best epoch are kept."""

    patience: int = 20

    def validate(self) -> None:
        super().validate()
        require(self.patience >= 0, f"patience must be 0 or more, got {self.patience}")


def autocast(config: TrainingConfig, device: torch.device) -> torch.autocast:
    """bfloat16 autocast when ``config.amp`` (no loss scaling needed with bfloat16)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=config.amp)


def epochs_for(config: TrainingConfig, steps_by_budget: Mapping[str, int], n_train: int) -> int:
    """``config.epochs``, or enough epochs to make the budget's number of optimiser steps."""
    if config.epochs is not None:
        return config.epochs
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    return max(1, math.ceil(steps_by_budget[config.budget] / steps_per_epoch))


def steps_cap(config: TrainingConfig, steps_by_budget: Mapping[str, int], n_train: int) -> int | None:
    """The budget's steps when they are fewer than one epoch's (the smoke budget's 40 on MNIST's 430 per
    epoch), else None: a budget in whole epochs stays whole."""
    if config.epochs is not None:
        return None
    steps = steps_by_budget[config.budget]
    return steps if steps < math.ceil(n_train / config.batch_size) else None


def minibatches(n: int, batch_size: int, generator: torch.Generator, limit: int | None = None,
                ) -> Iterator[torch.Tensor]:
    """Indices of a shuffled pass over range(n), in batches (the last may be smaller), at most ``limit``."""
    yield from torch.randperm(n, generator=generator).split(batch_size)[:limit]


DIVERGED = 1e10
"""A loss beyond this size counts as divergence."""


def check_finite(loss: torch.Tensor, what: str, epoch: int) -> None:
    """Raise ``TrainingFailed`` when ``loss`` is NaN, infinite or has diverged past ``DIVERGED``."""
    value = loss.detach().float().mean().item()
    if not math.isfinite(value):
        raise TrainingFailed(f"{what} became {value} in epoch {epoch}")
    if abs(value) > DIVERGED:
        raise TrainingFailed(f"{what} diverged to {value:.3g} in epoch {epoch}")


class EarlyStopping:
    """Keeps the weights of the best validation loss; says when ``patience`` epochs passed without one."""

    def __init__(self, module: nn.Module, patience: int):
        self.module, self.patience = module, patience
        self.best = math.inf
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None

    def update(self, val_loss: float, epoch: int) -> bool:
        """Record this epoch; True when training should stop."""
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, epoch
            self.best_state = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        return self.patience > 0 and epoch - self.best_epoch >= self.patience

    def restore(self) -> None:
        if self.best_state is not None:
            self.module.load_state_dict(self.best_state)


LossFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@torch.no_grad()
def mean_loss(loss_fn: LossFn, x: torch.Tensor, batch_size: int, seed: int) -> float:
    """Loss over all of ``x`` with noise from a fixed seed, so epochs compare like with like."""
    generator = make_generator(seed, x.device)
    total = sum(loss_fn(batch, generator).item() * len(batch) for batch in x.split(batch_size))
    return total / len(x)


def train(
    module: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    x_val: torch.Tensor | None,
    config: TrainingConfig,
    steps_by_budget: Mapping[str, int],
    generator: torch.Generator | None,
    desc: str,
    epoch_examples: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    after_step: Callable[[], None] | None = None,
) -> list[dict[str, float]]:
    """Minimise ``loss_fn(batch, generator)`` with Adam; return the per-epoch history.

    ``epoch_examples(x, generator)`` gives each epoch's examples (dynamic binarization);
    ``after_step()`` runs after every optimiser step (a moving average of the weights).
    Raises ``TrainingFailed`` when the loss stops being finite.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=config.lr)
    shuffle = child_generator(generator)
    noise = child_generator(generator, x.device)
    val_seed = derive_seed(generator)
    stopper = EarlyStopping(module, getattr(config, "patience", 0))
    history: list[dict[str, float]] = []
    bar = progress(range(epochs_for(config, steps_by_budget, len(x))), desc=desc, unit="epoch")
    for epoch in bar:
        module.train()
        total = 0.0
        examples = x if epoch_examples is None else epoch_examples(x, shuffle)
        for idx in minibatches(len(x), config.batch_size, shuffle, steps_cap(config, steps_by_budget, len(x))):
            with autocast(config, x.device):
                loss = loss_fn(examples[idx], noise)
            check_finite(loss, "training loss", epoch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step()
            total += loss.item() * len(idx)
        entry = {"epoch": epoch, "train_loss": total / len(x)}
        module.eval()
        if x_val is not None:
            entry["val_loss"] = mean_loss(loss_fn, x_val, config.batch_size, val_seed)
            check_finite(torch.tensor(entry["val_loss"]), "validation loss", epoch)
        history.append(entry)
        bar.set_postfix({k: f"{v:.3g}" for k, v in entry.items() if k != "epoch"})
        if x_val is not None and stopper.update(entry["val_loss"], epoch):
            break
    stopper.restore()
    return history
