"""Explicit randomness: every draw takes a ``torch.Generator``; none touches global state.

A generator lives on one device. These helpers draw on the generator's device and move the
result, so a CPU generator can drive a model on the GPU with reproducible results.
"""

from __future__ import annotations

import torch


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def derive_seed(generator: torch.Generator | None) -> int:
    """A fresh 62-bit seed drawn from ``generator`` (or from torch's global RNG when None)."""
    return int(torch.randint(2**62, (1,), generator=generator, device=_device_of(generator)).item())


def child_generator(generator: torch.Generator | None, device: str | torch.device = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded from ``generator``: reproducible, independent stream."""
    return make_generator(derive_seed(generator), device)


def randn(*shape: int, generator: torch.Generator | None = None, device: str | torch.device | None = None,
          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return _draw(torch.randn, shape, generator, device, dtype)


def rand(*shape: int, generator: torch.Generator | None = None, device: str | torch.device | None = None,
         dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return _draw(torch.rand, shape, generator, device, dtype)


def _device_of(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _draw(fn, shape, generator, device, dtype) -> torch.Tensor:
    device = torch.device(device) if device is not None else _device_of(generator)
    if generator is None or generator.device.type == device.type:
        return fn(*shape, generator=generator, device=device, dtype=dtype)
    return fn(*shape, generator=generator, device=generator.device, dtype=dtype).to(device)
