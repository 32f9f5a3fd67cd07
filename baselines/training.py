"""The training loop neural baselines share: minibatches, budgets, early stopping, and recovery from a bad step.

A bad step is a loss that is not finite or has diverged past ``DIVERGED``, or a gradient that is not finite or
has exploded: its norm ``EXPLODED`` times the median of the last ``RECENT`` steps' (the flow's divergence on MNIST
began with one step at 3·10⁸ times its recent median; ordinary steps stay within 10× of it).
Training survives up to ``max_recoveries`` of them (``Recovery``): it goes back to the weights and optimiser
state of the last good epoch, lowers the learning rate by ``LR_DROP``, and runs that epoch again; each recovery
is logged and written into the history entry of the epoch that was redone. Past the limit it fails with the
reason (``TrainingFailed``), and the cell with it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from genbench.config import Config, require, require_positive
from genbench.defaults import BUDGETS, size_factor
from genbench.errors import TrainingFailed
from genbench.infra.progress import progress
from genbench.infra.rng import child_generator, derive_seed, make_generator
from genbench.infra.threads import keep_fitting

log = logging.getLogger(__name__)


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
    max_recoveries: int = 3
    """Bad steps (a non-finite or diverged loss, a non-finite gradient) survived by going back to the last good
    epoch at half the learning rate; one more fails the training."""

    def validate(self) -> None:
        require(self.budget in BUDGETS, f"budget must be one of {', '.join(BUDGETS)}, got {self.budget!r}")
        require_positive(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr)
        require(self.max_recoveries >= 0, f"max_recoveries must be 0 or more, got {self.max_recoveries}")


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


def budget_steps(config: TrainingConfig, steps_by_budget: Mapping[str, int], values: int) -> int:
    """The budget's optimiser steps for examples of ``values`` values: the family's steps at 8×8, times
    ``genbench.defaults.size_factor`` (all of them up to 64 values, 19% on 28×28 images)."""
    return max(1, round(steps_by_budget[config.budget] * size_factor(values)))


def epochs_for(config: TrainingConfig, steps_by_budget: Mapping[str, int], n_train: int, values: int = 1) -> int:
    """``config.epochs``, or enough epochs to make the budget's number of optimiser steps (``budget_steps``)."""
    if config.epochs is not None:
        return config.epochs
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    return max(1, math.ceil(budget_steps(config, steps_by_budget, values) / steps_per_epoch))


def steps_cap(config: TrainingConfig, steps_by_budget: Mapping[str, int], n_train: int, values: int = 1,
              ) -> int | None:
    """The budget's steps when they are fewer than one epoch's (the smoke budget's 40 on MNIST's 430 per
    epoch), else None: a budget in whole epochs stays whole."""
    if config.epochs is not None:
        return None
    steps = budget_steps(config, steps_by_budget, values)
    return steps if steps < math.ceil(n_train / config.batch_size) else None


def minibatches(n: int, batch_size: int, generator: torch.Generator, limit: int | None = None,
                ) -> Iterator[torch.Tensor]:
    """Indices of a shuffled pass over range(n), in batches (the last may be smaller), at most ``limit``."""
    yield from torch.randperm(n, generator=generator).split(batch_size)[:limit]


DIVERGED = 1e10
"""A loss beyond this size counts as divergence."""
LR_DROP = 0.5
"""Each recovery multiplies the learning rate by this."""
EXPLODED, RECENT = 1e3, 50
"""A gradient norm this many times the median of the last ``RECENT`` good steps' is an exploding gradient."""


class BadStep(TrainingFailed):
    """A step whose loss or gradient is not finite, or whose loss has diverged: ``Recovery`` may undo it."""


def check_finite(loss: torch.Tensor, what: str, epoch: int) -> None:
    """Raise ``BadStep`` when ``loss`` is NaN, infinite or has diverged past ``DIVERGED``."""
    value = loss.detach().float().mean().item()
    if not math.isfinite(value):
        raise BadStep(f"{what} became {value} in epoch {epoch}")
    if abs(value) > DIVERGED:
        raise BadStep(f"{what} diverged to {value:.3g} in epoch {epoch}")


