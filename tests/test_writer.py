"""A run directory has one writer: a second process that would write it (``genbench run --resume``, ``genbench
score --into``) is refused in one line naming the first, with exit 2; a writer that was killed blocks nobody."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from genbench.errors import UsageError
from genbench.infra.rundir import WRITER, RunDir

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock: no advisory locks on Windows")

HOLD = """
import sys, time
from pathlib import Path
from genbench.infra.rundir import RunDir
RunDir(Path(sys.argv[1])).claim()
print("claimed", flush=True)
time.sleep(600)
"""


def holder(path):
    """Another process that claims ``path`` and keeps it until killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "claimed"
    return process


def test_a_second_writer_is_refused_naming_the_first_and_a_killed_one_blocks_nobody(tmp_path):
    first = holder(tmp_path)
    try:
        with pytest.raises(UsageError) as refused:
            RunDir(tmp_path).claim()
        message = str(refused.value)
        assert f"pid {first.pid} on {socket.gethostname()}, since " in message and "\n" not in message
        assert json.loads((tmp_path / WRITER).read_text())["pid"] == first.pid
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    rundir = RunDir(tmp_path).claim()  # the kernel released the dead writer's lock
    assert json.loads((tmp_path / WRITER).read_text())["pid"] == os.getpid()
    rundir.claim()  # this process again: it is already the writer
    rundir.release()


def test_a_resume_beside_a_running_writer_exits_2_in_one_line(cli, tmp_path):
    out = tmp_path / "run"
    assert cli("run", "--models", "naive-bayes", "--metrics", "training-compute", "--out", out, "--quiet").code == 0
    first = holder(out)
    try:
        started = time.perf_counter()
        result = cli("run", "--resume", "--out", out)
        assert result.code == 2, result.err
        assert result.err.count("\n") == 1 and f"pid {first.pid} on " in result.err
        assert "is being written by another genbench process" in result.err
        assert time.perf_counter() - started < 30  # refused at once, before anything is loaded or computed
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert cli("run", "--resume", "--out", out, "--quiet").code == 0
