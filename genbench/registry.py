"""Named registries, filled by explicit ``register`` calls (see ``genbench.catalog``), and open to
classes from outside genbench.

Modelled on torch-fidelity's ``register_feature_extractor``: a name is registered once, and the
entry must derive from the registry's base class. A registered target is a class, or the import
path of one (``"genbench.baselines.vae:VAE"``), imported and checked when it is first asked for:
listing names, and refusing an unknown one, import nothing (no torch), so that a mistyped name is
reported at once. A registry may also take

- an *import path*, ``package.module:Class`` (``import_paths=True``): the class is imported when
  it is asked for;
- names from an *entry-point group* (``entry_point_group="genbench.models"``), through which an
  installed package registers its own classes, as pytest finds its plugins. Nothing of such a
  package is imported until its name is asked for (or listed).

A class from outside is checked exactly as a registered one is: it must derive from the base,
be concrete, and call itself by the name it is found under. Every failure (an import that fails,
a class of the wrong kind, a name two places claim) is a ``UsageError`` with one sentence that
names the cause.
"""

from __future__ import annotations

import importlib
import inspect
import keyword
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Generic, TypeVar

from genbench.errors import UnknownNameError, UsageError, first_sentence

T = TypeVar("T")

BUILT_IN = "genbench"
IMPORT_PATH = "import path"


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    target: type[T]
    summary: str
    origin: str = BUILT_IN
    """Where the name comes from: genbench itself, an installed package's entry point, an import path."""


def is_import_path(name: str) -> bool:
    """``package.module:Class``: dotted identifiers on both sides of one ':', with a dotted module or a
    capitalised class, so that ``vae:latent_dim`` stays a name with an option missing its value."""
    module, sep, attribute = name.partition(":")
    return bool(sep) and _dotted(module) and _dotted(attribute) and ("." in module or attribute[0].isupper())


def _dotted(text: str) -> bool:
    return bool(text) and all(part.isidentifier() and not keyword.iskeyword(part) for part in text.split("."))


def class_path(target: type) -> str:
    """The import path of a class, ``module:QualName``."""
    return f"{target.__module__}:{target.__qualname__}"


