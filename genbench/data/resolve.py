"""The one place where a dataset spec becomes a source: a registered name, else the path of your own data."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genbench.data.from_path import PathDataset
from genbench.data.readers import ARRAY_SUFFIXES
from genbench.data.source import DatasetSource
from genbench.errors import DataMissingError, UnknownNameError, UsageError
from genbench.registry import Registry
from genbench.specs import Spec, parse_spec

log = logging.getLogger(__name__)

PATH_ALTERNATIVE = ", or the path of your own data: a folder of PNG/JPEG images or a .npy, .npz or .pt file"


def parse_dataset_spec(text: str) -> Spec:
    """``NAME[:key=value…]`` or ``PATH[:key=value…]``.

    A path may hold ':' itself (``C:\\data``, ``runs/a:b/x.npy``): the longest start of ``text``
    that ends before a ':' and names an existing file or folder is taken whole as the name.
    """
    parts = text.strip().split(":")
    for end in range(len(parts), 1, -1):
        head = ":".join(parts[:end])
        if Path(head).expanduser().exists():
            return parse_spec(text, "dataset", name=head)
    return parse_spec(text, "dataset")


def dataset_source(
    name: str | os.PathLike, options: Mapping[str, Any], registry: Registry[DatasetSource]
) -> DatasetSource:
    """The source of a registered dataset ``name``, else of the existing file or folder at ``name``.

    A registered name wins over a folder of the same name (write ``./NAME`` for the folder).
    Raises ``DataMissingError`` for a path that does not exist, ``UnknownNameError`` otherwise.
    """
    text = os.fspath(name)
    path = Path(text).expanduser()
    if text in registry:
        if path.exists():
            log.warning("%s is a registered dataset and a file or folder here; reading the registered dataset "
                        "(write ./%s for yours)", text, text)
        return registry.get(text)(**options)
    if path.exists():
        if "path" in options:
            raise UsageError(f"the dataset {text} is already a path; drop the option path={options['path']}")
        return PathDataset(path=str(path.resolve()), **options)
    if "/" in text or os.sep in text or text.startswith(("~", ".")) or path.suffix.lower() in ARRAY_SUFFIXES:
        raise DataMissingError(f"there is no file or folder {path} (--dataset takes a registered name or the path "
                               "of your own data)")
    raise UnknownNameError("dataset", text, registry.names(), PATH_ALTERNATIVE)
