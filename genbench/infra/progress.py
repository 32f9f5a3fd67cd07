"""Progress of long work: a bar on a terminal, a heartbeat line in a log, nothing when quiet.

On a terminal (stderr is a TTY) a tqdm bar shows each step. When the output goes to a file or a CI
log, a bar would be one unreadable line, so instead a line is logged every ``HEARTBEAT_SECONDS``
(``genbench: train vae: epoch 57/148, val_loss 84.1, 1 min 30 s``): a log never stays silent for
minutes. ``--quiet`` shows neither.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
ALIVE_SECONDS = 60.0
"""How often ``alive`` says where long work stands when nothing else was said."""

_enabled: bool | None = None


def set_enabled(enabled: bool | None) -> None:
    """True: always a bar; False: nothing; None (default): a bar on a terminal, else heartbeat lines."""
    global _enabled
    _enabled = enabled


def progress(iterable: Iterable[T] | None, *, desc: str = "", total: int | None = None, unit: str = "it",
             leave: bool = False, **kwargs: Any) -> tqdm | Heartbeat:
    """``iterable`` with its progress shown (see the module docstring); both kinds take ``set_postfix``. Without an
    iterable (None) it counts what ``update`` says was done, up to ``total``, until ``close``."""
    if _enabled is None and not sys.stderr.isatty():
        return Heartbeat(iterable, desc, total if total is not None else _length(iterable), unit)
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, dynamic_ncols=True,
                disable=not _enabled if _enabled is not None else None, **kwargs)


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


class Heartbeat:
    """Yields the items of ``iterable`` and logs where it is every ``HEARTBEAT_SECONDS``."""

    def __init__(self, iterable: Iterable[T], desc: str, total: int | None, unit: str,
                 every: float = HEARTBEAT_SECONDS):
        self.iterable, self.desc, self.total, self.unit, self.every = iterable, desc, total, unit, every
        self.postfix: dict[str, Any] = {}
        self.n = 0
        self.start = self.last = time.monotonic()

    def set_postfix(self, postfix: dict[str, Any]) -> None:
        self.postfix = dict(postfix)

    def update(self, done: int = 1) -> None:
        """``done`` more of the work counted without an iterable; a line when ``every`` seconds passed."""
        self.n += done
        self.beat()

    def beat(self) -> None:
        """A line saying how much is done, when ``every`` seconds passed since the last."""
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            of = f"/{self.total}" if self.total is not None else ""
            extra = "".join(f", {k} {v}" for k, v in self.postfix.items())
            log.info("%s: %s %d%s%s, %s", self.desc, self.unit, self.n, of, extra, elapsed(now - self.start))

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[T]:
        self.start = self.last = time.monotonic()
        for item in self.iterable:
            self.beat()
            yield item
            self.n += 1


def elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


@contextlib.contextmanager
def alive(where: Callable[[], str], say: Callable[[str], None], every: float = ALIVE_SECONDS) -> Iterator[None]:
    """Within the block, ``say(where() + elapsed)`` every ``every`` seconds from a background thread: a log (and a
    terminal) hears from work whose parts take minutes each (a cell trained in a worker process) even while none
    of them finishes. Nothing when progress is off (``--quiet``)."""
    if _enabled is False:
        yield
        return
    stop = threading.Event()
    started = time.monotonic()

    def speak() -> None:
        while not stop.wait(every):
            say(f"{where()}; {elapsed(time.monotonic() - started)}")

    thread = threading.Thread(target=speak, name="genbench-alive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every)
