"""Parse the command line's name-with-options lists: ``vae,beta-vae:beta=8,gan:latent_dim=64``.

A spec is a registered name followed by ``:key=value`` options; specs are separated by commas.
The name may also be an import path, ``package.module:Class`` (``mypkg.models:MyFlow:hidden=128``):
a second part without '=' after a dotted name is the class, not an option. The spec's text is its
label in tables and metrics.csv, so two specs of one model stay apart.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from genbench.errors import DataMissingError, UnknownNameError, UsageError
from genbench.registry import Registry, is_import_path


@dataclasses.dataclass(frozen=True)
class Spec:
    name: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return ":".join([self.name, *(f"{k}={v}" for k, v in self.options)])

    def option_dict(self) -> dict[str, str]:
        return dict(self.options)

    def with_defaults(self, **defaults: object) -> Spec:
        """This spec with options it does not set taken from ``defaults`` (None values skipped)."""
        extra = tuple((k, str(v)) for k, v in defaults.items() if v is not None and k not in self.option_dict())
        return dataclasses.replace(self, options=self.options + extra)

    def __str__(self) -> str:
        return self.label


def parse_spec(text: str, what: str = "model", *, name: str | None = None) -> Spec:
    """``name[:key=value[:key=value…]]`` → Spec. ``name``, where given, is the start of ``text``
    taken whole although it holds ':' (a dataset's path); the options follow it."""
    if name is None:
        name, *pairs = text.strip().split(":")
        if what != "dataset" and pairs and is_import_path(f"{name}:{pairs[0]}"):
            name, pairs = f"{name}:{pairs[0]}", pairs[1:]
    else:
        pairs = text.strip()[len(name):].split(":")[1:]
    pairs = rejoined(pairs)
    if not name:
        raise UsageError(f"empty {what} name in {text!r}; write e.g. vae or vae:latent_dim=8")
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{what} option {pair!r} in {text!r} must be key=value, e.g. {name}:latent_dim=8")
        if key in options:
            raise UsageError(f"{what} option {key!r} is given twice in {text!r}")
        options[key] = value
    return Spec(name, tuple(options.items()))


def rejoined(pairs: list[str]) -> list[str]:
    """The ``key=value`` parts of a spec with a value that is an import path put back together:
    ``extractor=mypackage.features`` and ``MyNet`` are ``extractor=mypackage.features:MyNet``."""
    joined: list[str] = []
    for pair in pairs:
        if joined and "=" not in pair and is_import_path(f"{joined[-1].partition('=')[2]}:{pair}"):
            joined[-1] = f"{joined[-1]}:{pair}"
        else:
            joined.append(pair)
    return joined


def parse_specs(text: str, what: str = "model") -> list[Spec]:
    """A comma-separated list of specs; at least one, each label once."""
    specs = [parse_spec(part, what) for part in text.split(",")] if text.strip() else []
    if not specs:
        raise UsageError(f"expected at least one {what}, e.g. vae or vae,gan:latent_dim=64")
    labels = [s.label for s in specs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise UsageError(f"{what} {duplicates[0]!r} is listed twice")
    return specs


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` → [0, 1, 2]; non-negative integers, each once."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds takes distinct non-negative integers separated by commas, e.g. 0,1,2; got {text!r}")
    return seeds


ARRAY_SUFFIXES = (".npy", ".npz", ".pt")
PATH_ALTERNATIVE = ", or the path of your own data: a folder of PNG/JPEG images or a .npy, .npz or .pt file"


def weight_files(text: str | None, inception: str | None = None) -> dict[str, Path]:
    """Extractor weights files by extractor name, from ``--weights NAME=PATH[,NAME=PATH]`` and the older
    ``--inception-weights PATH`` (which ``--weights inception=PATH`` overrides)."""
    files = {"inception": Path(inception).expanduser()} if inception else {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, equals, path = part.partition("=")
        if not equals or not name.strip() or not path.strip():
            raise UsageError(f"--weights takes NAME=PATH pairs separated by commas "
                             f"(dinov2-vit-b-14=dinov2_vitb14_pretrain.pth), got {part!r}")
        files[name.strip()] = Path(path.strip()).expanduser()
    return files


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


def check_dataset_name(name: str, registry: Registry) -> bool:
    """True for a registered dataset, False for the path of an existing file or folder; otherwise
    ``DataMissingError`` (it looks like a path) or ``UnknownNameError``. Imports nothing."""
    path = Path(name).expanduser()
    if name in registry:
        return True
    if path.exists():
        return False
    if "/" in name or os.sep in name or name.startswith(("~", ".")) or path.suffix.lower() in ARRAY_SUFFIXES:
        raise DataMissingError(f"there is no file or folder {path} (--dataset takes a registered name or the path "
                               "of your own data)")
    raise UnknownNameError("dataset", name, registry.names(), PATH_ALTERNATIVE)


def check_names(specs: list[Spec] | tuple[Spec, ...], registry: Registry) -> None:
    """``UnknownNameError`` for a spec whose name is neither registered nor an import path the registry
    takes; imports nothing, so a mistyped name is reported before torch loads."""
    for spec in specs:
        if not (registry.import_paths and ":" in spec.name) and spec.name not in registry:
            registry.entry(spec.name)  # raises, listing the valid names
