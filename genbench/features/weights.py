"""Where an extractor's pretrained weights come from, and the check that they are the published file.

Every pretrained extractor resolves its weights the same way (``resolve``): the file given with
``--weights NAME=PATH``, else the file named by ``$GENBENCH_WEIGHTS_<NAME>``, else genbench's copy at
``<cache>/weights/<filename>``, else a download from the publisher's URL into that cache, unless
``GENBENCH_OFFLINE=1`` forbids it. Whichever it is, its SHA-256 must be the published one: a file that differs
is refused, never used (a copy in genbench's own cache that differs is removed and fetched again).

Hashing a 1.2 GB file takes seconds, so a check's result is remembered in ``<cache>/weights/verified.json``,
keyed by the file's absolute path, device, inode, size, modification time and change time. Replacing, rewriting
or touching the file changes one of those (the change time cannot be set back by user tools), and the file is
hashed again. What the key cannot see is a change below the file system (a bit flipped on disk); deleting
``verified.json`` forces every file to be hashed again.

Trust on first use: for an entry whose publisher gives no SHA-256 (``sha256=None``), the first file accepted
has its hash recorded in ``<cache>/weights/first-use.json``, later files must match that record, and the origin
says so.

A download streams, through ``genbench.infra.atomic.write_atomic``, into a temporary file beside its target
(``.NAME.PID.RANDOM.tmp``, which ``genbench.infra.atomic.remove_orphans`` deletes if the process was killed),
hashed as it arrives, and is renamed into place only when it is complete and its hash matches; a failed one
leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import http.client
import json
import logging
import os
import re
import urllib.request
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from genbench.errors import DataMissingError, UnknownNameError
from genbench.infra.atomic import remove_orphans, write_atomic, write_json
from genbench.infra.cache import cache_root, file_sha256

log = logging.getLogger(__name__)

OFFLINE_ENV = "GENBENCH_OFFLINE"
WEIGHTS_ENV_PREFIX = "GENBENCH_WEIGHTS_"
WEIGHTS_FOLDER = "weights"
"""The cache's subfolder for published weights, under their published file names."""
VERIFIED_FILE = "verified.json"
FIRST_USE_FILE = "first-use.json"

CHUNK = 1 << 20
TIMEOUT_S = 60
"""Seconds without a byte from the server before a download gives up."""
PROGRESS_MIN_BYTES = 32 << 20
"""Downloads at least this big log their progress (every 10%, or every PROGRESS_UNKNOWN_BYTES without a size)."""
PROGRESS_UNKNOWN_BYTES = 100 << 20

NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


def offline() -> bool:
    """True when $GENBENCH_OFFLINE forbids downloads (any value but empty, 0, false, no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def weights_env(name: str) -> str:
    """The variable that names a file for weights ``name``: GENBENCH_WEIGHTS_ and the name in capitals, each
    ``-`` an ``_`` (``dinov2-vit-b-14`` → ``GENBENCH_WEIGHTS_DINOV2_VIT_B_14``)."""
    return WEIGHTS_ENV_PREFIX + name.upper().replace("-", "_")


def weights_flag(name: str) -> str:
    return f"--weights {name}=PATH"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PublishedWeights:
    """A pretrained file as its publisher distributes it.

    ``sha256`` is the hex SHA-256 of the published file, or None where no trustworthy one is known (trust on
    first use, see the module). ``flag`` and ``env`` are derived from ``name`` and say how a user supplies the
    file; ``extra`` is the pip extra the extractor needs (``pip install 'genbench[extra]'``), if any.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    source: str
    size_bytes: int | None = None
    extra: str | None = None
    flag: str = dataclasses.field(init=False)
    env: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"weights name {self.name!r} must be lowercase letters and digits joined by single "
                             "dashes, e.g. 'dinov2-vit-b-14'")
        if not self.filename or Path(self.filename).name != self.filename or self.filename.startswith("."):
            raise ValueError(f"weights {self.name}: filename {self.filename!r} must be a plain file name")
        if urlsplit(self.url).scheme not in ("http", "https") or not urlsplit(self.url).netloc:
            raise ValueError(f"weights {self.name}: url {self.url!r} must be an http(s) URL")
        if self.sha256 is not None and not SHA256_PATTERN.fullmatch(self.sha256):
            raise ValueError(f"weights {self.name}: sha256 must be 64 lowercase hex digits, not {self.sha256!r}")
        if self.size_bytes is not None and self.size_bytes <= 0:
            raise ValueError(f"weights {self.name}: size_bytes must be positive, not {self.size_bytes}")
        object.__setattr__(self, "flag", weights_flag(self.name))
        object.__setattr__(self, "env", weights_env(self.name))


