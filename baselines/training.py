"""The training loop neural baselines share: a budget of training FLOPs turned into optimiser steps, minibatches,
a learning-rate schedule, moving averages of weights, early stopping, learning-curve points, and recovery from a
bad step.

**Steps from FLOPs.** A model's budget (``genbench.budget``) is a number of training FLOPs. The loop counts the FLOPs
of the model's first optimiser step with ``torch.utils.flop_counter`` (on a step it then undoes: counting changes no
result) and plans ⌊F / FLOPs per step⌋ steps of full batches (``StepPlan``); an epoch is the full batches one
shuffled pass over the training set holds (the remainder waits for the next pass), and the last epoch may be
partial. ``epochs`` in the config overrides the budget. A model that stops early (``patience``) spends less than its
budget; its records say what it spent.

**Learning rate** (``LearningRates``): the base rate, after ``warmup`` steps of linear warm-up (Goyal et al. 2017),
constant or decayed along a half cosine to ``lr_floor`` times itself at the last planned step (Loshchilov & Hutter
2017), times ``LR_DROP`` for every recovery.

**Learning curves.** Where ``fit`` was given a monitor (``genbench.curves``), the model is evaluated at its shares of
the planned steps and at the end of training, in evaluation mode, without gradients, with the global random
streams saved and restored: the trained weights are the same with and without it. Its seconds are not training
seconds.

A bad step is a loss that is not finite or has diverged past ``DIVERGED``, or a gradient that is not finite or
has exploded: its norm ``EXPLODED`` times the median of the last ``RECENT`` steps' (the flow's divergence on MNIST
began with one step at 3·10⁸ times its recent median; ordinary steps stay within 10× of it).
Training survives up to ``max_recoveries`` of them (``Recovery``): it goes back to the weights and optimiser
state of the last good epoch, lowers the learning rate by ``LR_DROP``, and runs that epoch again; each recovery
is logged and written into the history entry of the epoch that was redone. Past the limit it fails with the
reason (``TrainingFailed``), and the cell with it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from genbench.budget import parse_budget
from genbench.config import Config, require, require_positive
from genbench.curves import CurvePoint, TrainingMonitor
from genbench.errors import TrainingFailed
from genbench.infra import turns
from genbench.infra.progress import progress
from genbench.infra.rng import child_generator, derive_seed, make_generator
from genbench.infra.threads import keep_fitting

log = logging.getLogger(__name__)

LR_SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass(frozen=True)
class TrainingConfig(Config):
    """Options every trained model shares.

    ``budget``: the training FLOPs (a name, whose level follows the training set's size, or a number;
    ``genbench.budget``); ``epochs`` overrides it. ``lr`` is the base learning rate, warmed up over ``warmup`` steps
    and then held (``lr_schedule="constant"``) or decayed along a half cosine to ``lr_floor`` · ``lr`` (``cosine``).
    ``amp`` trains under bfloat16 autocast (mixed precision).
    """

    budget: str = "default"
    epochs: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    warmup: int = 0
    """Steps of linear learning-rate warm-up (at most a tenth of the planned steps)."""
    lr_schedule: str = "constant"
    lr_floor: float = 0.1
    """The cosine schedule's last rate, as a share of ``lr``."""
    amp: bool = False
    max_recoveries: int = 3
    """Bad steps (a non-finite or diverged loss, a non-finite gradient) survived by going back to the last good
    epoch at half the learning rate; one more fails the training."""

    def validate(self) -> None:
        budget = parse_budget(self.budget)
        require(not budget.is_time, f"the budget {self.budget} is a time on this machine: genbench run converts it to "
                "FLOPs at the start; give a model a named budget or FLOPs (2e13)")
        require_positive(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr)
        require(self.warmup >= 0, f"warmup must be 0 or more steps, got {self.warmup}")
        require(self.lr_schedule in LR_SCHEDULES,
                f"unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        require(0 <= self.lr_floor <= 1, f"lr_floor must be in [0, 1], got {self.lr_floor}")
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


# ------------------------------------------------------------------------------------------- the plan
@dataclasses.dataclass(frozen=True)
class StepPlan:
    """A budget of FLOPs as optimiser steps of full batches (module docstring)."""

    budget: str
    """The config's budget (``default``, ``2.5e+12``), or ``epochs=N`` where epochs override it."""
    budget_flops: float | None
    """The FLOPs the budget grants (None when epochs override it)."""
    flops_per_step: float
    batch_size: int
    per_epoch: int
    """Full batches in one pass over the training set."""
    steps: int

    @property
    def epochs(self) -> int:
        return math.ceil(self.steps / self.per_epoch)


def plan_steps(config: TrainingConfig, n_train: int, flops_per_step: float, values: int = 1) -> StepPlan:
    """The steps ``config`` grants a model whose optimiser step costs ``flops_per_step`` on ``n_train`` examples of
    ``values`` values each: ``epochs`` full passes, else ⌊budget FLOPs / FLOPs per step⌋ (at least one)."""
    batch_size = min(config.batch_size, n_train)
    per_epoch = max(1, n_train // batch_size)
    if config.epochs is not None:
        return StepPlan(f"epochs={config.epochs}", None, flops_per_step, batch_size, per_epoch,
                        config.epochs * per_epoch)
    budget_flops = parse_budget(config.budget).flops_for(n_train * values)
    steps = max(1, math.floor(budget_flops / flops_per_step)) if flops_per_step > 0 else per_epoch
    return StepPlan(config.budget, budget_flops, flops_per_step, batch_size, per_epoch, steps)


def counted_flops(work: Callable[[], Any]) -> tuple[Any, int]:
    """(``work()``, the FLOPs ``torch.utils.flop_counter`` counts in it): matrix products and convolutions, forward
    and backward, two per multiply-add."""
    with FlopCounterMode(display=False) as counter:
        out = work()
    return out, counter.get_total_flops()


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Indices of one shuffled pass over range(n): its full batches (a smaller remainder is left for the next
    pass, so that every step costs the counted FLOPs)."""
    order = torch.randperm(n, generator=generator)
    return list(order[: (n // batch_size) * batch_size].split(batch_size)) if n >= batch_size else [order]


def minibatches(n: int, batch_size: int, generator: torch.Generator, limit: int | None = None,
                ) -> Iterator[torch.Tensor]:
    """Indices of a shuffled pass over range(n), in batches (the last may be smaller), at most ``limit``."""
    yield from torch.randperm(n, generator=generator).split(batch_size)[:limit]


class LearningRates:
    """Sets each optimiser's rate at every step: its base rate × warm-up × schedule × ``LR_DROP`` per recovery
    (module docstring)."""

    def __init__(self, optimizers: Sequence[torch.optim.Optimizer], config: TrainingConfig):
        self.optimizers, self.config = list(optimizers), config
        self.base = [[group["lr"] for group in optimizer.param_groups] for optimizer in self.optimizers]
        self.steps: int | None = None

    def factor(self, step: int, recoveries: int) -> float:
        """The share of the base rate at ``step`` (0-based) after ``recoveries`` recoveries."""
        c = self.config
        warmup = min(c.warmup, self.steps // 10) if self.steps is not None else c.warmup
        share = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
        if c.lr_schedule == "cosine" and self.steps is not None and self.steps > 1:
            progress_ = min(1.0, step / (self.steps - 1))
            share *= c.lr_floor + (1 - c.lr_floor) * 0.5 * (1 + math.cos(math.pi * progress_))
        return share * LR_DROP**recoveries

    def set(self, step: int, recoveries: int) -> None:
        factor = self.factor(step, recoveries)
        for optimizer, rates in zip(self.optimizers, self.base):
            for group, rate in zip(optimizer.param_groups, rates):
                group["lr"] = rate * factor


@torch.no_grad()
def update_average(average: nn.Module, current: nn.Module, updates: torch.Tensor, decay: float) -> None:
    """One step of an exponential moving average of ``current``'s weights in ``average``: a ← a + (1 − d)(w − a),
    the decay warmed up as d = min(``decay``, (1 + n) / (10 + n)) after n updates (``updates``, a counter buffer,
    incremented), so that the first steps' weights do not linger; buffers (batch statistics) are copied."""
    updates += 1
    n = updates.item()
    rate = 1 - min(decay, (1 + n) / (10 + n))
    for a, w in zip(average.parameters(), current.parameters()):
        a.lerp_(w, rate)
    for a, w in zip(average.buffers(), current.buffers()):
        a.copy_(w)


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
        self.stopped = False

    def update(self, val_loss: float, epoch: int) -> bool:
        """Record this epoch; True when training should stop."""
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, epoch
            self.best_state = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        self.stopped = self.patience > 0 and epoch - self.best_epoch >= self.patience
        return self.stopped

    def restore(self) -> None:
        if self.best_state is not None:
            self.module.load_state_dict(self.best_state)


LossFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
Step = Callable[[torch.Tensor, torch.Generator, "Recovery", int], dict[str, float]]
"""``step(batch, noise, recovery, epoch)``: one optimiser step (a GAN: one of each network's) on ``batch`` through
``recovery``, returning its losses (per example, batch means)."""


@torch.no_grad()
def mean_loss(loss_fn: LossFn, x: torch.Tensor, batch_size: int, seed: int) -> tuple[float, float]:
    """Loss over all of ``x`` with noise from a fixed seed, so epochs compare like with like: (mean, standard error
    of the mean from the batches' means, NaN with one batch)."""
    generator = make_generator(seed, x.device)
    batches = list(x.split(batch_size))
    means = torch.tensor([loss_fn(batch, generator).item() for batch in batches], dtype=torch.float64)
    sizes = torch.tensor([len(batch) for batch in batches], dtype=torch.float64)
    mean = float((means * sizes).sum() / sizes.sum())
    stderr = float(means.std() / math.sqrt(len(means))) if len(means) > 1 else math.nan
    return mean, stderr


def cuda_devices() -> list[int]:
    """The CUDA device whose random stream ``fork_rng`` saves, where CUDA is in use."""
    return [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """``module`` in evaluation mode without gradients, its global random streams restored afterwards, and back
    in training mode: what a learning-curve point runs in, so that it changes nothing of the training."""
    module.eval()
    try:
        with torch.random.fork_rng(devices=cuda_devices()), torch.no_grad():
            yield
    finally:
        module.train()


class TrainingLoop:
    """The shared loop (module docstring): ``run`` trains ``model`` by ``step`` on ``x`` to ``config``'s budget and
    returns the per-epoch history; ``summary()`` says what the training spent (the model's ``training_``)."""

    def __init__(self, model: nn.Module, optimizers: Sequence[torch.optim.Optimizer], step: Step, x: torch.Tensor,
                 config: TrainingConfig, generator: torch.Generator | None, desc: str, *,
                 validation: Callable[[], tuple[float, float]] | None = None,
                 epoch_examples: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                 after_step: Callable[[], None] | None = None, patience: int = 0):
        self.model, self.step, self.x, self.config, self.desc = model, step, x, config, desc
        self.validation, self.epoch_examples, self.after_step = validation, epoch_examples, after_step
        self.shuffle = child_generator(generator)
        self.noise = child_generator(generator, x.device)
        self.recovery = Recovery(model, optimizers, config.max_recoveries, desc)
        self.rates = LearningRates(optimizers, config)
        self.stopper = EarlyStopping(model, patience)
        self.monitor: TrainingMonitor | None = getattr(model, "_monitor", None)
        self.plan: StepPlan | None = None
        self.steps_done = 0
        """Steps of the epochs kept so far (a redone epoch's steps are not counted twice)."""
        self.monitor_seconds = 0.0
        self.started = 0.0
        self.bar = None

    # ------------------------------------------------------------------------------------ the run
    def run(self) -> list[dict[str, float]]:
        history: list[dict[str, float]] = []
        self.started = time.perf_counter()
        epoch = 0
        while self.plan is None or self.steps_done < self.plan.steps:
            keep_fitting()  # the threads follow the load while it trains
            entry = run_epoch(self.recovery, lambda: self.one_epoch(epoch))  # noqa: B023 - called at once
            self.steps_done += int(entry["steps"])
            history.append(entry)
            shown = {k: f"{v:.3g}" for k, v in entry.items() if k not in ("epoch", "steps", "recovery", "recoveries")}
            if self.bar is not None:
                self.bar.set_postfix({"epoch": epoch, **shown})
            if "val_loss" in entry and self.stopper.update(entry["val_loss"], epoch):
                break
            epoch += 1
        if self.bar is not None:
            self.bar.close()
        self.stopper.restore()
        self.model.eval()
        self.seconds = time.perf_counter() - self.started - self.monitor_seconds
        if self.monitor is not None:
            self.point(self.steps_done, final=True)
        return history

    def one_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training set, or what is left of the plan: its history entry."""
        self.model.train()
        examples = self.x if self.epoch_examples is None else self.epoch_examples(self.x, self.shuffle)
        sums: dict[str, float] = {}
        seen = taken = 0
        for idx in epoch_batches(len(self.x), min(self.config.batch_size, len(self.x)), self.shuffle):
            step = self.steps_done + taken
            if self.plan is not None and step >= self.plan.steps:
                break
            self.rates.set(step, self.recovery.count)
            batch = examples[idx]
            if self.plan is None:
                self.begin(self.count_step(batch, epoch))
            losses = self.step(batch, self.noise, self.recovery, epoch)
            if self.after_step is not None:
                self.after_step()
            taken += 1
            seen += len(idx)
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value * len(idx)
            self.bar.update(1)
            turns.give_way()  # another worker may be waiting to time alone: pause at a step, not an epoch
            self.at_step(step + 1)
        entry = {"epoch": epoch, "steps": taken, **{k: v / max(1, seen) for k, v in sums.items()}}
        if self.validation is not None:
            self.model.eval()
            entry["val_loss"] = self.validation()[0]
            check_finite(torch.tensor(entry["val_loss"]), "validation loss", epoch)
        return entry

    def count_step(self, batch: torch.Tensor, epoch: int) -> int:
        """The FLOPs of one step on ``batch``, counted by torch's counter on a step that is then undone: the
        weights, the optimisers' moments, the noise stream, the recent gradient norms and the global random
        streams go back to where they were, so the step then taken uncounted is the one an uncounted run takes
        (the counter dispatches some operations differently, a transposed convolution's among them, and moves the
        last bits of their results)."""
        recovery = self.recovery
        weights = copied(self.model.state_dict())
        moments = [copied(optimizer.state_dict()) for optimizer in recovery.optimizers]
        norms = {key: list(values) for key, values in recovery.norms.items()}
        noise = self.noise.get_state()
        try:
            with torch.random.fork_rng(devices=cuda_devices()):
                return counted_flops(lambda: self.step(batch, self.noise, recovery, epoch))[1]
        finally:
            self.model.load_state_dict(weights)
            for optimizer, saved in zip(recovery.optimizers, moments):
                optimizer.load_state_dict(saved)
            recovery.norms = norms
            self.noise.set_state(noise)
            self.model.train()

    def begin(self, flops_per_step: int) -> None:
        """After the first step: the plan from its FLOPs, the schedule's length, the progress bar."""
        self.plan = plan_steps(self.config, len(self.x), flops_per_step, self.x[0].numel())
        self.rates.steps = self.plan.steps
        self.bar = progress(None, desc=self.desc, total=self.plan.steps, unit="step")
        self.points = {max(1, round(f * self.plan.steps)): f for f in (self.monitor.fractions if self.monitor else ())
                       if round(f * self.plan.steps) < self.plan.steps}

    def at_step(self, step: int) -> None:
        """After optimiser step ``step`` (1-based): a learning-curve point when one falls there."""
        if self.monitor is not None and step in self.points:
            self.point(step, fraction=self.points[step])

    def point(self, step: int, fraction: float | None = None, final: bool = False) -> None:
        """Evaluate the model where training stands (``genbench.curves``), its seconds kept out of training's."""
        started = time.perf_counter()
        with evaluating(self.model):
            plan = self.plan
            val_loss = self.validation() if self.validation is not None else None
            point = CurvePoint(
                fraction=fraction if fraction is not None else step / plan.steps, step=step,
                flops=step * plan.flops_per_step, examples=step * plan.batch_size,
                seconds=started - self.started - self.monitor_seconds, val_loss=val_loss, final=final,
                stopped_early=final and self.stopper.stopped)
            self.model.before_curve_point(self.x)
            self.monitor(self.model, point)
        if final:
            self.model.eval()
        self.monitor_seconds += time.perf_counter() - started

    def summary(self) -> dict[str, Any]:
        """What training spent, for the records: the budget, FLOPs (per step and in all), steps (planned and
        taken), batch size, epochs (passes over the data), examples seen, seconds (evaluations excluded)."""
        plan = self.plan
        return {"budget": plan.budget, "budget_flops": plan.budget_flops, "flops_per_step": plan.flops_per_step,
                "flops": self.steps_done * plan.flops_per_step, "planned_steps": plan.steps, "steps": self.steps_done,
                "batch_size": plan.batch_size, "epochs": round(self.steps_done / plan.per_epoch, 3),
                "examples": self.steps_done * plan.batch_size, "seconds": self.seconds,
                "curve_seconds": self.monitor_seconds, "stopped_early": self.stopper.stopped}


def train_loop(model: nn.Module, optimizers: Sequence[torch.optim.Optimizer], step: Step, x: torch.Tensor,
               config: TrainingConfig, generator: torch.Generator | None, desc: str, **options: Any,
               ) -> list[dict[str, float]]:
    """Run ``TrainingLoop`` and leave its ``summary`` on the model as ``training_``; return the history."""
    loop = TrainingLoop(model, optimizers, step, x, config, generator, desc, **options)
    history = loop.run()
    model.training_ = loop.summary()
    return history


def train(
    module: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    x_val: torch.Tensor | None,
    config: TrainingConfig,
    generator: torch.Generator | None,
    desc: str,
    epoch_examples: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    after_step: Callable[[], None] | None = None,
) -> list[dict[str, float]]:
    """Minimise ``loss_fn(batch, generator)`` with Adam by the shared loop (module docstring); return the per-epoch
    history, the validation loss in it where ``x_val`` is given (which early stopping reads).

    ``epoch_examples(x, generator)`` gives each epoch's examples (dynamic binarization);
    ``after_step()`` runs after every optimiser step (a moving average of the weights).
    A bad step is undone up to ``config.max_recoveries`` times (module docstring); ``TrainingFailed`` past that.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=config.lr)

    def step(batch: torch.Tensor, noise: torch.Generator, recovery: Recovery, epoch: int) -> dict[str, float]:
        with autocast(config, x.device):
            loss = loss_fn(batch, noise)
        recovery.step(loss, optimizer, "training loss", epoch)
        return {"train_loss": loss.item()}

    validation = None
    if x_val is not None:
        val_seed = derive_seed(generator)

        def validation() -> tuple[float, float]:
            return mean_loss(loss_fn, x_val, config.batch_size, val_seed)

    return train_loop(module, [optimizer], step, x, config, generator, desc, validation=validation,
                      epoch_examples=epoch_examples, after_step=after_step, patience=getattr(config, "patience", 0))