class Registry(Generic[T]):
    """Names → classes deriving from ``base`` (a class, or its import path, imported when first needed);
    ``kind`` is the word used in error messages."""

    def __init__(self, kind: str, base: type[T] | str, *, entry_point_group: str | None = None,
                 import_paths: bool = False):
        self.kind = kind
        self._base = base
        self.entry_point_group = entry_point_group
        self.import_paths = import_paths
        self._entries: dict[str, Entry[T] | str] = {}
        self._defaults: list[str] = []

    @property
    def base_name(self) -> str:
        """The base class's name, without importing it."""
        return self._base.rpartition(":")[2] if isinstance(self._base, str) else self._base.__name__

    @property
    def base(self) -> type[T]:
        if isinstance(self._base, str):
            self._base = _import(self._base)
        return self._base

    def register(self, name: str, target: type[T] | str, summary: str | None = None, *, default: bool = False,
                 ) -> None:
        """Register ``target`` (a class, or the import path of one, checked when first asked for);
        ``default``: part of what a command uses when asked nothing (``defaults``)."""
        if not name or name != name.strip() or any(c in name for c in ",:= "):
            raise ValueError(f"{self.kind} name {name!r} must be non-empty without ',', ':', '=' or spaces")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target if isinstance(target, str) else self._registered(name, target, summary)
        if default:
            self._defaults.append(name)

    def unregister(self, name: str) -> None:
        """Forget a name that ``register`` added, and its place among the defaults: the way back for a test or a
        session that registered a class for a while. ``KeyError`` for a name not registered here (an entry
        point's name leaves with its package)."""
        if name not in self._entries:
            raise KeyError(f"{self.kind} {name!r} is not registered here")
        del self._entries[name]
        if name in self._defaults:
            self._defaults.remove(name)

    def defaults(self) -> tuple[str, ...]:
        """The names registered as defaults, in registration order."""
        return tuple(self._defaults)

    def _registered(self, name: str, target: object, summary: str | None = None) -> Entry[T]:
        if not (isinstance(target, type) and issubclass(target, self.base)):
            raise TypeError(f"{self.kind} {name!r} must be a subclass of {self.base.__name__}")
        own_name = getattr(target, "name", name)
        if isinstance(own_name, str) and own_name != name:
            raise ValueError(f"{self.kind} {target.__name__} calls itself {own_name!r}, registered as {name!r}")
        return Entry(name, target, summary or _summary(target))

    # ------------------------------------------------------------------------------------ lookup
    def get(self, name: str) -> type[T]:
        return self.entry(name).target

    def entry(self, name: str) -> Entry[T]:
        """The entry for a registered name, an installed package's name, or an import path."""
        if self.import_paths and ":" in name:
            return self._imported(name)
        points = self._entry_points().get(name, [])
        if name in self._entries and points:
            raise UsageError(f"{self.kind} name {name!r} is claimed twice: by genbench and by the entry point of "
                             f"{_describe(points[0])}; uninstall or rename the plugin (its class stays usable "
                             f"as {points[0].value})")
        if name in self._entries:
            entry = self._entries[name]
            if isinstance(entry, str):
                entry = self._entries[name] = self._registered(name, _import(entry))
            return entry
        if len(points) > 1:
            raise UsageError(f"{self.kind} name {name!r} is claimed twice: by the entry points of "
                             f"{_describe(points[0])} and of {_describe(points[1])}; uninstall one")
        if points:
            return self._from_entry_point(name, points[0])
        alternative = (f", or an import path such as mypackage.{self.kind}s:My{self.kind.title()}"
                       if self.import_paths else "")
        raise UnknownNameError(self.kind, name, self.names(), alternative)

    def names(self) -> list[str]:
        """Registered names, then those of installed packages' entry points."""
        return [*self._entries, *(n for n in self._entry_points() if n not in self._entries)]

    def entries(self) -> list[Entry[T]]:
        """Every registered entry and every entry point's (imported now; ``UsageError`` if one fails)."""
        return [self.entry(name) for name in self.names()]

    def origin(self, name: str) -> str:
        """Where ``name`` comes from, without importing anything."""
        if self.import_paths and ":" in name:
            return IMPORT_PATH
        points = self._entry_points().get(name, [])
        return BUILT_IN if name in self._entries or not points else f"entry point of {_describe(points[0])}"

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._entry_points()

    def __len__(self) -> int:
        return len(self.names())

    # ------------------------------------------------------------------------------ from outside
    def _entry_points(self) -> dict[str, list[metadata.EntryPoint]]:
        if self.entry_point_group is None:
            return {}
        found: dict[str, list[metadata.EntryPoint]] = {}
        for point in metadata.entry_points(group=self.entry_point_group):
            if point not in found.get(point.name, []):
                found.setdefault(point.name, []).append(point)
        return found

    def _from_entry_point(self, name: str, point: metadata.EntryPoint) -> Entry[T]:
        where = f"the entry point {name!r} of {_describe(point)} ({point.value})"
        try:
            target = point.load()
        except Exception as error:  # noqa: BLE001 - a plugin's import can fail in any way
            raise UsageError(f"{where} cannot be imported: {type(error).__name__}: {first_sentence(error)}") from None
        target = self._checked(target, where)
        own_name = getattr(target, "name", None)
        if own_name != name:
            raise UsageError(f"{where} points at {target.__name__}, which calls itself {own_name!r}; a {self.kind} "
                             f"must call itself by its entry point's name (set name = {name!r})")
        return Entry(name, target, _summary(target), f"entry point of {_describe(point)}")

    def _imported(self, path: str) -> Entry[T]:
        if not is_import_path(path):
            raise UsageError(f"{self.kind} {path!r} is not an import path; write package.module:Class")
        module_name, _, attribute = path.partition(":")
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.append(os.getcwd())  # as python -m does: a module beside the command is found
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            raise UsageError(f"cannot import {module_name} for the {self.kind} {path}: {first_sentence(error)} "
                             "(is its package installed, or its folder on PYTHONPATH?)") from None
        except Exception as error:  # noqa: BLE001 - the user's module can fail in any way
            raise UsageError(f"importing {module_name} for the {self.kind} {path} failed: {type(error).__name__}: "
                             f"{first_sentence(error)}") from None
        target: object = module
        for part in attribute.split("."):
            try:
                target = getattr(target, part)
            except AttributeError:
                raise UsageError(f"{module_name} has no {attribute} (the {self.kind} {path})") from None
        return Entry(path, self._checked(target, path), _summary(target), IMPORT_PATH)

    def _checked(self, target: object, where: str) -> type[T]:
        """``target`` when it is a concrete subclass of the base with a name; ``UsageError`` otherwise."""
        if not (isinstance(target, type) and issubclass(target, self.base)):
            what = target.__name__ if isinstance(target, type) else f"a {type(target).__name__}"
            raise UsageError(f"{where} is {what}, not a subclass of genbench's {self.base.__name__}")
        if inspect.isabstract(target):
            missing = ", ".join(sorted(getattr(target, "__abstractmethods__", ())))
            raise UsageError(f"{where} is abstract: implement {missing}")
        if not isinstance(getattr(target, "name", None), str):
            raise UsageError(f"{where} has no name: set the class attribute name = '...'")
        return target


def _import(path: str) -> type:
    """The class at ``module:QualName`` (genbench's own registrations: a failure is a bug, not a usage error)."""
    module, _, attribute = path.partition(":")
    target: object = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target  # type: ignore[return-value]


def _summary(target: object) -> str:
    doc = (getattr(target, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else ""


def _describe(point: metadata.EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else point.value.partition(":")[0]