@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """A checked file of weights: where it is, its SHA-256, and how it was had, in words."""

    path: Path
    sha256: str
    origin: str


def card(name: str, dimension: int, side: int, preprocessing: str) -> dict[str, str]:
    """What ``genbench list`` says of a pretrained extractor whose weights are ``PUBLISHED[name]``."""
    weights = PUBLISHED[name]
    return {"dimension": str(dimension), "input": f"{side}×{side} RGB", "preprocessing": preprocessing,
            "weights": f"{weights.source}: {weights.url}",
            "sha256": weights.sha256 or "not published (recorded at first use)"}


def published(name: str) -> PublishedWeights:
    """The entry of ``PUBLISHED`` called ``name``; an unknown name raises ``UnknownNameError``."""
    if name not in PUBLISHED:
        raise UnknownNameError("weights", name, PUBLISHED)
    return PUBLISHED[name]


def resolve(weights: PublishedWeights, given: str | Path | None, cache_dir: Path | str | None) -> ResolvedWeights:
    """The file of ``weights``, checked: ``given`` (the flag's path), else ``$<weights.env>``, else
    ``<cache>/weights/<filename>``, else a download into it unless offline (``cache_dir`` as ``cache_root``
    takes it). Raises ``DataMissingError`` (one line) when there is none, or the one there is not the published
    file."""
    folder = cache_root(cache_dir) / WEIGHTS_FOLDER
    if given is not None and str(given).strip():
        return _checked_given(weights, Path(given).expanduser(), f"given by {weights.flag}", folder)
    from_env = os.environ.get(weights.env, "").strip()
    if from_env:
        return _checked_given(weights, Path(from_env).expanduser(), f"given by ${weights.env}", folder)
    cached = folder / weights.filename
    situation = f"no {weights.flag}, no ${weights.env}, no file at {cached}"
    if cached.is_file():
        digest = _digest(cached, folder)
        expected, whose = _expected(weights, folder)
        if expected is None or digest == expected:
            return ResolvedWeights(cached, digest, f"genbench's cache ({cached})" + _trust(weights, digest, folder))
        log.warning("%s in genbench's cache has SHA-256 %s, not %s %s; removing it", cached, digest, whose, expected)
        cached.unlink(missing_ok=True)
        situation = f"no {weights.flag}, no ${weights.env}, {cached} was not the published file (removed)"
    if offline():
        raise DataMissingError(f"{weights.name} weights not found: {situation}, and {OFFLINE_ENV}=1 forbids "
                               f"downloading {weights.url}; {_remedy(weights, cached)}")
    return _download(weights, cached, folder)


def _checked_given(weights: PublishedWeights, path: Path, how: str, folder: Path) -> ResolvedWeights:
    if not path.is_file():
        raise DataMissingError(f"{weights.name} weights not found: no file at {path} ({how}); the published "
                               f"{weights.filename} is at {weights.url}")
    digest = _digest(path, folder)
    expected, whose = _expected(weights, folder)
    if expected is not None and digest != expected:
        raise DataMissingError(f"refusing {path} ({how}) as {weights.name} weights: its SHA-256 is {digest}, "
                               f"{whose} is {expected}{_size_note(weights, path)}; the published "
                               f"{weights.filename} is at {weights.url}")
    return ResolvedWeights(path, digest, f"{path}, {how}" + _trust(weights, digest, folder))


def _remedy(weights: PublishedWeights, cached: Path) -> str:
    extra = f" (the extractor also needs pip install 'genbench[{weights.extra}]')" if weights.extra else ""
    return (f"fetch {weights.filename} from there and pass {weights.flag}, set ${weights.env} to it, or put it at "
            f"{cached}{extra}")


def _size_note(weights: PublishedWeights, path: Path) -> str:
    size = path.stat().st_size
    if weights.size_bytes is None or size == weights.size_bytes:
        return ""
    return f" (it has {size} bytes, the published file {weights.size_bytes})"


# The SHA-256 a file must have: the published one, else the one recorded on first use.

