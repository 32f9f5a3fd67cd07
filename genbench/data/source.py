"""The dataset contract: a named source with typed options that loads a ``Data`` bundle."""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from genbench.config import Config
from genbench.data.splits import Data


@dataclasses.dataclass(frozen=True)
class NoOptions(Config):
    """A dataset without options."""


class DatasetSource(abc.ABC):
    """Loads one dataset. Subclasses set ``name``, ``config_class`` and implement ``load``."""

    name: ClassVar[str]
    config_class: ClassVar[type[Config]] = NoOptions

    def __init__(self, options: Config | None = None, **kwargs: Any):
        if options is not None and kwargs:
            raise TypeError("pass either an options object or keyword options, not both")
        self.config = options if options is not None else self.config_class.from_options(
            kwargs, owner=f"dataset {self.name}"
        )

    @abc.abstractmethod
    def load(self, *, data_dir: Path | None = None, download: bool = False) -> Data:
        """Return fixed train/val/test splits. Never download unless ``download`` is true."""
