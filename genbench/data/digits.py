"""scikit-learn's bundled 8×8 handwritten digits: the default dataset, no download."""

from __future__ import annotations

from pathlib import Path

import torch

from genbench.data.info import DataInfo, ValueType
from genbench.data.source import DatasetSource
from genbench.data.splits import Data, make_data

LEVELS = 17  # pixel intensities are the integers 0 … 16


class Digits(DatasetSource):
    """8×8 grey digits (1797 images, 17 intensity levels, 10 classes), bundled with scikit-learn."""

    name = "digits"

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        from sklearn.datasets import load_digits  # defers scikit-learn

        bunch = load_digits()
        x = torch.as_tensor(bunch.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / (LEVELS - 1)
        labels = torch.as_tensor(bunch.target, dtype=torch.long)
        info = DataInfo(
            "digits", (1, 8, 8), ValueType.DISCRETE, levels=LEVELS, n_classes=10, latent_dim_hint=16
        )
        return make_data(
            x, info, labels=labels, options=self.config.to_dict(),
            provenance={"source": "sklearn.datasets.load_digits"},
        )
