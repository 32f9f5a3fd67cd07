"""Frozen, validated configuration dataclasses.

Every model, dataset and metric option set is a ``Config`` subclass: typed fields, checked on
construction, built from command-line strings by ``from_options`` (which refuses unknown names),
and saved as JSON beside every checkpoint.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from genbench.errors import UsageError

C = TypeVar("C", bound="Config")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of all option sets. Subclasses add fields and override ``validate``."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``UsageError`` with an actionable sentence when a field is out of range."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_options(cls: type[C], options: Mapping[str, Any] | None = None, *, owner: str = "") -> C:
        """Build from keyword options whose values may be strings (from the command line)."""
        options = dict(options or {})
        hints = typing.get_type_hints(cls)
        known = cls.field_names()
        unknown = sorted(set(options) - set(known))
        if unknown:
            where = f" for {owner}" if owner else ""
            valid = ", ".join(known) if known else "none"
            raise UsageError(f"unknown option {unknown[0]!r}{where}; valid options: {valid}")
        values = {name: coerce(name, value, hints[name]) for name, value in options.items()}
        return cls(**values)

    @classmethod
    def given(cls: type[C], config: Config | None, options: Mapping[str, Any], *, owner: str) -> C:
        """``config`` (an instance of this class) or one built from keyword ``options``, never both: what a
        model, metric or dataset source does with its constructor's arguments."""
        if config is not None and options:
            raise TypeError("pass either a config or keyword options, not both")
        if config is None:
            return cls.from_options(options, owner=owner)
        if not isinstance(config, cls):
            raise TypeError(f"{owner} takes a {cls.__name__}, got {type(config).__name__}")
        return config

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        return cls.from_options(data)

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class NoOptions(Config):
    """The option set of a model, dataset, metric or extractor that takes no options."""


def option_text(value: Any) -> str:
    """An option's value as the command line takes it: ``256x256`` for a list, ``true``, ``none``."""
    if isinstance(value, tuple | list):
        return "x".join(option_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def coerce(name: str, value: Any, annotation: Any) -> Any:
    """Convert ``value`` to ``annotation`` (int, float, bool, str, X | None, tuple[int, ...])."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null", ""}):
            return None
        return coerce(name, value, members[0])
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        if isinstance(value, str):
            value = [v for v in value.replace("/", "x").split("x") if v]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = [value]  # one number for a list option: resize=32
        if not isinstance(value, list | tuple):
            raise UsageError(f"option {name} takes a list such as 256x256, got {value!r}")
        return tuple(coerce(name, v, item_type) for v in value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise UsageError(f"option {name} takes true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise UsageError(f"option {name} takes an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise UsageError(f"option {name} takes an integer, got {value!r}") from None
    if annotation is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise UsageError(f"option {name} takes a number, got {value!r}") from None
    if annotation is str:
        return str(value)
    return value


def require(condition: bool, message: str) -> None:
    """Raise ``UsageError(message)`` unless ``condition`` holds; for ``Config.validate``."""
    if not condition:
        raise UsageError(message)


def require_positive(**values: float | int | None) -> None:
    for name, value in values.items():
        if value is not None:
            require(value > 0, f"{name} must be positive, got {value}")
