"""Sweeps: many datasets in one command, cells in local worker processes or Ray tasks.

The equivalence tests compare metrics.csv byte for byte once timed rows are dropped: every cell's seed
and generators come from the cell alone, and the serial reference runs on one torch (and BLAS) thread,
as each worker does, since a float32 product's last digits depend on how it is split among threads.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from genbench.infra.rundir import RunDir
from genbench.records import LOST, untimed
from genbench.report.sweep import marks_across
from genbench.report.table import comparison_table
from genbench.service.executors import ExecutorChoice, make_executor, threads_per_worker
from genbench.service.sweep import dataset_folders, write_files

SWEEP = ["--dataset", "digits,rings", "--models", "naive-bayes,pca,gan", "--seeds", "0,1", "--budget", "smoke",
         "--metrics", "fidelity,log-likelihood:k=8", "--quiet"]
CELLS = 2 * 2 * 4  # datasets × seeds × (three models and the reference column)


def genbench(*args, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "genbench", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def metrics(out: Path) -> pd.DataFrame:
    return untimed(RunDir(out).read_metrics(required=True))


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The sweep run one cell after another in one process, on one thread."""
    out = tmp_path_factory.mktemp("sweeps") / "serial"
    genbench("run", *SWEEP, "--threads", "1", "--out", out)
    return out


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A real Ray cluster on 127.0.0.1 only: a head started by `ray start`, its address for --ray-address.
    The test's folder is on every worker's PYTHONPATH, for the models these tests write; workers see the
    environment of `ray start`, not the driver's."""
    pytest.importorskip("ray")
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert ray, "the ray command is installed with the ray package"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    models = tmp_path_factory.mktemp("ray-models")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(models), os.environ.get("PYTHONPATH", "")]),
           "RAY_AUTH_MODE": "disabled", "GENBENCH_TEST_MARKER": str(models / "died")}
    subprocess.run([ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
                    "--include-dashboard", "false", "--disable-usage-stats"], check=True, env=env,
                   capture_output=True, text=True)
    try:
        yield f"127.0.0.1:{port}", models, env
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True)


def test_a_sweep_writes_a_run_directory_per_dataset_and_a_report_across_them(serial):
    assert json.loads((serial / "sweep.json").read_text())["datasets"] == [
        {"dataset": "digits", "folder": "digits"}, {"dataset": "rings", "folder": "rings"}]
    for dataset in ("digits", "rings"):
        assert set(RunDir(serial / dataset).read_metrics().dataset) == {dataset}
        assert (serial / dataset / "report.html").exists()
    combined = RunDir(serial).read_metrics()
    assert list(dict.fromkeys(combined.dataset)) == ["digits", "rings"]
    assert len(combined) == sum(len(RunDir(serial / d).read_metrics()) for d in ("digits", "rings"))
    table = (serial / "table.md").read_text()
    assert "on digits, rings, in that order" in table
    coverage = next(line for line in table.splitlines() if line.startswith("| Coverage"))
    gan = coverage.split("|")[4]  # naive-bayes, pca, gan, then the reference columns
    assert len(gan.split()) == 2, f"one mark per dataset expected in {gan!r}"
    report = (serial / "report.html").read_text()
    assert 'href="digits/report.html"' in report and 'href="rings/report.html"' in report


def test_local_workers_give_the_serial_metrics(serial, tmp_path):
    out = tmp_path / "jobs2"
    result = genbench("run", *SWEEP, "--jobs", "2", "--out", out)
    pd.testing.assert_frame_equal(metrics(out), metrics(serial))
    log = (out / "run.log").read_text()
    assert "worker 1 (pid" in log and "worker 2 (pid" in log, "each cell's line names its worker"
    assert "run directory:" in result.stdout


@pytest.mark.ray
def test_ray_tasks_give_the_serial_metrics(serial, ray_cluster, tmp_path):
    address, _, env = ray_cluster
    out = tmp_path / "ray"
    genbench("run", *SWEEP, "--executor", "ray", "--ray-address", address, "--out", out, env=env)
    pd.testing.assert_frame_equal(metrics(out), metrics(serial))
    assert "Ray node" in (out / "run.log").read_text()


