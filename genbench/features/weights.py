"""Where an extractor's pretrained weights come from."""

from __future__ import annotations

import os

OFFLINE_ENV = "GENBENCH_OFFLINE"


def offline() -> bool:
    """True when $GENBENCH_OFFLINE forbids downloads (any value but empty, 0, false, no)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")
