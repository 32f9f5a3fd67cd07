"""Threads: --threads sets torch's, genbench fits them to the load where the user did not (before and within
cells), a busy machine is named with advice, environment.json records it all."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from genbench.infra import threads
from genbench.infra.threads import available_cores, busy_machine, fitting_threads


def test_a_quiet_machine_says_nothing():
    assert busy_machine(2, load=0.1, cores=2) is None
    assert busy_machine(2, load=2.3, cores=4) is None
    assert busy_machine(2, load=0.6, cores=2) is None  # the fading trace of a finished job


def test_a_busy_machine_is_named_with_the_threads_that_fit():
    said = busy_machine(2, load=2.0, cores=2)
    assert said.startswith("the machine is busy: load average 2.0 on 2 core(s), and genbench computes on 2 thread(s)")
    assert "pass --threads 1 (or set OMP_NUM_THREADS=1)" in said
    assert "pass --threads 5" in busy_machine(8, load=3.0, cores=8)
    assert "already runs on one thread" in busy_machine(1, load=4.0, cores=2)


def test_while_running_its_own_threads_are_in_the_load():
    assert busy_machine(2, load=2.1, cores=2, running=True) is None  # genbench alone on both cores
    assert "pass --threads 1" in busy_machine(2, load=4.0, cores=2, running=True)


def test_threads_flag_sets_torch_and_is_recorded(cli, tmp_path):
    before = torch.get_num_threads()
    try:
        result = cli("run", "--models", "naive-bayes", "--metrics", "log-likelihood", "--threads", "1",
                     "--out", tmp_path / "r", "--quiet")
        assert result.code == 0, result.err
        device = json.loads((tmp_path / "r" / "environment.json").read_text())["device"]
        assert device["threads"] == 1 and device["cores_available"] == available_cores()
        assert "load_average_at_start" in device
        assert device["instruction_set"] == torch.backends.cpu.get_cpu_capability()
        shown = torch.__config__.show()
        assert device["mkl"] is None or device["mkl"] in shown
        assert device["onednn"] is None or f"v{device['onednn']}" in shown
        assert device["model"] and isinstance(device["openmp"], dict)
        details = json.loads(pd.read_csv(tmp_path / "r" / "metrics.csv").details.iloc[0])
        assert details["machine"] == {"device": "cpu", "threads": 1,
                                      "instruction_set": torch.backends.cpu.get_cpu_capability()}
    finally:
        torch.set_num_threads(before)
    assert cli("run", "--threads", "0").code == 2


@pytest.mark.parametrize("cores, load, threads, running, fits", [
    (2, 0.2, 2, False, 2),   # quiet
    (2, 2.0, 2, False, 1),   # two busy processes before the run starts
    (2, 2.1, 2, True, 2),    # genbench alone, its own two threads in the load
    (2, 4.0, 2, True, 1),    # its two threads beside two busy processes
    (2, 3.0, 1, True, 1),    # already down to one: stays there
    (2, 1.2, 1, True, 2),    # the others left: back to both cores
    (8, 3.0, 8, False, 5),
    (4, None, 4, False, 4),  # no load average (not Unix): every core
    (2, 0.0, 9, True, 2),    # never more than the cores
])
def test_the_threads_fit_what_the_load_leaves(cores, load, threads, running, fits):
    assert fitting_threads(cores, load, threads, running=running) == fits


def test_adapting_follows_the_load_unless_the_user_chose(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "load_average", lambda: 2.0)
    monkeypatch.setattr(threads, "_threads_by_user", False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        torch.set_num_threads(2)
        assert threads.adapt_threads(running=False) == (2, 1) and torch.get_num_threads() == 1
        assert threads.adapt_threads(running=False) is None  # already fits
        torch.set_num_threads(2)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice wins
        assert threads.adapt_threads(running=False) is None and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_environment_records_the_user_s_openmp_variables_and_genbench_sets_none():
    environ = {"OMP_NUM_THREADS": "3", "GOMP_SPINCOUNT": "5", "MKL_CBWR": "AVX2", "PATH": "/bin"}
    assert threads.openmp_settings(environ) == {"GOMP_SPINCOUNT": "5", "MKL_CBWR": "AVX2", "OMP_NUM_THREADS": "3"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(threads.OPENMP_PREFIXES)}
    code = "import genbench, torch, os; print(sorted(k for k in os.environ if k.startswith(('OMP_', 'GOMP_'))))"
    out = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # libgomp's own spin: measured faster for quiet training (threads.py)


def test_within_training_the_threads_follow_the_load_at_most_every_look_every_seconds(monkeypatch):
    """keep_fitting looks at the load (and refits) on its first call and then once per LOOK_EVERY seconds."""
    looks = []
    monkeypatch.setattr(threads, "_last_look", -math.inf)
    monkeypatch.setattr(threads, "fit_to_the_load", lambda **kw: looks.append(kw))
    for now in (100.0, 101.0, 100.0 + threads.LOOK_EVERY - 0.1, 100.0 + threads.LOOK_EVERY, 115.0):
        threads.keep_fitting(now)
    assert looks == [{"running": True, "warned": True}] * 2


def test_a_busy_machine_mid_training_takes_threads_away_and_a_quiet_one_gives_them_back(monkeypatch):
    """The real refit, with the load average and the cores stood in for: 2 busy processes beside this one's 2
    threads on 2 cores leave 1 thread; once they stop, 2 again. The user's OMP_NUM_THREADS is removed for this."""
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_threads_by_user", False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    try:
        torch.set_num_threads(2)
        monkeypatch.setattr(threads, "load_average", lambda: 4.0)
        threads.fit_to_the_load(running=True, warned=True)
        assert torch.get_num_threads() == 1
        monkeypatch.setattr(threads, "load_average", lambda: 1.0)  # this process's one thread alone
        threads.fit_to_the_load(running=True, warned=True)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
