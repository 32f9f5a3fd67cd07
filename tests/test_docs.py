"""The documentation site (docs/): every page's code blocks run, the strict build passes, and the built
site works in a real browser.

- Each Markdown page with code is one test: its blocks in order, in a fresh folder with a fresh home
  folder, by the README's harness (tests/test_readme.py says what each language does). A block that
  cannot run here says why on the line before it (``% not run: REASON``).
- The build is the one command the docs give (``sphinx-build -W --keep-going -n``: every warning an error,
  every cross-reference resolved); it executes the example gallery, so a failing example fails it.
- The built index and one tutorial open in headless Chromium (Debian's ``chromium`` and
  ``chromium-driver``, which .ci/run installs; skipped with the reason where they are missing): every
  image loads, nothing is logged as an error, and the navigation leads from the index to the tutorial
  and on to the next page.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import test_readme as harness  # noqa: E402  (the README's harness, shared)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIPPED_FOLDERS = {"_build", "gallery", "examples"}


def pages() -> list[Path]:
    """The hand-written Markdown pages (not the build, nor the gallery sphinx-gallery generates)."""
    return sorted(p for p in DOCS.rglob("*.md") if not SKIPPED_FOLDERS & set(p.relative_to(DOCS).parts))


def page_blocks(page: Path) -> list[harness.Block]:
    name = f"docs/{page.relative_to(DOCS).as_posix()}"
    return [block for _, block in harness.blocks(page, name)]


def runnable_pages() -> list[str]:
    return [p.relative_to(DOCS).as_posix() for p in pages()
            if any(b.language in harness.RUNNABLE and not b.not_run for b in page_blocks(p))]


def samples_file(work: Path, home: Path, monkeypatch) -> None:
    """gan-samples.npz: 359 uint8 images on digits' 17-level grid, as the scoring tutorial leaves it."""
    rng = np.random.default_rng(0)
    np.savez(work / "gan-samples.npz", x=(rng.integers(0, 17, (359, 1, 8, 8)) * 255 // 16).astype(np.uint8))


SETUP: dict[str, Callable[[Path, Path, pytest.MonkeyPatch], None]] = {
    "howto/own-data.md": harness.own_data_files,
    "howto/image-datasets.md": harness.torchvision_files,
    "howto/inception-offline.md": samples_file,
}


def check_own_model(work: Path) -> None:
    mine = pd.read_csv(work / "runs" / "mine" / "metrics.csv", keep_default_na=False)
    assert list(dict.fromkeys(mine.model)) == ["mymodels:CategoricalMixture",
                                               "mymodels:CategoricalMixture:components=20", "gan", "real-data"]
    ll = mine[mine.metric == "log_likelihood"].set_index("model")
    assert ll.loc["mymodels:CategoricalMixture", "estimator"] == "exact"


def check_scored(work: Path) -> None:
    into = pd.read_csv(work / "runs" / "mine" / "metrics.csv", keep_default_na=False)
    assert {"gan", "gan-file"} <= set(into.model)


def check_checkpoints(work: Path) -> None:
    mixed = pd.read_csv(work / "runs" / "mixed" / "metrics.csv", keep_default_na=False)
    assert "gan-from-mine" in set(mixed.model)
    again = pd.read_csv(work / "runs" / "again" / "metrics.csv", keep_default_na=False)
    assert {"vae", "gan"} <= set(again.model)


def check_inception(work: Path) -> None:
    inception = pd.read_csv(work / "runs" / "inception" / "metrics.csv", keep_default_na=False)
    assert set(inception[inception.metric == "kid"].extractor) == {"inception"}


CHECKS: dict[str, Callable[[Path], None]] = {
    "tutorials/own-model.md": check_own_model,
    "tutorials/score-samples.md": check_scored,
    "howto/checkpoints.md": check_checkpoints,
    "howto/inception-offline.md": check_inception,
    "howto/ci-gate.md": harness.check_ci_gate,
    "howto/sweeps.md": harness.check_sweep,
}

FAST = {"howto/plugins.md"}  # nothing trained: a TOML block parsed


@pytest.fixture
def forget_page_modules():
    yield
    for name in ("mymodels", "copycats"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("page", [p if p in FAST else pytest.param(p, marks=pytest.mark.slow)
                                  for p in runnable_pages()])
def test_page_code_runs(page, workspace, cli, monkeypatch, forget_page_modules):
    work, home = workspace
    SETUP.get(page, lambda *args: None)(work, home, monkeypatch)
    shell = harness.Shell(work, home, cli, monkeypatch)
    try:
        for block in page_blocks(DOCS / page):
            shell.block(block)
    finally:
        for cleanup in shell.cleanups:
            cleanup()
    CHECKS.get(page, lambda work: None)(work)


def test_every_code_block_runs_or_says_why():
    """A block in a language the harness cannot run, or one left out without a reason, would go untested."""
    problems = []
    for page in pages():
        for block in page_blocks(page):
            where = f"{block.source} line {block.line}"
            if block.language not in ("", *harness.RUNNABLE):
                problems.append(f"{where}: the harness does not run {block.language!r} blocks")
    assert problems == []
    assert set(SETUP) | set(CHECKS) <= set(runnable_pages()), "a setup or check for a page without code"


# ------------------------------------------------------------------------------------------- the build
BUILD = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-b", "html"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by the docs' one command, strictly, from a copy of docs/ without any earlier build or
    gallery output, so that every example runs (sphinx-gallery skips those whose output it finds)."""
    pytest.importorskip("sphinx", reason="the docs extra (in the test extra) installs Sphinx")
    folder = tmp_path_factory.mktemp("docs")
    source = folder / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build", "gallery", "sg_execution_times.rst"))
    html = folder / "html"
    started = time.monotonic()
    done = subprocess.run([*BUILD, str(source), str(html)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"the strict docs build failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    print(f"docs built in {time.monotonic() - started:.0f} s")
    return html


@pytest.mark.slow
def test_the_docs_build_strictly(site):
    for page in ("index.html", "reference/cli.html", "reference/registries.html", "reference/api.html",
                 "gallery/index.html", "benchmarks.html", "changelog.html"):
        assert (site / page).is_file(), page
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    for command in ("genbench run", "genbench score", "genbench stats", "genbench check", "genbench report",
                    "genbench list"):
        assert command in cli, f"the CLI reference lacks {command}"
    assert "--inception-weights" in cli
    registries = (site / "reference" / "registries.html").read_text(encoding="utf-8")
    assert "latent_dim" in registries and "sampling-steps" in registries and "inception" in registries
    for page in site.rglob("*.html"):  # furo paints a local table of contents as an error box
        assert 'class="contents' not in page.read_text(encoding="utf-8"), f"{page.relative_to(site)}: a contents box"
    gallery = sorted((site / "_images").glob("sphx_glr_plot_*.png"))
    assert len(gallery) >= 5, f"the gallery's figures: {[p.name for p in gallery]}"


# ----------------------------------------------------------------------------------------- the browser
def assert_page_whole(browser, what: str) -> None:
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert broken == [], f"{what}: images that did not load: {broken}"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], f"{what}: {errors}"


@pytest.mark.slow
def test_the_site_works_in_a_browser(site, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())
    assert "genbench" in browser.title
    assert_page_whole(browser, "index.html")
    browser.save_screenshot(str(tmp_path / "index.png"))

    def follow(selector: str) -> None:  # a reader's click on a link (through the page's own handler)
        browser.execute_script("arguments[0].click()", browser.find_element(By.CSS_SELECTOR, selector))

    # From the index to the first tutorial through the sidebar, as a reader clicks.
    follow(".sidebar-tree a[href='tutorials/index.html']")
    assert browser.current_url.endswith("tutorials/index.html")
    follow("article a[href='first-comparison.html']")
    assert browser.current_url.endswith("tutorials/first-comparison.html")
    assert "Your first comparison on digits" in browser.find_element(By.TAG_NAME, "h1").text
    assert_page_whole(browser, "tutorials/first-comparison.html")
    browser.save_screenshot(str(tmp_path / "tutorial.png"))

    # The footer's "next" link leads on, and the gallery's figures load.
    follow("a.next-page")
    assert browser.current_url.endswith("tutorials/own-model.html")
    browser.get((site / "gallery" / "plot_comparison_table.html").as_uri())
    assert_page_whole(browser, "gallery/plot_comparison_table.html")
    figures = browser.execute_script("return Array.from(document.images).filter(i => i.src.includes('sphx_glr'))"
                                     ".length")
    assert figures >= 1, "the example's figure is on its page"


# --------------------------------------------------------------------------------- reference results
MNIST_RESULTS = ROOT / "results" / "mnist-default"
SHOWN = {"naive Bayes": "naive-bayes", "PCA": "pca", "AE": "ae", "VAE": "vae", "β-VAE": "beta-vae", "GAN": "gan",
         "flow": "flow", "diffusion": "diffusion", "real data": "real-data"}


def test_the_benchmarks_page_shows_the_kept_mnist_results():
    """The MNIST table of docs/benchmarks.md reads what results/mnist-default/metrics.csv holds: FID and coverage
    to the digits shown, bits/dim to two decimals, and the same table marks (a page left behind by a rerun fails)."""
    from genbench.report.table import comparison_table

    frame = pd.read_csv(MNIST_RESULTS / "metrics.csv", keep_default_na=False)
    values = {(m, k): float(v) for m, k, v in zip(frame.model, frame.metric, frame.value) if v != ""}
    page = (DOCS / "benchmarks.md").read_text()
    section = page.split("## The whole of MNIST at the default budget", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| model |"))
    table_lines = lines[first:lines.index("", first)]
    rows = [line.split("|")[1:-1] for line in table_lines if "---" not in line]
    header = [c.strip() for c in rows[0]]
    checked = 0
    for cells in rows[1:]:
        shown = dict(zip(header, (c.strip().replace("**", "") for c in cells)))
        model = SHOWN[shown["model"]]
        for column, metric in (("FID (domain)", "fid"), ("coverage", "coverage"), ("bits/dim", "bits_per_dim")):
            text = shown[column].split(" ")[0]
            if not text:
                continue
            digits = len(text.split(".")[1]) if "." in text else 0
            assert round(values[(model, metric)], digits) == pytest.approx(float(text)), (model, metric, text)
            checked += 1
    assert checked >= 20
    table = comparison_table(pd.read_csv(MNIST_RESULTS / "metrics.csv"))
    assert table.cell("quality", "gan").value == pytest.approx(values[("gan", "fid")])
    assert "Agreement: 16 of 26 measured cells." in (MNIST_RESULTS / "table.md").read_text()
