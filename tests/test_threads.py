"""Threads: --threads sets torch's, a busy machine is named with advice, environment.json records both."""

from __future__ import annotations

import json

import torch

from genbench.threads import available_cores, busy_machine


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
    finally:
        torch.set_num_threads(before)
    assert cli("run", "--threads", "0").code == 2
