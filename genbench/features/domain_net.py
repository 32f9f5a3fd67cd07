"""The domain classifier: a small CNN trained on a dataset's labelled training split, whose
penultimate layer is the feature space of the ``domain`` extractor and whose logits give its
Inception Score.

Inception-v3 was trained on ImageNet photographs at 299×299; on 8×8 grey digits its features
mean little, and its weights cannot be had offline. A classifier trained on the data's own
labels is the usual substitute (e.g. the LeNet features of "FID on MNIST", or the domain-specific
classifiers discussed by Borji 2019, "Pros and cons of GAN evaluation measures", §2.1).

Architecture (``DomainNetSpec``): two blocks of two 3×3 convolutions (width w = 16, then 2w) with
ReLU, each followed by 2×2 max-pooling while the image is 8 pixels or larger; adaptive average
pooling to 2×2; a linear layer to ``features`` = 128 units with ReLU (the features); a linear
layer to the classes (the logits). Training: Adam (lr 2·10⁻³, weight decay 10⁻⁴), cross-entropy,
batches of 64, max(600 steps, 2 epochs), a fixed seed and one CPU thread, so the same data gives
the same weights on every machine of one kind; the test-split accuracy is recorded (digits: about
98%, 3 s on one CPU core).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from genbench.data.splits import Split

ARCHITECTURE = "genbench-domain-cnn-v1"


@dataclasses.dataclass(frozen=True)
class DomainNetSpec:
    """The classifier's architecture, saved as JSON beside its weights."""

    channels: int
    height: int
    width: int
    n_classes: int
    base_width: int = 16
    features: int = 128
    architecture: str = ARCHITECTURE

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DomainNetSpec:
        spec = cls(**data)
        if spec.architecture != ARCHITECTURE:
            raise ValueError(f"unknown domain classifier architecture {spec.architecture!r}")
        return spec


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    steps: int = 600
    """At least this many Adam steps, and at least ``min_epochs`` passes over the data."""
    min_epochs: int = 2
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class DomainNet(nn.Module):
    """x: (N, C, H, W) in [0, 1] → (features (N, spec.features) ≥ 0, logits (N, spec.n_classes))."""

    def __init__(self, spec: DomainNetSpec):
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        c_in, size = spec.channels, min(spec.height, spec.width)
        for c_out in (spec.base_width, 2 * spec.base_width):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU()]
            if size >= 8:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * c_in, spec.features), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(spec.features, spec.n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x.float())
        return features, self.head(features)


@contextlib.contextmanager
def one_cpu_thread() -> Iterator[None]:
    """Run on one CPU thread: float sums then come out the same whatever the machine's core count,
    so the cached classifier (and every feature-space figure) is reproducible across machines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_domain_net(split: Split, spec: DomainNetSpec, options: TrainingOptions = TrainingOptions(),
                     device: torch.device | str = "cpu") -> DomainNet:
    """Fit a ``DomainNet`` to (split.x, split.labels) by ``options.steps`` Adam steps; eval mode on return.

    On the CPU it trains on one thread (``one_cpu_thread``): a few seconds on digits."""
    if split.labels is None:
        raise ValueError(f"{split} has no labels to train a classifier on")
    with one_cpu_thread() if torch.device(device).type == "cpu" else contextlib.nullcontext():
        return _train(split, spec, options, device)


def _train(split: Split, spec: DomainNetSpec, options: TrainingOptions, device: torch.device | str) -> DomainNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        net = DomainNet(spec)
    net.to(device).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    generator = torch.Generator().manual_seed(options.seed)
    x, y = split.x, split.labels.long()
    per_epoch = math.ceil(len(x) / options.batch_size)
    steps = max(options.steps, options.min_epochs * per_epoch)
    batches = [rows for _ in range(math.ceil(steps / per_epoch))
               for rows in torch.randperm(len(x), generator=generator).split(options.batch_size)][:steps]
    for rows in batches:
        _, logits = net(x[rows].to(device))
        loss = nn.functional.cross_entropy(logits, y[rows].to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


@torch.no_grad()
def accuracy(net: DomainNet, split: Split, batch_size: int = 1024) -> float:
    """Share of ``split``'s examples whose most likely class is the label."""
    device = next(net.parameters()).device
    correct = sum(int((net(x.to(device))[1].argmax(dim=1).cpu() == y).sum())
                  for x, y in zip(split.x.split(batch_size), split.labels.split(batch_size)))
    return correct / len(split)
