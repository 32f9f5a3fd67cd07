"""What a person sees at the end of a run: checked through a real pseudo-terminal, as a user's would be."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys
import time

import pytest

from genbench.infra.progress import Heartbeat

COLUMNS, LINES = 100, 30


def run_in_terminal(*args: str, timeout: float = 300) -> str:
    """``genbench ARGS`` with stdout and stderr on a pseudo-terminal of COLUMNS × LINES; everything it wrote."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": str(COLUMNS), "LINES": str(LINES), "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-m", "genbench", *args], stdin=terminal, stdout=terminal,
                               stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=max(1.0, deadline - time.monotonic()))
    os.close(controller)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")[-2000:]
    return b"".join(chunks).decode(errors="replace")


def last_screen(output: str) -> list[str]:
    """The terminal's last LINES lines: each line as it stands after carriage returns rewrote it."""
    lines = [line.rsplit("\r", 1)[-1] for line in output.replace("\r\n", "\n").split("\n")]
    lines = [line.replace("\x1b[A", "").replace("\x1b[K", "") for line in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-LINES:]


@pytest.mark.slow
def test_the_last_screen_holds_the_compact_table(tmp_path):
    out = tmp_path / "run"
    screen = last_screen(run_in_terminal("run", "--models", "naive-bayes,pca,vae", "--budget", "smoke",
                                         "--out", str(out)))
    text = "\n".join(screen)
    header = next(line for line in screen if line.split()[:3] == ["naive-bayes", "pca", "vae"])
    assert "real-data" in header
    for row in ("sampling", "quality", "coverage", "smooth latent", "likelihood"):
        assert any(line.startswith(row) for line in screen), (row, text)
    assert screen[-1] == f"run directory: {out}" and f"  {out / 'report.html'}" in screen
    table = screen[screen.index(header):screen.index(f"  {out / 'table.md'}")]
    assert all(len(line) <= COLUMNS for line in table), max(table, key=len)  # log lines wrap as they will
    assert "Rules:" not in text and "|gap to R|" not in text  # the rules stay in table.md and report.html
    assert "feature space: domain (quality, coverage, novel, smooth latent)" in screen  # the space the marks read


@pytest.mark.slow
def test_quiet_prints_only_the_paths(tmp_path):
    out = tmp_path / "run"
    output = run_in_terminal("run", "--models", "naive-bayes", "--metrics", "log-likelihood", "--out", str(out),
                             "--quiet")
    assert output.replace("\r\n", "\n") == f"run directory: {out}\n"


def test_a_log_gets_a_heartbeat_instead_of_a_bar(caplog):
    with caplog.at_level(logging.INFO, logger="genbench.infra.progress"):
        beat = Heartbeat(range(3), "train vae", 3, "epoch", every=0.0)
        beat.set_postfix({"val_loss": "84.1"})
        assert list(beat) == [0, 1, 2]
    assert [r.getMessage().rsplit(", ", 1)[0] for r in caplog.records] == [
        f"train vae: epoch {i}/3, val_loss 84.1" for i in range(3)]


def test_long_work_says_where_it_stands_while_nothing_finishes():
    """``progress.alive``: a line every ``every`` seconds from a background thread, none once the block ends or when
    progress is off (--quiet)."""
    import time

    from genbench.infra import progress

    progress.set_enabled(None)  # an in-process --quiet run before this one may have turned it off
    said: list[str] = []
    with progress.alive(lambda: "0 of 9 cells done; running vae seed 0", said.append, every=0.02):
        time.sleep(0.15)
    count = len(said)
    time.sleep(0.05)
    assert count >= 3 and len(said) == count
    assert said[0].startswith("0 of 9 cells done; running vae seed 0; ") and said[0].endswith(" s")
    progress.set_enabled(False)
    try:
        quiet: list[str] = []
        with progress.alive(lambda: "x", quiet.append, every=0.01):
            time.sleep(0.05)
        assert quiet == []
    finally:
        progress.set_enabled(None)
