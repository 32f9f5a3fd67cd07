"""Device choice: ``auto`` takes CUDA when present."""

from __future__ import annotations

import torch

from genbench.errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available here; use --device cpu or auto")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise UsageError(f"unknown device {name!r}; valid: {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a wall-clock timer measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
