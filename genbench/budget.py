"""Training budgets counted in compute: every trained model of a run gets the same number of training
floating-point operations (FLOPs), so that the table compares families at equal training compute.

A budget is asked for in one of three forms (``parse_budget``):

- a name, ``smoke``, ``default`` or ``paper``: a level of FLOPs that grows with the training set by one rule,

      F(V) = F_name · (V / 10⁵)^(2/5),   V = N · D the training set's values (N examples of D values each),

  so that a bigger training set earns more compute, but less than in proportion: 8×8 digits' 1 258 × 64 values
  get 0.92 · F_name, the whole of MNIST's 55 000 × 784 values 11.3 · F_name (12.35 times digits' for 536 times the
  values), 2-D rings' 8 000 × 2 values 0.48 · F_name. The exponent keeps the default run near 3 minutes on digits
  and near 30 on MNIST on two CPU cores; within a run every model gets the same FLOPs, and a bigger image gets
  fewer steps only because each of its steps costs more;
- a number of FLOPs, ``2e13``, the same on every dataset;
- a time on this machine, ``10min``, ``90s``, ``1.5h``: each trained model gets the FLOPs this machine computes in
  that time, measured once at the start of a run on the run's own models and recorded as FLOPs
  (``genbench.service.calibration``), so that a resumed run trains to the same budget.

FLOPs are what ``torch.utils.flop_counter`` counts of one optimiser step (its matrix products and convolutions,
forward and backward, two per multiply-add; nothing for elementwise work), counted once per model on its first
step; steps, epochs and examples seen follow from them (``baselines.training.StepPlan``).

Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

from genbench.errors import UsageError

SMOKE, DEFAULT, PAPER = "smoke", "default", "paper"
LEVELS: Mapping[str, float] = {SMOKE: 1.5e10, DEFAULT: 2.5e12, PAPER: 2.5e14}
"""F_name: the training FLOPs of each named budget for ``REFERENCE_VALUES`` training values. smoke: seconds (a
few dozen steps of an autoencoder on digits); default: minutes on 2 CPU cores; paper: a hundred times the
default."""
NAMES = tuple(LEVELS)
REFERENCE_VALUES = 100_000
EXPONENT = 2 / 5
"""How a named budget grows with the training set (module docstring)."""
WORKER_WORTHY_FLOPS = 1e12
"""A model whose training budget is at least this (seconds of compute on a core) is worth a worker process of its
own (``--jobs auto``): a smaller one trains in less time than a worker takes to start."""
WORKER_WORTHY_SECONDS = 10.0

_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
          "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0}
_TIME = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z]+)\s*$")
EXAMPLES = "a name (smoke, default, paper), FLOPs (2e13) or a time on this machine (10min, 90s, 1.5h)"


@dataclasses.dataclass(frozen=True)
class Budget:
    """A training budget as asked for: exactly one of ``name``, ``flops`` and ``seconds`` is set."""

    name: str | None = None
    flops: float | None = None
    seconds: float | None = None

    @property
    def text(self) -> str:
        """The budget as the command line writes it: ``default``, ``2e+13``, ``600s``."""
        if self.name is not None:
            return self.name
        if self.flops is not None:
            return flops_text(self.flops)
        return f"{self.seconds:g}s"

    @property
    def is_time(self) -> bool:
        return self.seconds is not None

    def flops_for(self, values: int) -> float:
        """The training FLOPs of one model trained on a training set of ``values`` values (examples × values per
        example); ``UsageError`` for a time, which only a run converts (``genbench.service.calibration``)."""
        if self.flops is not None:
            return self.flops
        if self.name is not None:
            return named_flops(self.name, values)
        raise UsageError(f"the budget {self.text} is a time on this machine: genbench run converts it to FLOPs at "
                         "the start; give a model a named budget or FLOPs (2e13)")

    def worth_workers(self) -> bool:
        """Whether a model trained to this budget takes long enough to be worth a worker process of its own."""
        if self.name is not None:
            return self.name != SMOKE
        if self.flops is not None:
            return self.flops >= WORKER_WORTHY_FLOPS
        return self.seconds >= WORKER_WORTHY_SECONDS


def named_flops(name: str, values: int) -> float:
    """F(V) = F_name · (V / 10⁵)^(2/5), V the training set's values (module docstring)."""
    if name not in LEVELS:
        raise UsageError(f"unknown budget {name!r}; give {EXAMPLES}")
    return LEVELS[name] * (max(1, values) / REFERENCE_VALUES) ** EXPONENT


def parse_budget(text: str | float | int) -> Budget:
    """The budget ``text`` asks for: a name, a positive number of FLOPs or a positive time with its unit;
    ``UsageError`` with one line otherwise."""
    if isinstance(text, bool):
        raise UsageError(f"a training budget is {EXAMPLES}, got {text!r}")
    if isinstance(text, int | float):
        return _flops(float(text), str(text))
    cleaned = str(text).strip().lower()
    if cleaned in LEVELS:
        return Budget(name=cleaned)
    try:
        number = float(cleaned)
    except ValueError:
        number = None
    if number is not None:
        return _flops(number, text)
    match = _TIME.match(cleaned)
    if match and match["unit"] in _UNITS:
        seconds = float(match["number"]) * _UNITS[match["unit"]]
        if seconds > 0:
            return Budget(seconds=seconds)
    raise UsageError(f"a training budget is {EXAMPLES}, got {text!r}")


def _flops(value: float, text: object) -> Budget:
    if not math.isfinite(value) or value < 1:
        raise UsageError(f"a budget in FLOPs must be a finite number of at least 1, got {text!r}")
    return Budget(flops=value)


def flops_text(flops: float) -> str:
    """FLOPs as a budget's text, three significant digits: ``2.5e+12``."""
    return f"{flops:.3g}"


def readable_flops(flops: float) -> str:
    """FLOPs for people: ``3.6·10¹³``."""
    if not math.isfinite(flops) or flops <= 0:
        return str(flops)
    exponent = math.floor(math.log10(flops))
    mantissa = flops / 10**exponent
    superscript = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa:.2g}·10{superscript}"


def trains_by_budget(config_fields: list[str] | tuple[str, ...]) -> bool:
    """Whether a model whose config has these fields trains to a budget (its config has a ``budget``): the one
    place that decides which models a run's ``--budget`` and ``--epochs`` reach."""
    return "budget" in config_fields
