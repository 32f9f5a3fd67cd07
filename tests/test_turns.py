"""Turns at the machine for timed work among a pool's workers (``genbench.infra.turns``), and ``--jobs auto``.

The lock is tested across real processes, as the pool uses it: each script below joins the same folder, and
writes the monotonic-clock intervals in which it worked or held the machine, so that the test can check that
no other worker's work overlapped a timed interval.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from genbench import catalog
from genbench.errors import DataMissingError
from genbench.infra import threads, turns
from genbench.infra.threads import Timing
from genbench.metric import EvalContext
from genbench.records import TIMED
from genbench.service import RunRequest, cells_worth_workers
from genbench.service.evaluation import eval_context, metric_records
from genbench.service.executors import automatic_jobs
from genbench.service.run_config import RunConfig, from_flags
from genbench.service.runner import plan

JOIN = """
import json, sys, time
from pathlib import Path
import torch, threadpoolctl
from genbench.infra import turns
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
turns.join(folder, lambda: 2)
"""

WORKING = JOIN + """
slices = []
with turns.working():
    (folder / f"ready-{out.stem}").touch()
    until = time.monotonic() + float(sys.argv[3])
    while time.monotonic() < until:
        turns.give_way()
        start = time.monotonic()
        while time.monotonic() - start < 0.005:
            pass
        slices.append((start, time.monotonic()))
out.write_text(json.dumps(slices))
"""

TIMING = JOIN + """
with turns.working():
    while len(list(folder.glob("ready-*"))) < int(sys.argv[4]):
        time.sleep(0.01)
    time.sleep(0.2)
    asked = time.monotonic()
    torch.set_num_threads(1)
    with turns.alone():
        start = time.monotonic()
        threads = torch.get_num_threads()
        (folder / "alone").touch()
        time.sleep(float(sys.argv[3]))
        end = time.monotonic()
    after = torch.get_num_threads()
out.write_text(json.dumps({"asked": asked, "start": start, "end": end, "threads": threads, "after": after}))
"""


def start(script: str, folder: Path, out: Path, seconds: float, others: int = 0) -> subprocess.Popen:
    """``script`` in a fresh interpreter; a timing script first waits for ``others`` working ones to start."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(folder), str(out), str(seconds),
                             str(others)])


def test_a_worker_times_only_while_every_other_worker_is_paused(tmp_path):
    """Two workers that give way between 5 ms slices of work, and one that asks for the machine: it gets it
    within a slice or two (the writer goes first, however often the others pass their safe points), none of
    their slices overlaps its timed interval, and they work again after it."""
    others = [start(WORKING, tmp_path, tmp_path / f"working-{i}.json", 3.0) for i in range(2)]
    timer = start(TIMING, tmp_path, tmp_path / "timing.json", 0.5, others=2)
    for process in [*others, timer]:
        assert process.wait(timeout=60) == 0
    timed = json.loads((tmp_path / "timing.json").read_text())
    assert timed["start"] - timed["asked"] < 0.5, "the timing worker waited behind the others' safe points"
    assert (timed["threads"], timed["after"]) == (2, 1), "it times on the timing's threads, then shares again"
    for i in range(2):
        slices = json.loads((tmp_path / f"working-{i}.json").read_text())
        overlapping = [s for s in slices if s[0] < timed["end"] and s[1] > timed["start"]]
        assert not overlapping, f"worker {i} worked while the machine was the timing worker's: {overlapping[:3]}"
        assert any(s[1] <= timed["start"] for s in slices) and any(s[0] >= timed["end"] for s in slices)


def test_a_worker_killed_while_timing_leaves_the_machine_to_the_others(tmp_path):
    """flock's locks die with their process: a worker killed mid-measurement does not stop the pool."""
    timer = start(TIMING, tmp_path, tmp_path / "timing.json", 60.0)
    deadline = time.monotonic() + 60
    while not (tmp_path / "alone").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    timer.send_signal(signal.SIGKILL)
    timer.wait(timeout=10)
    worker = start(WORKING, tmp_path, tmp_path / "after.json", 0.2)
    assert worker.wait(timeout=30) == 0 and json.loads((tmp_path / "after.json").read_text())


