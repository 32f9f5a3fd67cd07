"""The run directory: every file a run writes, written atomically, never overwritten silently."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, one writer is then the user's care
    fcntl = None  # type: ignore[assignment]

import pandas as pd

from genbench.errors import UsageError, first_sentence
from genbench.infra.atomic import write_json, write_text
from genbench.records import COLUMNS, normalise

CONFIG = "config.json"
ENVIRONMENT = "environment.json"
DATASET = "dataset.json"
METRICS = "metrics.csv"
TIMINGS = "timings.json"
LOG = "run.log"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
LATENT = "latent"
WRITER = ".writer.lock"
"""The lock file that makes one process at a time the run directory's writer (``RunDir.claim``)."""

_claimed: dict[Path, IO[str]] = {}
"""The run directories this process writes, with the open lock file that holds each."""


def safe_name(label: str) -> str:
    """A label as a file name: letters, digits and ``-_.`` kept, anything else ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def default_run_path(dataset: str, root: Path = Path("runs")) -> Path:
    """runs/<dataset>-<UTC time>, with a numeric suffix if that name is taken."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    safe = safe_name(dataset)
    path = root / f"{safe}-{stamp}"
    suffix = 2
    while path.exists():
        path = root / f"{safe}-{stamp}-{suffix}"
        suffix += 1
    return path


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def refuse_existing(cls, path: Path) -> None:
        """Raise ``UsageError`` when ``path`` is a file or a folder that is not empty."""
        path = Path(path)
        if path.is_dir() and any(path.iterdir()):
            hint = ("finish it with --resume or choose another --out" if (path / CONFIG).is_file()
                    else "choose another --out")
            raise UsageError(f"{path} already exists and is not empty; {hint}")
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path} is a file; --out takes a folder for the run directory")

    @classmethod
    def create(cls, path: Path) -> RunDir:
        """A new run directory, claimed by this process as its writer (``claim``)."""
        cls.refuse_existing(path)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        return cls(path).claim()

    @classmethod
    def existing(cls, path: Path) -> RunDir:
        path = Path(path)
        if not (path / CONFIG).is_file():
            raise UsageError(f"{path} is not a genbench run directory (no {CONFIG} in it)")
        return cls(path)

    def claim(self) -> RunDir:
        """Make this process the directory's one writer until it ends or ``release``s it: an exclusive ``flock``
        on ``WRITER``, which names the process. ``UsageError`` naming the writer (pid, host, since when) while
        another process holds it, so that a second ``--resume`` does not compute the same cells beside the first;
        the kernel releases a killed process's lock, so a resume after a crash is never blocked."""
        key = self.path.resolve()
        if fcntl is None or key in _claimed:
            return self
        handle = open(self.file(WRITER), "a+", encoding="utf-8")  # noqa: SIM115 - held until released
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = _owner(handle.read())
            handle.close()
            raise UsageError(f"{self.path} is being written by another genbench process ({owner}); wait for it to "
                             "finish or stop it, then resume (two writers would compute the same cells)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": dt.datetime.now().astimezone().isoformat(timespec="seconds")}))
        handle.flush()
        _claimed[key] = handle
        return self

    def release(self) -> None:
        """Stop being the directory's writer (the lock file stays, unlocked)."""
        handle = _claimed.pop(self.path.resolve(), None)
        if handle is not None:
            handle.close()

    def file(self, name: str) -> Path:
        return self.path / name

    # ---------------------------------------------------------------------------------- documents
    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.file(name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UsageError(f"cannot read {self.file(name)}: {first_sentence(error)}") from None

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> None:
        write_text(self.file(name), text)

    # ------------------------------------------------------------------------------------ metrics
    def read_metrics(self, required: bool = False) -> pd.DataFrame:
        """metrics.csv; empty when it does not exist yet, unless ``required`` (then ``UsageError``, as for
        a file that cannot be read or holds no records)."""
        path = self.file(METRICS)
        if not path.exists():
            if required:
                raise UsageError(f"{self.path} has no {METRICS}: no cell has finished")
            return normalise(pd.DataFrame(columns=COLUMNS))
        try:
            frame = pd.read_csv(path, keep_default_na=False, na_values={"value": ["", "nan"], "stderr": ["", "nan"]})
        except pd.errors.EmptyDataError:
            raise UsageError(f"{path} is empty") from None
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read {path}: {first_sentence(error)}") from None
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise UsageError(f"{path} lacks the columns {', '.join(missing)}; is it a genbench metrics.csv?")
        if required and frame.empty:
            raise UsageError(f"{path} holds no records")
        return normalise(frame)

    def write_metrics(self, frame: pd.DataFrame) -> None:
        self.write_text(METRICS, normalise(frame).to_csv(index=False))


def _owner(text: str) -> str:
    """``pid 1234 on vm, since 2026-12-06T01:23:45+00:00`` from a lock file's content (or what is known)."""
    try:
        owner = json.loads(text)
        return f"pid {owner['pid']} on {owner['host']}, since {owner['since']}"
    except (ValueError, KeyError, TypeError):
        return "a process that left no name"