DIES_ONCE = '''
"""Naive Bayes whose first fit kills its own process with SIGKILL, as the kernel's OOM killer would."""
import os
import signal

from genbench.baselines.naive_bayes import NaiveBayes


class DiesOnce(NaiveBayes):
    def _fit(self, x, x_val, generator):
        try:  # exactly one fit, of all the processes that race here, creates the marker and dies
            os.close(os.open(os.environ["GENBENCH_TEST_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return super()._fit(x, x_val, generator)
        os.kill(os.getpid(), signal.SIGKILL)
'''


def write_model(folder: Path) -> None:
    (folder / "faulty").mkdir(exist_ok=True)
    (folder / "faulty" / "__init__.py").write_text("")
    (folder / "faulty" / "models.py").write_text(textwrap.dedent(DIES_ONCE))


def killed_then_resumed(out: Path, executor_args: list[str], env: dict) -> str:
    """A sweep in which one worker dies mid-cell: that cell is lost, the others finish; --resume runs only it.
    Returns the lost cell's reason."""
    models = "naive-bayes,faulty.models:DiesOnce:label=dies,gan"
    common = ["--dataset", "digits", "--models", models, "--seeds", "0,1", "--budget", "smoke",
              "--metrics", "fidelity,log-likelihood:k=8", "--quiet"]
    first = genbench("run", *common, *executor_args, "--out", out, check=False, env=env)
    assert first.returncode == 1, first.stderr
    frame = RunDir(out).read_metrics()
    lost = frame[frame.reason.str.startswith(LOST)]
    assert set(zip(lost.model, lost.seed)) == {("dies", lost.seed.iloc[0])} and len(set(lost.seed)) == 1
    assert (frame[frame.model != "dies"].status != "failed").all(), "the other cells finished"
    finished = {k: v for k, v in json.loads((out / "timings.json").read_text()).items() if v}
    resumed = genbench("run", "--resume", "--out", out, *executor_args, env=env)
    final = RunDir(out).read_metrics()
    assert (final.status != "failed").all()
    assert set(final.model) == {"naive-bayes", "dies", "gan", "real-data"}
    timings = json.loads((out / "timings.json").read_text())
    assert {k: timings[k] for k in finished} == finished, "a finished cell was run again"
    assert "7 cell(s) already in" in resumed.stderr, "every cell but the lost one is skipped"
    return lost.reason.iloc[0]


@pytest.mark.e2e
def test_a_local_worker_killed_mid_cell_loses_only_its_cell(tmp_path):
    write_model(tmp_path)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "GENBENCH_TEST_MARKER": str(tmp_path / "died")}
    out = tmp_path / "run"
    reason = killed_then_resumed(out, ["--jobs", "2"], env)
    assert reason == f"{LOST}the worker process died (killed by SIGKILL)"
    assert "dies seed" in (out / "run.log").read_text(), "the log says which cell was lost"


@pytest.mark.ray
def test_a_ray_worker_killed_mid_cell_loses_only_its_cell(ray_cluster, tmp_path):
    address, models, env = ray_cluster
    write_model(models)
    reason = killed_then_resumed(tmp_path / "run", ["--executor", "ray", "--ray-address", address], env)
    assert "the Ray worker was lost (WorkerCrashedError" in reason


def test_a_killed_driver_resumes_to_the_same_metrics(serial, tmp_path):
    """SIGKILL the driver of a --jobs 2 sweep once its first cells are written, then --resume it."""
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "genbench", "run", *SWEEP, "--jobs", "2", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if (out / "digits" / "metrics.csv").exists() and len(RunDir(out / "digits").read_metrics()) > 0:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert not (out / "rings" / "metrics.csv").exists(), "the kill came too late to test anything"
    genbench("run", "--resume", "--out", out, "--jobs", "2")
    pd.testing.assert_frame_equal(metrics(out), metrics(serial))


def test_quiet_local_workers_print_only_the_run_directory(tmp_path):
    """--quiet holds with workers too: their cells' lines go to run.log, not to the screen."""
    out = tmp_path / "quiet"
    result = genbench("run", "--models", "naive-bayes,pca", "--budget", "smoke", "--metrics", "log-likelihood:k=8",
                      "--jobs", "2", "--quiet", "--out", out)
    assert (result.stdout, result.stderr) == (f"run directory: {out}\n", "")
    assert "naive-bayes seed 0: done" in (out / "run.log").read_text()