def test_outside_a_pool_every_call_does_nothing():
    before = torch.get_num_threads()
    with turns.working():
        turns.give_way()
        with turns.alone():
            assert torch.get_num_threads() == before


@pytest.mark.parametrize("load, chosen, expected", [
    (2.0, None, 2),   # the pool's own two workers: the machine is otherwise quiet, time on both cores
    (4.1, None, 1),   # two busy processes besides: one thread, which waits for no other
    (None, None, 2),  # no load average (not Linux): every core
    (4.1, 3, 3),      # the user's --threads
])
def test_a_worker_times_on_the_threads_the_load_leaves(monkeypatch, load, chosen, expected):
    monkeypatch.setattr(threads, "load_average", lambda: load)
    assert Timing(cores=2, pool_threads=2, threads=chosen).threads_now() == expected


def test_jobs_auto_gives_a_single_threaded_worker_per_core_unless_the_threads_are_fixed(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_threads_by_user", False)
    assert automatic_jobs(6, cores=2) == 2
    assert automatic_jobs(6, cores=16) == 6, "no more workers than cells"
    assert automatic_jobs(0, cores=2) == 1, "nothing worth a worker: every cell in this process"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert automatic_jobs(6, cores=2) == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "_threads_by_user", True)  # --threads
    assert automatic_jobs(6, cores=2) == 1


@pytest.mark.parametrize("flags, cells", [
    ({}, 6),                                            # ae, vae, beta-vae, gan, flow, diffusion; not NB or PCA
    ({"seeds": "0,1"}, 12),
    ({"budget": "smoke"}, 0),
    ({"epochs": 3}, 0),
    ({"models": "naive-bayes,pca"}, 0),
])
def test_jobs_auto_spreads_the_cells_that_train_for_a_budget(flags, cells):
    config = from_flags(RunRequest(**flags), RunConfig())
    assert cells_worth_workers([plan(config)]) == cells


def test_jobs_takes_auto_or_a_positive_count(monkeypatch):
    """The command line's default is auto; ``genbench.run``'s is this process, unless asked."""
    import genbench
    from genbench import service

    assert RunRequest().jobs == "auto"
    asked = []
    monkeypatch.setattr(service, "run", lambda request: asked.append(request.jobs) or 1 / 0)
    for settings in ({}, {"jobs": "auto"}, {"jobs": 2}):
        with pytest.raises(ZeroDivisionError):
            genbench.run(models="vae", **settings)
    assert asked == [None, "auto", 2]
    from genbench.errors import UsageError

    with pytest.raises(UsageError, match="jobs must be a positive integer or 'auto', got 'many'"):
        RunRequest(jobs="many")


def test_every_metric_that_times_work_takes_the_machine_to_itself(digits):
    """A metric with timed records must say so (``Metric.timed``), or beside other workers it would time
    what they leave of the machine. Every registered metric, on a model that has every capability it needs."""
    model = catalog.MODELS.get("pca")().fit(digits.train)
    context: EvalContext = eval_context(seed=0, device=torch.device("cpu"))
    timing = {}
    for name in catalog.METRICS.names():
        metric = catalog.METRICS.get(name)()
        try:
            metric.prepare(digits, context)
        except DataMissingError:  # a pretrained space (cmmd's CLIP) whose weights cannot be had offline
            continue
        records = metric_records(model, digits, metric, context)
        timing[name] = (metric.timed, any(r.estimator == TIMED for r in records))
    assert all(declared or not timed for declared, timed in timing.values()), timing
    assert sum(timed for _, timed in timing.values()) >= 2, f"the check saw too few timed metrics: {timing}"
