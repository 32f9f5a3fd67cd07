"""Atomic file writes: a reader sees the old file or the new one, never half of either.

A write goes to a temporary file beside its target, named with the writer's process id, and is renamed
into place when complete. A writer killed mid-write (SIGKILL, a power cut) leaves that temporary file
behind; ``remove_orphans`` deletes those whose writer is gone (``genbench run --resume`` does, and the
cache before it reads).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

TEMPORARY = ".tmp"
"""The suffix of a write in progress: ``.NAME.PID.RANDOM.tmp`` beside NAME."""


def write_atomic(path: Path, write: Callable[[IO[Any]], None], *, binary: bool = False) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMPORARY, dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # what open() would give, not mkstemp's owner-only 0600
    try:
        text_options = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, "wb" if binary else "w", **text_options) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:  # name the file the caller wrote (a failed write names none, or the temporary)
        Path(tmp).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_orphans(folder: Path) -> list[Path]:
    """Delete the temporary files in ``folder`` (and below) that a killed writer left behind: those whose
    writer, named by the process id in the file's name, is no longer running. Returns them."""
    removed = []
    for tmp in Path(folder).rglob(f".*{TEMPORARY}"):
        pid = tmp.name[: -len(TEMPORARY)].split(".")[-2]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda handle: handle.write(text))


def write_bytes(path: Path, data: bytes) -> None:
    write_atomic(path, lambda handle: handle.write(data), binary=True)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
