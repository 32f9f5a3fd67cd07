"""report.html and table.html of a smoke run, opened in a real browser: headless Chromium (Debian's
``chromium`` and ``chromium-driver``, which ``.ci/run`` installs) driven by selenium. Browsers cannot be
downloaded at run time here, so where the system Chromium is missing the test is skipped, saying so.

Each page: every image loaded (naturalWidth > 0), no console errors, the comparison table's six rows
and one column per model, nothing wider than a 1280-pixel window; a full-page screenshot is saved beside
the page (``screenshots/``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genbench.infra.rundir import RunDir
from genbench.report.marks import ROWS

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WIDTH = 1280  # the window of conftest.py's browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "run"
    subprocess.run([sys.executable, "-m", "genbench", "run", "--models", "naive-bayes,vae,gan,flow", "--seeds", "0",
                    "--budget", "smoke", "--quiet", "--out", str(out)], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("page", ["report.html", "table.html"])
def test_the_page_renders_whole_in_a_browser(run_dir, browser, page):
    browser.get((run_dir / page).as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert broken == [], f"images that did not load: {broken}"
    if page == "report.html":
        assert len(images) >= 8, "samples, latent figures and the metric plots are on the report"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors

    rows = browser.execute_script(
        "const t = document.querySelector('table.genbench');"
        "return Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent.trim()));")
    header, body = rows[1], rows[2:]
    models = list(dict.fromkeys(RunDir(run_dir).read_metrics().model))
    assert header[1:] == models, "one column per model, in metrics.csv's order"
    assert [r[0] for r in body] == [row.title for row in ROWS], "the lecture's six rows"
    assert all(len(r) == len(models) + 1 for r in body)

    page_width, window = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert page_width <= window <= WIDTH, f"{page} is {page_width} px wide in a {window} px window"

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WIDTH, min(height + 100, 16000))
    shot = run_dir / "screenshots" / page.replace(".html", ".png")
    shot.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    browser.set_window_size(WIDTH, 900)
