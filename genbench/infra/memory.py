"""How the C allocator keeps freed memory, in the processes that train and measure models.

glibc's malloc gives large freed blocks back to the system at once: a block above its mmap threshold (128 KiB at
first, raised towards 32 MiB as such blocks are freed) is unmapped when freed, and the top of the heap is trimmed
above 128 KiB. A network's activations are allocated and freed at every step, so each step page-faults its memory
back in. The VAE's K = 1000 bound over 256 digits ran at 50 examples/s in a fresh process and at 95–100 once the
allocator kept its blocks (2 threads of a Xeon, 2026-12-02); a VAE's default fit and bound on one thread took 31.8 s
and 26.3 s. Which of the two a timed figure read depended on what the process had run before: a worker's first
model read half what the same model read in a process that had trained others.

``keep_freed_memory`` fixes both thresholds (which also stops their drift): blocks up to 32 MiB come from the heap,
and up to 1 GiB of freed heap is kept for the next step. The run service calls it where cells compute (this process
and each local worker), unless the user set glibc's own ``MALLOC_*`` variables or ``GLIBC_TUNABLES``, which win.
Elsewhere (another C library, another system) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""mallopt's parameters (glibc's malloc.h)."""

MMAP_THRESHOLD = 32 << 20
"""The largest mmap threshold glibc accepts on 64-bit systems (its dynamic threshold's ceiling)."""

TRIM_THRESHOLD = 1 << 30

_fixed = False


def chosen_by_user(environ: Mapping[str, str] = os.environ) -> bool:
    return "GLIBC_TUNABLES" in environ or any(key.startswith("MALLOC_") for key in environ)


def keep_freed_memory(environ: Mapping[str, str] = os.environ) -> bool:
    """Fix glibc's mmap and trim thresholds (see the module's docstring); whether they were set."""
    global _fixed
    if chosen_by_user(environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _fixed = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _fixed


def allocator_settings(environ: Mapping[str, str] = os.environ) -> dict[str, str | int]:
    """What environment.json records: the user's ``MALLOC_*``/``GLIBC_TUNABLES``, else the thresholds
    ``keep_freed_memory`` fixed in this process (empty when it fixed none)."""
    if chosen_by_user(environ):
        return {k: v for k, v in sorted(environ.items()) if k == "GLIBC_TUNABLES" or k.startswith("MALLOC_")}
    return {"mmap_threshold": MMAP_THRESHOLD, "trim_threshold": TRIM_THRESHOLD} if _fixed else {}
