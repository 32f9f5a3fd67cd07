"""A content-addressed cache for what metrics derive from a dataset (reference features, trained
feature extractors), so that every model and every run measures against the same reference
without recomputing it.

Where: ``EvalContext.cache_dir``, else ``$GENBENCH_CACHE_DIR``, else ``~/.cache/genbench``.

Keys: an entry is named by the SHA-256 of the canonical JSON of everything it depends on (the
dataset's content fingerprint, the split, the extractor and its weight hash, the sample count,
the entry format's version). A changed dataset or extractor therefore has a different key and
misses; nothing is ever invalidated in place.

Files: ``<root>/<kind>/<key>.pt`` holds tensors only (``torch.save`` of a dict of tensors, read
back with ``torch.load(weights_only=True)``, which refuses pickled code) and ``<key>.json``
beside it holds the key's parts, the tensor file's SHA-256 and any metadata. Both are written
atomically; an entry that cannot be read, or whose tensor file no longer has that SHA-256 (a flipped
bit, a truncated copy), is never trusted: it is recomputed and overwritten, with a warning.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from genbench.infra.atomic import remove_orphans, write_bytes, write_json

log = logging.getLogger(__name__)

CACHE_ENV = "GENBENCH_CACHE_DIR"
FORMAT = 1
"""Bumped when an entry's layout changes, so old entries miss instead of being misread."""

Tensors = dict[str, torch.Tensor]


def cache_root(configured: Path | str | None = None) -> Path:
    """The cache folder: ``configured``, else $GENBENCH_CACHE_DIR, else ~/.cache/genbench."""
    if configured is not None:
        return Path(configured).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path.home() / ".cache" / "genbench"


def content_key(parts: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parts`` plus the format version."""
    text = json.dumps({"format": FORMAT, **parts}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def as_json(parts: Mapping[str, Any]) -> dict[str, Any]:
    """``parts`` as JSON reads it back (tuples become lists), for comparing with a stored key."""
    return json.loads(json.dumps(dict(parts), default=str))


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def save_tensors(path: Path, tensors: Mapping[str, torch.Tensor]) -> None:
    """Write a dict of tensors atomically (contiguous CPU copies, so the file holds nothing else)."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, buffer)
    write_bytes(path, buffer.getvalue())


def load_tensors(path: Path) -> Tensors:
    """Read a dict of tensors with ``weights_only=True``; anything else raises ``ValueError``."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling errors have many types
        raise ValueError(f"{path} is not a tensor file genbench can read safely: {error}") from error
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ValueError(f"{path} does not hold a dict of tensors")
    return dict(loaded)


class Cache:
    """Entries of one ``kind`` (a subfolder) under the cache root."""

    def __init__(self, root: Path, kind: str):
        self.folder = Path(root) / kind

    def paths(self, parts: Mapping[str, Any]) -> tuple[Path, Path]:
        key = content_key(parts)
        return self.folder / f"{key}.pt", self.folder / f"{key}.json"

    def load(self, parts: Mapping[str, Any]) -> tuple[Tensors, dict[str, Any]] | None:
        """The entry's tensors and metadata, or None when it is missing or unreadable."""
        tensor_path, meta_path = self.paths(parts)
        if not (tensor_path.is_file() and meta_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("sha256") != file_sha256(tensor_path):
                raise ValueError("its contents do not match the SHA-256 recorded when it was written")
            tensors = load_tensors(tensor_path)
        except (OSError, ValueError, AttributeError) as error:
            log.warning("ignoring unreadable cache entry %s (%s); recomputing it", tensor_path, error)
            return None
        if meta.get("key") != as_json(parts):
            log.warning("cache entry %s belongs to another key; recomputing it", meta_path)
            return None
        return tensors, meta.get("meta", {})

    def save(self, parts: Mapping[str, Any], tensors: Mapping[str, torch.Tensor],
             meta: Mapping[str, Any] | None = None) -> Path:
        """Write an entry (tensors first, then the JSON that completes it); returns the tensor file."""
        tensor_path, meta_path = self.paths(parts)
        save_tensors(tensor_path, tensors)
        write_json(meta_path, {"format": FORMAT, "key": as_json(parts), "sha256": file_sha256(tensor_path),
                               "meta": dict(meta or {})})
        return tensor_path

    def fetch(self, parts: Mapping[str, Any],
              compute: Callable[[], tuple[Mapping[str, torch.Tensor], Mapping[str, Any]]],
              ) -> tuple[Tensors, dict[str, Any], bool]:
        """(tensors, metadata, hit): the stored entry, or ``compute()``'s result, stored first."""
        if self.folder.is_dir():
            remove_orphans(self.folder)
        found = self.load(parts)
        if found is not None:
            log.debug("cache hit: %s", self.paths(parts)[0])
            return found[0], found[1], True
        tensors, meta = compute()
        path = self.save(parts, tensors, meta)
        log.debug("cache miss, stored: %s", path)
        return dict(tensors), dict(meta), False
