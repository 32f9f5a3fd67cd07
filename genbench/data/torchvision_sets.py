"""MNIST, binarized MNIST, Fashion-MNIST and CIFAR-10, read by torchvision's dataset classes.

Offline by default: the files are read from the data folder DIR (``--data-dir``, else
``$GENBENCH_DATA_DIR``, else ``~/.cache/genbench/data``) and downloaded there only when
``download`` is true. The layouts torchvision expects:

- ``mnist``, ``binarized-mnist``: ``DIR/MNIST/raw/`` holding ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (unpacked);
- ``fashion-mnist``: ``DIR/FashionMNIST/raw/`` holding the same four names;
- ``cifar10``: ``DIR/cifar-10-batches-py/`` holding ``data_batch_1`` … ``data_batch_5``,
  ``test_batch`` and ``batches.meta`` (the unpacked python version of the archive).

The official test set is the ``test`` split; the official training set is split into train and
val (``n_val`` examples, 5000 by default) by ``split_seed``. Pixels are 8-bit: values k/255,
k = 0 … 255, shape (C, H, W).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from genbench.config import Config, require, require_positive
from genbench.data.info import DataInfo, ValueType
from genbench.data.source import DataFolder, DatasetSource
from genbench.data.splits import Data, Split, make_data
from genbench.errors import DataFormatError, DataMissingError, first_sentence

log = logging.getLogger(__name__)

LEVELS = 256  # 8-bit pixels
# Seeds of the fixed binarizations of binarized-mnist, one per split: the test split's draw
# depends on nothing but the test images, so every run evaluates on the same binary test set.
FIXED_DRAW_SEEDS = {"train": 0, "val": 1, "test": 2}


@dataclasses.dataclass(frozen=True)
class ImageSetOptions(Config):
    """``n_val`` training images held out for validation, chosen by ``split_seed``."""

    n_val: int = 5000
    split_seed: int = 0

    def validate(self) -> None:
        require_positive(n_val=self.n_val)
        require(self.split_seed >= 0, f"split_seed must be non-negative, got {self.split_seed}")


class TorchvisionImages(DatasetSource):
    """An image dataset with an official train/test split, read by a torchvision class."""

    config_class = ImageSetOptions
    torchvision_name: ClassVar[str]  # the class in torchvision.datasets
    shape: ClassVar[tuple[int, int, int]]
    latent_dim_hint: ClassVar[int]

    def torchvision_class(self, download: bool) -> type:
        import torchvision.datasets  # defers torchvision

        return getattr(torchvision.datasets, self.torchvision_name)

    def expected_files(self, root: Path) -> tuple[Path, list[str]]:
        """The folder torchvision reads below ``root`` and the files it needs there."""
        cls = self.torchvision_class(download=False)
        names = [Path(url).stem for url, _ in cls.resources]  # the unpacked .gz files
        return root / cls.__name__ / "raw", names

    def check_available(self, *, data_dir: Path | None = None, download: bool = False) -> None:
        if download:
            return
        where = DataFolder.resolve(data_dir)
        folder, names = self.expected_files(where.path)
        missing = [name for name in names if not (folder / name).is_file()]
        if not missing:
            return
        packed = [name for name in missing if (folder / f"{name}.gz").is_file()]
        hint = f" (unpack the .gz files there: gunzip {folder}/*.gz)" if packed else ""
        inside = folder.relative_to(where.path)
        raise DataMissingError(
            f"{self.name} needs {_enumerate(missing)} in {folder} ({where.chosen_by}), which "
            f"{'is' if len(missing) == 1 else 'are'} missing{hint}; pass --data-dir DIR for a copy in "
            f"DIR/{inside}/, or --download to fetch {'it' if len(missing) == 1 else 'them'}"
        )

    def read(self, root: Path, *, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """One official split: uint8 pixels (N, C, H, W), labels (N,) and the class names."""
        try:
            dataset = self.torchvision_class(download)(str(root), train=train, download=download)
        except (RuntimeError, OSError, EOFError, ValueError, TypeError, KeyError, AssertionError,
                pickle.UnpicklingError) as error:
            summary = first_sentence(error)
            if download:
                raise DataMissingError(f"downloading {self.name} into {root} failed ({summary}); retry when "
                                       "online, or put the files there by hand and drop --download") from None
            folder, _ = self.expected_files(root)
            raise DataFormatError(f"cannot read the {self.name} files in {folder} ({type(error).__name__}: "
                                  f"{summary}); replace them with intact copies, or delete them and pass "
                                  "--download") from None
        pixels = torch.as_tensor(np.asarray(dataset.data))
        pixels = pixels.unsqueeze(1) if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)  # (N, H, W[, C])
        labels = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.long)
        classes = list(dataset.classes)
        if tuple(pixels.shape[1:]) != self.shape or pixels.dtype != torch.uint8:
            raise DataFormatError(f"the {self.name} files in {root} hold {pixels.dtype} images of shape "
                                  f"{tuple(pixels.shape[1:])}; {self.name} has uint8 images of shape {self.shape}")
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(classes):
            raise DataFormatError(f"the {self.name} files in {root} hold labels outside 0 … {len(classes) - 1}")
        return pixels, labels, classes

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        o: ImageSetOptions = self.config
        self.check_available(data_dir=data_dir, download=download)
        root = DataFolder.resolve(data_dir).path
        if download:
            root.mkdir(parents=True, exist_ok=True)
        log.info("reading %s from %s", self.name, root)
        # the first read downloads what is missing; the second finds it there
        x_train, y_train, classes = self.read(root, train=True, download=download)
        x_test, y_test, _ = self.read(root, train=False, download=False)
        n = len(x_train)
        require(o.n_val < n, f"n_val={o.n_val} leaves no training images: {self.name} has {n} in {root}")
        info = DataInfo(self.name, self.shape, ValueType.DISCRETE, levels=LEVELS, n_classes=len(classes),
                        latent_dim_hint=self.latent_dim_hint, extra={"class_names": classes})
        test = Split(to_unit_interval(x_test), info, labels=y_test, name="test")
        return make_data(
            to_unit_interval(x_train), info, labels=y_train, fractions=((n - o.n_val) / n, o.n_val / n),
            split_seed=o.split_seed, test=test, options=o.to_dict(),
            provenance={"source": f"torchvision.datasets.{self.torchvision_name}", "root": str(root),
                        "n_val": o.n_val, "test": "the official test set"},
        )


def to_unit_interval(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels k → float32 k/255."""
    return pixels.float() / (LEVELS - 1)


