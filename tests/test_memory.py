"""The allocator keeps freed memory where cells compute (``genbench.infra.memory``).

The behaviour is checked by the kernel's count of minor page faults: a step that allocates and frees tens of
megabytes faults every page back in when glibc returns them to the system, and none once it keeps them.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from genbench.infra import memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")

STEPS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from genbench.infra import memory
    if sys.argv[1] == "keep":
        assert memory.keep_freed_memory({})

    def step():
        blocks = [np.ones(10 << 17) for _ in range(4)]  # four 10 MiB blocks, written, then freed together
        del blocks

    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@glibc
def test_freed_blocks_are_kept_for_the_next_step():
    """Ten steps of 40 MiB: glibc's defaults give part of it back to the system after each step and fault it in
    again (about 2 000 pages a step here, of the 10 240 written); with the thresholds fixed, the steps reuse the
    first one's pages (none faulted here). The bound: under a twentieth of the defaults' faults."""
    default, kept = page_faults("default"), page_faults("keep")
    assert default > 10 * 500, f"the defaults kept the memory here too ({default} faults): no contrast"
    assert kept < default / 20, (kept, default)


@glibc
def test_the_thresholds_are_recorded():
    assert memory.keep_freed_memory({})
    assert memory.allocator_settings({}) == {"mmap_threshold": 32 << 20, "trim_threshold": 1 << 30}


def test_the_users_own_settings_win():
    environ = {"MALLOC_ARENA_MAX": "2", "PATH": "/bin"}
    assert not memory.keep_freed_memory(environ)
    assert memory.allocator_settings(environ) == {"MALLOC_ARENA_MAX": "2"}
    assert memory.chosen_by_user({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
