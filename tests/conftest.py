"""Shared fixtures: datasets loaded once, fast options for every registered model, a CLI runner; and the
two tiers: ``pytest -m "not slow"`` (the fast one) and ``pytest`` (everything)."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch

import genbench
from genbench import catalog
from genbench.config import NoOptions
from genbench.model import Capability, FixedModel

XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if XDIST_WORKERS > 1 and "OMP_NUM_THREADS" not in os.environ:  # pytest -n N: the cores shared among the workers
    torch.set_num_threads(max(1, torch.get_num_threads() // XDIST_WORKERS))

SLOW_KINDS = ("e2e", "browser", "ray")
"""Markers whose tests are slow by their kind, whatever their own duration."""

SLOW_FIXTURES = {"serial", "ray_cluster", "baseline_run", "trained_run", "finished_run", "gan_run", "run_dir",
                 "site", "avx2_runs"}
"""Fixtures that train models or run genbench end to end: a test that uses one is slow."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        kinds = [kind for kind in SLOW_KINDS if item.get_closest_marker(kind)]
        if kinds or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def genbench_cache(tmp_path_factory):
    """Caches (trained extractors, reference features) go to this session's folder, never ~/.cache,
    and nothing is downloaded. The thread count is fixed (as a user's OMP_NUM_THREADS fixes it), so that
    no figure a test compares depends on the machine's load."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", str(torch.get_num_threads())))
        path = tmp_path_factory.mktemp("genbench-cache")
        patch.setenv("GENBENCH_CACHE_DIR", str(path))
        patch.setenv("GENBENCH_OFFLINE", "1")
        patch.delenv("GENBENCH_INCEPTION_WEIGHTS", raising=False)
        yield path


@pytest.fixture(scope="session")
def digits():
    return genbench.load_dataset("digits")


@pytest.fixture(scope="session")
def rings():
    return genbench.load_dataset("rings", n_train=2000, n_val=500, n_test=1000)


@pytest.fixture(scope="session")
def shapes():
    return genbench.load_dataset("shapes")


@pytest.fixture(scope="session")
def wardrobe():
    return genbench.load_dataset("wardrobe")


def fast_options(name: str) -> dict:
    """Options that make a registered model train in well under a second (for contract tests)."""
    fields = catalog.MODELS.get(name).config_class.field_names()
    options = {}
    if "epochs" in fields:
        options["epochs"] = 2
    if "hidden" in fields:
        options["hidden"] = (32,)
    if "width" in fields:
        options["width"] = 8
    if name == "diffusion":
        options["steps"] = 50  # T: its bound sums T network passes per example
    return options


@pytest.fixture
def fast():
    return fast_options


@dataclasses.dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli():
    """Run ``genbench ARGS`` in this process; returns exit code, stdout and stderr."""
    from genbench.cli import main

    def run(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:
                code = int(exit_.code or 0)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def qr_fid(z1: np.ndarray, z2: np.ndarray) -> float:
    """FID computed without covariances (numpy): with centred data A = Q₁R₁, B = Q₂R₂,
    tr (Σ₁^½ Σ₂ Σ₁^½)^½ = ‖R₂R₁ᵀ‖_* / √((N₁−1)(N₂−1)): the singular values of the cross-Gram matrix
    BAᵀ are those of R₂R₁ᵀ, and their squares are the eigenvalues of Σ₁Σ₂ up to that scale. Accurate
    where covariances are singular (no squared condition numbers), and independent of genbench's route."""
    a, b = z1 - z1.mean(axis=0), z2 - z2.mean(axis=0)
    r1, r2 = np.linalg.qr(a, mode="r"), np.linalg.qr(b, mode="r")
    cross = np.linalg.svd(r2 @ r1.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    traces = (a**2).sum() / (len(a) - 1) + (b**2).sum() / (len(b) - 1)
    return float(((z1.mean(axis=0) - z2.mean(axis=0)) ** 2).sum() + traces - 2 * cross)


@pytest.fixture
def numpy_fid():
    return qr_fid


class FunctionSampler(FixedModel):
    """A model whose samples come from ``sample(n, generator)``: a test double for sample-based metrics."""

    name = "sampler"
    config_class = NoOptions
    capabilities = frozenset({Capability.SAMPLE})

    def __init__(self, sample, info):
        super().__init__()
        self.sample_fn = sample
        self.build(info)


    def _sample(self, n, generator):
        return self.sample_fn(n, generator)


@pytest.fixture(scope="session")
def sampler():
    """``sampler(sample, info)``: a fitted model drawing from the function ``sample(n, generator)``."""
    return FunctionSampler


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A scratch working folder and HOME for documented code to run in, as a reader's shell would: (work,
    home), the working folder current and importable (with this folder, for its example modules), no
    GENBENCH_DATA_DIR."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GENBENCH_DATA_DIR", raising=False)
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return work, home


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium in a 1280 × 900 window, driven by selenium: Debian's ``chromium`` and
    ``chromium-driver``, which ``.ci/run`` installs (browsers cannot be downloaded at run time); skipped,
    saying so, where either is missing."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                    ".ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--allow-file-access-from-files"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
