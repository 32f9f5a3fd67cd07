"""The dataset contract: a named source with typed options that loads a ``Data`` bundle.

Sources that read files look for them under a data folder: ``data_dir`` when given (the
command line's ``--data-dir``), else ``$GENBENCH_DATA_DIR``, else ``~/.cache/genbench/data``.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

from genbench.config import Config, NoOptions, require_positive
from genbench.data.splits import Data

DATA_DIR_VARIABLE = "GENBENCH_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/genbench/data")


@dataclasses.dataclass(frozen=True)
class DataFolder:
    """Where a source looks for its files, and what chose that place (for error messages)."""

    path: Path
    chosen_by: str

    @classmethod
    def resolve(cls, data_dir: str | Path | None = None) -> DataFolder:
        """``data_dir``, else ``$GENBENCH_DATA_DIR``, else ``~/.cache/genbench/data``."""
        if data_dir is not None:
            return cls(Path(data_dir).expanduser(), "given by --data-dir")
        if os.environ.get(DATA_DIR_VARIABLE):
            return cls(Path(os.environ[DATA_DIR_VARIABLE]).expanduser(), f"from ${DATA_DIR_VARIABLE}")
        return cls(DEFAULT_DATA_DIR.expanduser(), "the default data folder")


@dataclasses.dataclass(frozen=True)
class SampledSplits(Config):
    """Sizes and seed of the splits of a dataset drawn from a known distribution."""

    n_train: int = 4000
    n_val: int = 1000
    n_test: int = 2000
    seed: int = 0

    def validate(self) -> None:
        require_positive(n_train=self.n_train, n_val=self.n_val, n_test=self.n_test)

    def sizes(self) -> tuple[tuple[str, int], ...]:
        return (("train", self.n_train), ("val", self.n_val), ("test", self.n_test))


class DatasetSource(abc.ABC):
    """Loads one dataset. Subclasses set ``name``, ``config_class`` and implement ``load``."""

    name: ClassVar[str]
    config_class: ClassVar[type[Config]] = NoOptions

    def __init__(self, options: Config | None = None, **kwargs: Any):
        self.config = self.config_class.given(options, kwargs, owner=f"dataset {self.name}")

    @abc.abstractmethod
    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        """Return fixed train/val/test splits. Never download unless ``download`` is true."""

    def check_available(self, *, data_dir: Path | None = None, download: bool = False) -> None:  # noqa: B027
        """Raise ``DataMissingError`` (or another ``UsageError``) now when ``load`` would fail on
        missing or unusable files, so that a run fails before it starts. Cheap where it can be:
        a source that downloads only looks for its files."""