# ------------------------------------------------------------------------------------ the parts

def test_threads_are_shared_among_workers(caplog):
    assert threads_per_worker(2, 2) == 1
    assert threads_per_worker(3, 16) == 5
    assert threads_per_worker(4, 2) == 1 and "oversubscribe" in caplog.text
    caplog.clear()
    assert threads_per_worker(2, 8, requested=4) == 4 and not caplog.text


def test_a_dataset_folder_is_its_label_and_never_shared():
    assert dataset_folders(["digits", "rings:n_modes=4", "/data/faces"]) == ["digits", "rings_n_modes_4", "faces"]
    with pytest.raises(Exception, match="share the folder 'faces'"):
        dataset_folders(["/a/faces", "/b/faces"])


def test_a_checkpoints_description_is_written_after_its_weights(tmp_path, monkeypatch):
    import genbench.service.sweep

    written = []
    monkeypatch.setattr(genbench.service.sweep, "write_bytes", lambda path, content: written.append(path.name))
    write_files(RunDir(tmp_path), {"checkpoints/gan-seed0.json": b"{}", "checkpoints/gan-seed0.pt": b"w",
                                   "samples/gan-seed0.png": b"png"})
    assert written[-1] == "gan-seed0.json"


def test_a_worker_cannot_write_outside_the_run_directory(tmp_path, caplog):
    write_files(RunDir(tmp_path / "run"), {"samples/a.png": b"png", "../escape.txt": b"x"})
    assert (tmp_path / "run" / "samples" / "a.png").read_bytes() == b"png"
    assert not (tmp_path / "escape.txt").exists() and "outside the run directory" in caplog.text


def test_marks_across_datasets_hold_one_mark_per_dataset(serial):
    tables = [comparison_table(RunDir(serial / d).read_metrics()) for d in ("digits", "rings")]
    rows = dict(marks_across(tables, ["naive-bayes", "gan", "true-density"]))
    assert rows["Coverage"][1] == " ".join(t.cell("coverage", "gan").mark for t in tables)
    assert rows["Coverage"][2].startswith("·"), "digits has no true-density column"


@pytest.mark.parametrize("args, says", [
    (["--jobs", "0"], "expected a positive integer or auto, got '0'"),
    (["--cell-cpus", "2"], "need --executor ray"),
    (["--ray-address", "127.0.0.1:1"], "need --executor ray"),
    (["--executor", "ray", "--jobs", "2"], "--jobs and --devices choose local workers"),
    (["--dataset", "digits,digits"], "listed twice"),
    (["--devices", "cuda:0", "--jobs", "2"], "drop --jobs 2"),
])
def test_bad_sweep_options_are_one_line_exit_2(cli, tmp_path, args, says):
    result = cli("run", "--models", "naive-bayes", *args, "--out", tmp_path / "r")
    assert result.code == 2 and says in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / "r").exists()


def test_devices_auto_without_a_gpu_is_one_line_exit_2(cli, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = cli("run", "--models", "naive-bayes", "--devices", "auto", "--out", tmp_path / "r")
    assert result.code == 2 and "--devices auto found no CUDA device" in result.err
    assert not (tmp_path / "r").exists()


def test_ray_not_installed_says_how_to_install_it(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    result = cli("run", "--models", "naive-bayes", "--executor", "ray", "--out", tmp_path / "r")
    assert result.code == 2 and 'pip install "genbench[ray]"' in result.err
    assert not (tmp_path / "r").exists()


@pytest.mark.ray
def test_an_unreachable_ray_address_is_named_within_the_timeout(cli, tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    result = cli("run", "--models", "naive-bayes", "--executor", "ray", "--ray-address", f"127.0.0.1:{port}",
                 "--out", tmp_path / "r")
    assert result.code == 2 and f"cannot reach the Ray cluster at 127.0.0.1:{port}" in result.err
    assert time.monotonic() - start < 30 and not (tmp_path / "r").exists()


def test_the_local_pool_reports_how_a_worker_died():
    from genbench.service.executors.local import exit_reason

    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL" and exit_reason(3) == "exit status 3"
    pool = make_executor(ExecutorChoice(jobs=2, threads=1), cores=2)
    assert pool.describe() == "2 local worker process(es), 1 torch thread(s) each"