def _expected(weights: PublishedWeights, folder: Path) -> tuple[str | None, str]:
    """(SHA-256 the file must have, whose it is in words); (None, ...) before a first use."""
    if weights.sha256 is not None:
        return weights.sha256, "the published file's"
    record = _read_json(folder / FIRST_USE_FILE).get(weights.name)
    if isinstance(record, dict) and SHA256_PATTERN.fullmatch(str(record.get("sha256", ""))):
        return record["sha256"], (f"the one recorded on first use in {folder / FIRST_USE_FILE} (no SHA-256 is "
                                  "published; remove that record to trust another file)")
    return None, "no published SHA-256"


def _trust(weights: PublishedWeights, digest: str, folder: Path) -> str:
    """The origin's words on the hash; records ``digest`` when this is the first use of unpublished weights."""
    if weights.sha256 is not None:
        return ""
    if _expected(weights, folder)[0] is not None:
        return f"; no published SHA-256, matches the one recorded on first use in {folder / FIRST_USE_FILE}"
    path = folder / FIRST_USE_FILE
    records = _read_json(path)
    records[weights.name] = {"sha256": digest, "filename": weights.filename, "url": weights.url,
                             "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        write_json(path, records)
    except OSError as error:
        log.warning("could not record the SHA-256 of %s weights in %s (%s)", weights.name, path, _line(error))
        return f"; no published SHA-256, trusted on first use ({digest}) but not recorded"
    log.warning("%s weights: no published SHA-256; trusting %s on first use, recorded in %s", weights.name, digest,
                path)
    return f"; no published SHA-256, trusted on first use and recorded in {path}"


# Hashes remembered by (path, device, inode, size, mtime, ctime), so that a big file is hashed once.

def _stamp(path: Path) -> list[int]:
    status = path.stat()
    return [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]


def _digest(path: Path, folder: Path) -> str:
    """SHA-256 of ``path``, from ``verified.json`` when the file has not changed since it was hashed."""
    key, stamp = str(path.resolve()), _stamp(path)
    entry = _read_json(folder / VERIFIED_FILE).get(key)
    if isinstance(entry, dict) and entry.get("stamp") == stamp and SHA256_PATTERN.fullmatch(str(entry.get("sha256"))):
        log.debug("SHA-256 of %s remembered from %s", path, folder / VERIFIED_FILE)
        return entry["sha256"]
    log.log(logging.INFO if stamp[2] >= PROGRESS_MIN_BYTES else logging.DEBUG, "checking the SHA-256 of %s (%d MB)",
            path, stamp[2] >> 20)
    digest = file_sha256(path)
    if _stamp(path) == stamp:  # not changed while it was read
        _remember(folder, path, digest)
    return digest


def _remember(folder: Path, path: Path, digest: str) -> None:
    memo_path = folder / VERIFIED_FILE
    memo = {}
    for key, entry in _read_json(memo_path).items():  # keep the entries whose file is still there unchanged
        try:
            if isinstance(entry, dict) and entry.get("stamp") == _stamp(Path(key)):
                memo[key] = entry
        except OSError:
            pass
    memo[str(path.resolve())] = {"stamp": _stamp(path), "sha256": digest}
    try:
        write_json(memo_path, memo)
    except OSError as error:  # only costs hashing again next time
        log.debug("could not remember the SHA-256 of %s in %s (%s)", path, memo_path, _line(error))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable %s (%s)", path, _line(error))
        return {}
    return loaded if isinstance(loaded, dict) else {}


# Downloads.

class _DownloadFailed(Exception):
    """A download that cannot be kept: truncated, the wrong size or the wrong hash."""


def _download(weights: PublishedWeights, target: Path, folder: Path) -> ResolvedWeights:
    """Stream ``weights.url`` into a temporary file beside ``target``, hashing it, and rename it into place
    only when complete and matching; on any failure nothing is left and ``DataMissingError`` is raised."""
    expected, whose = _expected(weights, folder)
    fetched: dict[str, Any] = {}

    def fetch(out: IO[bytes]) -> None:
        digest, received = _stream(weights, out)
        if expected is not None and digest != expected:
            raise _DownloadFailed(f"its SHA-256 is {digest}, {whose} is {expected}")
        fetched.update(digest=digest, received=received)

    log.info("downloading %s weights from %s into %s", weights.name, weights.url, target)
    try:
        remove_orphans(folder)
        write_atomic(target, fetch, binary=True)  # nothing is renamed into place unless fetch returns
    except (OSError, http.client.HTTPException, _DownloadFailed) as error:
        raise DataMissingError(f"{weights.name} weights not found: downloading {weights.url} into {target} failed "
                               f"({_line(error)}), nothing was kept; {_remedy(weights, target)}") from None
    digest, received = fetched["digest"], fetched["received"]
    log.info("downloaded %s (%d bytes, SHA-256 %s)", target, received, digest)
    _remember(folder, target, digest)
    return ResolvedWeights(target, digest, f"downloaded from {weights.url} into {target}"
                           + _trust(weights, digest, folder))


def _stream(weights: PublishedWeights, out: IO[bytes]) -> tuple[str, int]:
    """Copy the response to ``out``; (SHA-256, bytes). A response shorter than its Content-Length, or not of
    the published size, raises ``_DownloadFailed``."""
    request = urllib.request.Request(weights.url, headers={"User-Agent": "genbench"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length", "")
        announced = int(length) if length.strip().isdigit() else None
        if announced is not None and weights.size_bytes is not None and announced != weights.size_bytes:
            raise _DownloadFailed(f"the server offers {announced} bytes, the published file has {weights.size_bytes}")
        total = announced if announced is not None else weights.size_bytes
        digest, received, reported = hashlib.sha256(), 0, 0
        while chunk := response.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            reported = _progress(weights.name, received, total, reported)
    if announced is not None and received != announced:
        raise _DownloadFailed(f"the connection ended after {received} of {announced} bytes")
    if weights.size_bytes is not None and received != weights.size_bytes:
        raise _DownloadFailed(f"got {received} bytes, the published file has {weights.size_bytes}")
    return digest.hexdigest(), received


def _progress(name: str, received: int, total: int | None, reported: int) -> int:
    """Log at INFO each new tenth of a big download (or each PROGRESS_UNKNOWN_BYTES when its size is unknown);
    returns the step last reported."""
    if total is not None and total >= PROGRESS_MIN_BYTES:
        step = min(received * 10 // total, 10)
        if step > reported:
            log.info("downloading %s weights: %d%% (%d of %d MB)", name, 10 * step, received >> 20, total >> 20)
        return max(step, reported)
    if total is None:
        step = received // PROGRESS_UNKNOWN_BYTES
        if step > reported:
            log.info("downloading %s weights: %d MB", name, received >> 20)
        return max(step, reported)
    return reported


def _line(error: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__


# The published files. Meta publishes no hash for DINOv2: those below are the SHA-256 of the files at Meta's
# URLs as computed and pinned, identically, by many independent projects (their sizes agree too). OpenAI's
# CLIP URLs carry the file's SHA-256 as a path segment, which openai/CLIP's own loader checks.

_DINOV2 = "Meta, facebookresearch/dinov2"
_CLIP = "OpenAI, openai/CLIP"
_CLIP_URL = "https://openaipublic.azureedge.net/clip/models/{sha256}/{filename}"


def _clip(name: str, filename: str, sha256: str, size_bytes: int) -> PublishedWeights:
    return PublishedWeights(name=name, filename=filename, url=_CLIP_URL.format(sha256=sha256, filename=filename),
                            sha256=sha256, size_bytes=size_bytes, source=_CLIP)


PUBLISHED: dict[str, PublishedWeights] = {weights.name: weights for weights in (
    PublishedWeights(
        name="dinov2-vit-s-14", filename="dinov2_vits14_pretrain.pth",
        url="https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth",
        sha256="b938bf1bc15cd2ec0feacfe3a1bb553fe8ea9ca46a7e1d8d00217f29aef60cd9", size_bytes=88_283_115,
        source=_DINOV2),
    PublishedWeights(
        name="dinov2-vit-b-14", filename="dinov2_vitb14_pretrain.pth",
        url="https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_pretrain.pth",
        sha256="0b8b82f85de91b424aded121c7e1dcc2b7bc6d0adeea651bf73a13307fad8c73", size_bytes=346_378_731,
        source=_DINOV2),
    PublishedWeights(
        name="dinov2-vit-l-14", filename="dinov2_vitl14_pretrain.pth",
        url="https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth",
        sha256="d5383ea8f4877b2472eb973e0fd72d557c7da5d3611bd527ceeb1d7162cbf428", size_bytes=1_217_586_395,
        source=_DINOV2),
    _clip("clip-vit-b-32", "ViT-B-32.pt", "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
          353_976_522),
    _clip("clip-vit-l-14", "ViT-L-14.pt", "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
          932_768_134),
    _clip("clip-vit-l-14-336px", "ViT-L-14-336px.pt",
          "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02", 934_088_680),
)}
