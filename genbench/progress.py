"""Progress bars for long work: shown on a terminal, silent when output is piped or logged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_enabled: bool | None = None


def set_enabled(enabled: bool | None) -> None:
    """True: always show; False: never; None (default): only when stderr is a terminal."""
    global _enabled
    _enabled = enabled


def progress(iterable: Iterable[T] | None = None, *, desc: str = "", total: int | None = None,
             unit: str = "it", leave: bool = False, **kwargs: Any) -> tqdm:
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, dynamic_ncols=True,
                disable=None if _enabled is None else not _enabled, **kwargs)
