"""Categorical outfits, the classic naive Bayes example, from a fixed distribution with dependencies.

The generating distribution is a small Bayesian network:

    p(top, hair, accessories, clothing, colour)
        = p(top) p(hair | top) p(accessories) p(clothing) p(colour | clothing)

so hair colour depends on the top (hair style) and clothing colour on the clothing type. Naive
Bayes, which makes every feature independent, cannot represent these two dependencies; the gap
between its test log-likelihood and the true one is their mutual information.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genbench.data.info import DataInfo, ValueType
from genbench.data.source import DatasetSource, SampledSplits
from genbench.data.splits import Data, Split

FEATURES = ("topType", "hairColor", "accessoriesType", "clothingType", "clothingColor")
CATEGORIES = (
    ("NoHair", "LongHairBun", "LongHairCurly", "LongHairStraight", "ShortHairShortWaved",
     "ShortHairShortFlat", "ShortHairFrizzle"),
    ("Black", "Blonde", "Brown", "PastelPink", "Red", "SilverGrey"),
    ("Blank", "Round", "Sunglasses"),
    ("Hoodie", "Overall", "ShirtScoopNeck", "ShirtVNeck"),
    ("Black", "Blue01", "Grey01", "PastelGreen", "PastelOrange", "Pink", "Red", "White"),
)

# Unnormalised weights of the network's tables (rows: the parent's categories, in order).
TOP = [0.08, 0.12, 0.14, 0.18, 0.16, 0.20, 0.12]
HAIR_GIVEN_TOP = [
    [1.0, 1.0, 1.0, 0.2, 0.2, 6.0],
    [3.0, 3.0, 3.0, 1.0, 1.0, 1.0],
    [4.0, 2.0, 4.0, 1.0, 2.0, 0.5],
    [3.0, 4.0, 3.0, 2.0, 1.0, 0.5],
    [4.0, 2.0, 4.0, 0.3, 1.0, 1.0],
    [5.0, 2.0, 3.0, 0.3, 0.5, 1.0],
    [2.0, 1.0, 2.0, 3.0, 3.0, 0.5],
]
ACCESSORIES = [0.60, 0.25, 0.15]
CLOTHING = [0.30, 0.15, 0.25, 0.30]
COLOUR_GIVEN_CLOTHING = [
    [4.0, 3.0, 4.0, 1.0, 1.0, 1.0, 2.0, 1.0],
    [0.5, 6.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5],
    [1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 1.0, 2.0],
    [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 5.0],
]


def _log_normalised(weights: list) -> torch.Tensor:
    w = torch.tensor(weights, dtype=torch.float64)
    return (w / w.sum(dim=-1, keepdim=True)).log()


class WardrobeDistribution:
    """The exact probability mass of the network above."""

    kind = "mass"

    def __init__(self) -> None:
        self.log_top = _log_normalised(TOP)
        self.log_hair = _log_normalised(HAIR_GIVEN_TOP)
        self.log_accessories = _log_normalised(ACCESSORIES)
        self.log_clothing = _log_normalised(CLOTHING)
        self.log_colour = _log_normalised(COLOUR_GIVEN_CLOTHING)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 5) int64 category indices → (N,) log mass in nats."""
        top, hair, acc, cloth, colour = x.cpu().long().unbind(dim=1)
        return (self.log_top[top] + self.log_hair[top, hair] + self.log_accessories[acc]
                + self.log_clothing[cloth] + self.log_colour[cloth, colour])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        def draw(log_p: torch.Tensor) -> torch.Tensor:
            probs = log_p.exp().expand(n, -1) if log_p.ndim == 1 else log_p.exp()
            return torch.multinomial(probs, 1, generator=generator).squeeze(1)

        top = draw(self.log_top)
        hair = draw(self.log_hair[top])
        acc = draw(self.log_accessories)
        cloth = draw(self.log_clothing)
        colour = draw(self.log_colour[cloth])
        return torch.stack([top, hair, acc, cloth, colour], dim=1)


class Wardrobe(DatasetSource):
    """Categorical outfits (5 features), drawn from a fixed network with two dependencies."""

    name = "wardrobe"
    config_class = SampledSplits

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        o: SampledSplits = self.config
        truth = WardrobeDistribution()
        generator = torch.Generator().manual_seed(o.seed)
        info = DataInfo("wardrobe", (len(FEATURES),), ValueType.CATEGORICAL,
                        categories=CATEGORIES, feature_names=FEATURES, latent_dim_hint=2)
        splits = [Split(truth.sample(n, generator), info, name=name)
                  for name, n in o.sizes()]
        return Data(info, *splits, options=o.to_dict(), true_distribution=truth,
                    provenance={"source": "generated", "seed": o.seed})
