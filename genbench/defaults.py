"""What ``genbench run`` does when asked nothing: one place, importable without torch. The default models
and metrics are said where they are registered (``genbench.catalog``, ``default=True``)."""

DEFAULT_DATASET = "digits"
DEFAULT_SEEDS = (0,)
BUDGETS = ("smoke", "default", "paper")
"""Training budgets, in optimiser steps per model family (each trained model's ``steps_by_budget``), given for
examples of ``REFERENCE_VALUES`` values and scaled by ``size_factor`` for larger ones."""
REFERENCE_VALUES = 64
"""Values per example (8×8 digits) at which budgets and Monte Carlo counts are stated."""


def size_factor(values: int) -> float:
    """The share of a budget's optimiser steps (and of a likelihood estimate's Monte Carlo draws) given to examples
    of ``values`` values: min(1, (64 / values)^(2/3)). A step costs about as much as its examples are large, so a
    run costs (values / 64)^(1/3) times a run on 8×8 digits: 1.9× on 20×20 shapes (0.30 of the steps), 2.3× on
    28×28 images (0.19), 3.6× on 32×32 colour images (0.08); data of 64 values or fewer get every step."""
    return min(1.0, (REFERENCE_VALUES / max(1, values)) ** (2 / 3))
