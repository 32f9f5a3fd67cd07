"""Named registries, filled by explicit ``register`` calls (see ``genbench.catalog``).

Modelled on torch-fidelity's ``register_feature_extractor``: a name is registered once, and the
entry must derive from the registry's base class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from genbench.errors import UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    target: type[T]
    summary: str


class Registry(Generic[T]):
    """Names → classes deriving from ``base``; ``kind`` is the word used in error messages."""

    def __init__(self, kind: str, base: type[T]):
        self.kind = kind
        self.base = base
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, target: type[T], summary: str | None = None) -> None:
        if not name or name != name.strip() or any(c in name for c in ",:= "):
            raise ValueError(f"{self.kind} name {name!r} must be non-empty without ',', ':', '=' or spaces")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if not (isinstance(target, type) and issubclass(target, self.base)):
            raise TypeError(f"{self.kind} {name!r} must be a subclass of {self.base.__name__}")
        own_name = getattr(target, "name", name)
        if isinstance(own_name, str) and own_name != name:
            raise ValueError(f"{self.kind} {target.__name__} calls itself {own_name!r}, registered as {name!r}")
        doc = (target.__doc__ or "").strip().splitlines()
        self._entries[name] = Entry(name, target, summary or (doc[0] if doc else ""))

    def get(self, name: str) -> type[T]:
        try:
            return self._entries[name].target
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
