"""Standardisation of continuous data for the models that transform values (flow, diffusion).

u = (x - m) / s per value, m and s the training mean and standard deviation (s at least 10⁻⁶), kept
in the buffers ``shift_`` = m and ``log_scale_`` = log s, so that checkpoints carry them. A density of
u is one of x after adding log |det ∂u/∂x| = -Σ log s.
"""

from __future__ import annotations

import torch
from torch import nn

from genbench.data.info import DataInfo


def register(module: nn.Module, info: DataInfo) -> None:
    """Identity buffers (m = 0, log s = 0) of one example's shape, on ``module``."""
    module.register_buffer("shift_", torch.zeros(info.shape))
    module.register_buffer("log_scale_", torch.zeros(info.shape))


def fit(module: nn.Module, x: torch.Tensor) -> None:
    """Set the buffers from the training examples ``x`` (statistics in float64)."""
    flat = x.double()
    module.shift_.copy_(flat.mean(0).float())
    module.log_scale_.copy_(flat.std(0).clamp(min=1e-6).log().float())