def backward_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, what: str, epoch: int,
                  inputs: Sequence[torch.Tensor] | None = None, recent: list[float] | None = None) -> None:
    """Check ``loss``, backpropagate it (into ``inputs`` only, where given), check the gradient's norm against
    ``recent`` good steps' norms (appended to) and step; ``BadStep`` when the loss or the gradient is not finite
    or the gradient has exploded (the weights are then left as they were)."""
    check_finite(loss, what, epoch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=list(inputs) if inputs is not None else None)
    norm = gradient_norm(optimizer)
    if not math.isfinite(norm):
        raise BadStep(f"the gradient of the {what} became {norm} in epoch {epoch}")
    if recent is not None:
        if len(recent) >= 10:
            median = sorted(recent)[len(recent) // 2]
            if norm > EXPLODED * median:
                raise BadStep(f"the gradient of the {what} exploded to {norm:.3g} in epoch {epoch}, "
                              f"{norm / median:.2g} times the median of the last {len(recent)} steps")
        recent.append(norm)
        del recent[:-RECENT]
    optimizer.step()


def gradient_norm(optimizer: torch.optim.Optimizer) -> float:
    """The Euclidean norm of every gradient ``optimizer`` holds (the gradients are not changed)."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return 0.0
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads])).item()


class Recovery:
    """The last good state of a training (its modules' weights and buffers, its optimisers' moments) and the
    way back to it after a bad step, at most ``limit`` times (module docstring)."""

    def __init__(self, module: nn.Module, optimizers: Sequence[torch.optim.Optimizer], limit: int, desc: str):
        self.module, self.optimizers, self.limit, self.desc = module, list(optimizers), limit, desc
        self.count = 0
        self.norms: dict[int, list[float]] = {id(optimizer): [] for optimizer in self.optimizers}
        self.weights: dict[str, torch.Tensor] | None = None
        self.moments: list[dict[str, Any] | None] = [None] * len(self.optimizers)
        self.save(epoch=-1)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, what: str, epoch: int,
             inputs: Sequence[torch.Tensor] | None = None) -> None:
        """``backward_step`` against this optimiser's recent gradient norms: ``BadStep`` on a bad step."""
        backward_step(loss, optimizer, what, epoch, inputs, self.norms[id(optimizer)])

    def save(self, epoch: int) -> None:
        """Remember the state after ``epoch`` (-1: before training) as the last good one, copied into the
        tensors of the last save where their shapes allow (a copy per epoch, without allocating)."""
        self.epoch = epoch
        self.weights = copied(self.module.state_dict(), self.weights)
        self.moments = [copied(optimizer.state_dict(), old) for optimizer, old in zip(self.optimizers, self.moments)]

    def recover(self, bad: BadStep) -> str:
        """Go back to the last good state at a lower learning rate and say what was done; ``TrainingFailed`` when
        ``limit`` recoveries were spent already."""
        if self.count >= self.limit:
            spent = f" after {self.count} recoveries, the most allowed (max_recoveries)" if self.limit else ""
            raise TrainingFailed(f"{bad}{spent}")
        self.module.load_state_dict(self.weights)
        rates = []
        for optimizer, moments in zip(self.optimizers, self.moments):
            current = [group["lr"] for group in optimizer.param_groups]
            # a copy: loading keeps the given tensors as the optimiser's own, and its steps would change them
            optimizer.load_state_dict(copy.deepcopy(moments))  # which also holds the saved rate: set it after
            for group, lr in zip(optimizer.param_groups, current):
                group["lr"] = lr * LR_DROP
                rates.append((lr, group["lr"]))
        self.count += 1
        start = "the initial weights" if self.epoch < 0 else f"the weights of epoch {self.epoch}"
        note = (f"recovery {self.count} of {self.limit}: {bad}; went back to {start}, learning rate "
                f"{rates[0][0]:.3g} → {rates[0][1]:.3g}")
        log.warning("%s: %s", self.desc, note)
        return note


def copied(state: Any, into: Any = None) -> Any:
    """A copy of ``state`` (tensors in dicts and lists, as a ``state_dict`` holds them) that owns its tensors: those
    of ``into`` where one of the same shape, type and device stands at the same place, new ones elsewhere."""
    if isinstance(state, torch.Tensor):
        reusable = (isinstance(into, torch.Tensor) and into.shape == state.shape and into.dtype == state.dtype
                    and into.device == state.device and into.data_ptr() != state.data_ptr())
        return into.copy_(state.detach()) if reusable else state.detach().clone()
    if isinstance(state, dict):
        old = into if isinstance(into, dict) else {}
        return type(state)((k, copied(v, old.get(k))) for k, v in state.items())
    if isinstance(state, list):
        old = into if isinstance(into, list) and len(into) == len(state) else [None] * len(state)
        return [copied(v, o) for v, o in zip(state, old)]
    return copy.deepcopy(state)


def run_epoch(recovery: Recovery, epoch: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``epoch()``'s history entry, run again from the last good state after each bad step (the entry then says
    so under ``recovery``); the state after it becomes the last good one."""
    notes = []
    while True:
        try:
            entry = epoch()
            break
        except BadStep as bad:
            notes.append(recovery.recover(bad))
    if notes:
        entry["recoveries"] = len(notes)
        entry["recovery"] = "; ".join(notes)
    recovery.save(int(entry["epoch"]))
    return entry


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
    A bad step is undone up to ``config.max_recoveries`` times (module docstring); ``TrainingFailed`` past that.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=config.lr)
    shuffle = child_generator(generator)
    noise = child_generator(generator, x.device)
    val_seed = derive_seed(generator)
    stopper = EarlyStopping(module, getattr(config, "patience", 0))
    recovery = Recovery(module, [optimizer], config.max_recoveries, desc)
    history: list[dict[str, float]] = []
    values = x[0].numel()
    bar = progress(range(epochs_for(config, steps_by_budget, len(x), values)), desc=desc, unit="epoch")

    def one_epoch(epoch: int) -> dict[str, float]:
        module.train()
        total = 0.0
        examples = x if epoch_examples is None else epoch_examples(x, shuffle)
        for idx in minibatches(len(x), config.batch_size, shuffle, steps_cap(config, steps_by_budget, len(x), values)):
            with autocast(config, x.device):
                loss = loss_fn(examples[idx], noise)
            recovery.step(loss, optimizer, "training loss", epoch)
            if after_step is not None:
                after_step()
            total += loss.item() * len(idx)
        entry = {"epoch": epoch, "train_loss": total / len(x)}
        module.eval()
        if x_val is not None:
            entry["val_loss"] = mean_loss(loss_fn, x_val, config.batch_size, val_seed)
            check_finite(torch.tensor(entry["val_loss"]), "validation loss", epoch)
        return entry

    for epoch in bar:
        keep_fitting()  # the threads follow the load while it trains
        entry = run_epoch(recovery, lambda: one_epoch(epoch))  # noqa: B023 - called at once, in this iteration
        history.append(entry)
        bar.set_postfix({k: f"{v:.3g}" for k, v in entry.items() if k not in ("epoch", "recovery", "recoveries")})
        if x_val is not None and stopper.update(entry["val_loss"], epoch):
            break
    stopper.restore()
    return history
