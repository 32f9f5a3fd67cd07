"""``genbench list``: the registries of ``genbench.catalog``, each entry with its options."""

from __future__ import annotations

import argparse
import dataclasses

from genbench import catalog
from genbench.cli.options import add_common, request
from genbench.cli.output import EXIT_OK
from genbench.config import option_text
from genbench.errors import UsageError
from genbench.registry import BUILT_IN

REGISTRIES = {"models": catalog.MODELS, "datasets": catalog.DATASETS, "metrics": catalog.METRICS,
              "extractors": catalog.EXTRACTORS, "executors": catalog.EXECUTORS}
"""What ``genbench list WHAT`` shows, in the order a plain ``genbench list`` shows it."""


@dataclasses.dataclass(frozen=True)
class ListRequest:
    """A ``genbench list`` command line: one registry's name, or None for all of them."""

    what: str | None = None


def add_parser(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("list", help="show registered models, datasets, metrics, extractors, executors",
                                  description="Show the registered models, datasets, metrics, feature "
                                  "extractors and executors with their options.")
    listing.add_argument("what", nargs="?", choices=tuple(REGISTRIES), help="only this registry")
    add_common(listing)
    listing.set_defaults(handler=command_list)


def command_list(args: argparse.Namespace) -> int:
    what = request(ListRequest, args).what
    width = max(len(name) for registry in REGISTRIES.values() for name in registry.names()) + 1
    for title, registry in REGISTRIES.items():
        if what and what != title:
            continue
        print(f"{title}:")
        for name in registry.names():
            try:
                entry = registry.entry(name)
            except UsageError as error:  # a broken plugin is shown, not fatal to the listing
                print(f"  {name:<{width}} unusable: {error}")
                continue
            origin = "" if entry.origin == BUILT_IN else f" [{entry.origin}]"
            print(f"  {entry.name:<{width}} {entry.summary}{origin}")
            options = options_text(entry.target)
            if options:
                print(f"  {'':<{width}} options: {options}")
            for key, value in getattr(entry.target, "card", dict)().items():
                print(f"  {'':<{width}} {key}: {value}")
        if title == "datasets":
            _list_path_dataset(width)
        if registry.import_paths:
            print(f"  {'PKG.MOD:CLASS':<{width}} your own {registry.base_name} subclass, imported from its package "
                  f"(installed packages may name theirs in the entry-point group {registry.entry_point_group})")
        print()
    return EXIT_OK


def options_text(target: type) -> str:
    """``key=default`` for every option of a registered class's config, written as the command line takes it
    (empty for a class without a config, such as an executor, whose settings are flags)."""
    config_class = getattr(target, "config_class", None)
    if config_class is None:
        return ""
    return ", ".join(f"{k}={option_text(getattr(config_class(), k))}" for k in config_class.field_names())


def _list_path_dataset(width: int) -> None:
    from genbench.data.from_path import PathDataset  # defers torch

    fields = [f for f in dataclasses.fields(PathDataset.config_class) if f.name != "path"]
    options = ", ".join(f"{f.name}={option_text(f.default)}" for f in fields)
    print(f"  {'PATH':<{width}} {PathDataset.__doc__.splitlines()[0]}")
    print(f"  {'':<{width}} options: {options}")