def _enumerate(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class Mnist(TorchvisionImages):
    """MNIST handwritten digits: 28×28 grey, 256 levels, 10 classes (60000 train, 10000 test)."""

    name = "mnist"
    torchvision_name = "MNIST"
    shape = (1, 28, 28)
    latent_dim_hint = 16


class FashionMnist(TorchvisionImages):
    """Fashion-MNIST clothing: 28×28 grey, 256 levels, 10 classes (60000 train, 10000 test)."""

    name = "fashion-mnist"
    torchvision_name = "FashionMNIST"
    shape = (1, 28, 28)
    latent_dim_hint = 16


class Cifar10(TorchvisionImages):
    """CIFAR-10 photos: 32×32 RGB, 256 levels, 10 classes (50000 train, 10000 test)."""

    name = "cifar10"
    torchvision_name = "CIFAR10"
    shape = (3, 32, 32)
    latent_dim_hint = 64

    def torchvision_class(self, download: bool) -> type:
        return super().torchvision_class(download) if download else _cifar10_checking_existence()

    def expected_files(self, root: Path) -> tuple[Path, list[str]]:
        cls = self.torchvision_class(download=False)
        return root / cls.base_folder, [name for name, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]


@functools.cache
def _cifar10_checking_existence() -> type:
    from torchvision.datasets import CIFAR10  # defers torchvision

    class CIFAR10CheckingExistence(CIFAR10):
        """torchvision's CIFAR10 with its md5 checks of the unpacked files reduced to existence checks.

        Used when not downloading. torchvision compares each file's md5 sum with the official
        one, so a local copy that is not byte-identical (and the tiny files the tests write)
        would be refused as "not found or corrupted". With md5 set to None its own
        ``check_integrity`` only checks that the file exists, and the parsing stays
        torchvision's. A download (``download=True``) uses torchvision's class unchanged, whose
        checks then guard the fetched files.
        """

        train_list = [[name, None] for name, _ in CIFAR10.train_list]
        test_list = [[name, None] for name, _ in CIFAR10.test_list]
        meta = {**CIFAR10.meta, "md5": None}

    return CIFAR10CheckingExistence


class BernoulliDraw:
    """One binarization of intensities ``p`` (N, *shape) in [0, 1]: x ~ Bernoulli(p) per pixel."""

    def __init__(self, p: torch.Tensor):
        self.p = p

    def __call__(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.bernoulli(self.p, generator=generator)


class BinarizedMnist(Mnist):
    """MNIST binarized: a fresh Bernoulli draw per training epoch, fixed draws for val and test."""

    name = "binarized-mnist"

    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        """Pixel intensities p = k/255 of MNIST, binarized as x ~ Bernoulli(p) (dynamic
        binarization, as in Salakhutdinov & Murray 2008 and Burda et al. 2016). The train split's
        ``redraw`` gives a fresh draw each epoch and its ``x`` holds one fixed draw; val and test
        are drawn once with fixed seeds (``FIXED_DRAW_SEEDS``)."""
        grey = super().load(data_dir=data_dir, download=download)
        info = dataclasses.replace(grey.info, value_type=ValueType.BINARY, levels=None)
        splits = []
        for split in (grey.train, grey.val, grey.test):
            draw = BernoulliDraw(split.x)
            fixed = draw(torch.Generator().manual_seed(FIXED_DRAW_SEEDS[split.name]))
            splits.append(Split(fixed, info, labels=split.labels, name=split.name,
                                redraw=draw if split.name == "train" else None))
        binarization = {"binarization": "train: a fresh Bernoulli(k/255) draw per epoch; val, test: one draw each",
                        "binarization_seeds": FIXED_DRAW_SEEDS}
        return Data(info, *splits, options=grey.options, provenance={**grey.provenance, **binarization})
