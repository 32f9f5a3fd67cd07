"""Shared building blocks: every model composes its networks from these, chosen by data shape."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from genbench.baselines.observation import network_input_size
from genbench.data.info import DataInfo


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def encoder(info: DataInfo, out_features: int, hidden: Sequence[int]) -> nn.Module:
    """Network input (B, ...) → (B, out_features)."""
    return nn.Sequential(nn.Flatten(), mlp([network_input_size(info), *hidden, out_features]))


def decoder(in_features: int, out_features: int, hidden: Sequence[int]) -> nn.Module:
    """Latent (B, in_features) → flat parameters (B, out_features) of an observation model."""
    return mlp([in_features, *hidden, out_features])
