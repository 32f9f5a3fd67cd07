"""The one place where a dataset spec becomes a source: a registered name, else the path of your own data."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genbench.data.from_path import PathDataset
from genbench.data.source import DatasetSource
from genbench.errors import UsageError
from genbench.registry import Registry
from genbench.specs import check_dataset_name

log = logging.getLogger(__name__)

def dataset_source(
    name: str | os.PathLike, options: Mapping[str, Any], registry: Registry[DatasetSource]
) -> DatasetSource:
    """The source of a registered dataset ``name``, else of the existing file or folder at ``name``.

    A registered name wins over a folder of the same name (write ``./NAME`` for the folder).
    Raises ``DataMissingError`` for a path that does not exist, ``UnknownNameError`` otherwise.
    """
    text = os.fspath(name)
    path = Path(text).expanduser()
    if check_dataset_name(text, registry):
        if path.exists():
            log.warning("%s is a registered dataset and a file or folder here; reading the registered dataset "
                        "(write ./%s for yours)", text, text)
        return registry.get(text)(**options)
    if "path" in options:
        raise UsageError(f"the dataset {text} is already a path; drop the option path={options['path']}")
    return PathDataset(path=str(path.resolve()), **options)
