"""Report outputs: LaTeX that compiles (or at least parses), HTML, figures, and `genbench report`
rebuilding all of it from metrics.csv alone."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from genbench.records import Record, to_frame
from genbench.report.latex import escape, number, standalone
from genbench.report.table import comparison_table

OUTPUTS = ("table.md", "table.csv", "table.tex", "table.html", "measurements.md", "report.html")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from genbench.cli import main

    out = tmp_path_factory.mktemp("report") / "run"
    assert main(["run", "--models", "naive-bayes,pca,vae", "--seeds", "0,1", "--epochs", "2", "--metrics",
                 "log-likelihood:k=4", "--out", str(out), "--quiet"]) == 0
    return out


def latex_syntax_errors(source: str) -> list[str]:
    """What a TeX-less machine can check: braces and environments balance, rows have every column."""
    errors = []
    depth = 0
    for char in re.sub(r"\\[{}]", "", source):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            errors.append("a } closes nothing")
    if depth:
        errors.append(f"{depth} unclosed {{")
    begins = re.findall(r"\\begin\{(\w+)\}", source)
    ends = re.findall(r"\\end\{(\w+)\}", source)
    if sorted(begins) != sorted(ends):
        errors.append(f"environments {begins} vs {ends}")
    spec = re.search(r"\\begin\{tabular\}\{(\w+)\}", source).group(1)
    body = source.split(r"\midrule")[1].split(r"\bottomrule")[0]
    for row in filter(None, (r.strip() for r in body.split(r"\\"))):
        if len(re.split(r"(?<!\\)&", row)) != len(spec):
            errors.append(f"row with the wrong number of cells: {row[:60]}")
    return errors


def test_latex_table_parses_and_marks_the_best_in_bold(run_dir):
    source = (run_dir / "table.tex").read_text()
    assert latex_syntax_errors(source) == []
    assert r"\toprule" in source and r"\bottomrule" in source and r"\pm" in source
    likelihood = next(line for line in source.splitlines() if line.startswith("Efficient likelihood"))
    assert likelihood.count(r"\mathbf") == 1  # one best model


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX installed (the syntax check above still runs)")
def test_latex_table_compiles(run_dir, tmp_path):
    (tmp_path / "t.tex").write_text(standalone((run_dir / "table.tex").read_text()))
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_latex_helpers():
    assert escape("a_b & 50% {x}") == r"a\_b \& 50\% \{x\}"
    assert number(-83.2345, 0.5612) == r"$-83.23 \pm 0.56$"
    assert number(123456.0, 1.0) == r"$1.23 \times 10^{5}$"
    assert number(float("-inf"), float("nan")) == r"$-\infty$"


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.images, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_report_html_is_well_formed_and_links_existing_figures(run_dir):
    parser = Tags()
    parser.feed((run_dir / "report.html").read_text())
    assert parser.errors == [] and parser.stack == []
    assert "figures/metrics.png" in parser.images and "figures/table.png" in parser.images
    assert all((run_dir / src).exists() for src in parser.images)
    assert any(src.startswith("samples/") for src in parser.images)


def test_report_rebuilds_everything_from_metrics_csv_alone(run_dir, tmp_path, cli):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run_dir / "metrics.csv", bare / "metrics.csv")
    result = cli("report", bare)
    assert result.code == 0, result.err
    for name in OUTPUTS:
        assert (bare / name).exists(), name
    assert (bare / "figures" / "metrics.png").exists() and (bare / "figures" / "table.png").exists()
    for name in ("table.md", "table.csv", "measurements.md", "table.html"):
        assert (bare / name).read_text() == (run_dir / name).read_text(), name
    assert cli("report", tmp_path / "missing").code == 2


def test_reference_columns_are_never_bold():
    frame = to_frame([
        Record("log_likelihood", 5.0, 0.1, unit="nats", estimator="exact").identify(model="true-density", dataset="d",
                                                                                     seed=0),
        Record("log_likelihood", 1.0, 0.1, unit="nats", estimator="exact").identify(model="a", dataset="d", seed=0),
    ])
    from genbench.report.table import best_models
    table = comparison_table(frame)
    row = next(r for r in table.rows if r.key == "likelihood")
    assert best_models(table, row) == {"a"}


def test_a_long_model_name_is_cut_on_the_figures_and_leaves_the_panels_room(monkeypatch):
    """A checkpoint's path as a column's name took the panels' room on metrics.png (matplotlib could not lay it
    out, and said so); the figures show it cut to ``LABEL_WIDTH`` characters, as the terminal's table does."""
    import warnings

    from genbench.report import plots
    from genbench.report.summary import Summary
    from genbench.report.terminal import short

    long = "gan:checkpoint=/home/someone/experiments/2026-12-02/checkpoints/gan-seed{seed}"
    records = [Record(metric, value, 0.1, n=100, estimator="test").identify(model=model, dataset="digits", seed=0)
               for model in ("vae", long) for metric, value in (("fid", 40.0), ("coverage", 0.5), ("recall", 0.4),
                                                                ("precision", 0.7))]
    drawn = []
    monkeypatch.setattr(plots, "figure_png", lambda fig: drawn.append(fig) or b"png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plots.metric_bars_png(Summary(to_frame(records))) == b"png"
    labels = {label.get_text() for ax in drawn[0].axes if ax.axison for label in ax.get_xticklabels()}
    cut = short(long, plots.LABEL_WIDTH)
    assert labels == {"vae", cut} and len(cut) == plots.LABEL_WIDTH


def test_every_cell_of_table_png_keeps_its_text_inside_it(monkeypatch):
    """On the whole of MNIST the flow's and the diffusion model's likelihood cells ran into each other: the
    estimator's name was drawn on one line whatever its length. Every text of every cell, measured as drawn,
    lies within its cell's width."""
    from genbench.report import plots

    bound = {"bound": "variational", "T": 1000, "sampling": "importance", "terms": 50}
    likelihoods = {"flow": {"likelihood": "dequantized bound", "dequantized": True},
                   "diffusion": {"likelihood": "model's bound", "bound": bound, "settings": bound},
                   "vae": {"likelihood": "importance-weighted bound", "k": 188}}
    records = [Record("log_likelihood", -746.301234, 9.794, n=10_000, unit="nats", estimator="test", details=details
                      ).identify(model=model, dataset="mnist", seed=0) for model, details in likelihoods.items()]
    records += [Record("fid", 104.2, 1.1, n=10_000, estimator="test").identify(model=m, dataset="mnist", seed=0)
                for m in likelihoods]
    drawn = []
    monkeypatch.setattr(plots, "figure_png", lambda fig: drawn.append(fig) or b"png")
    assert plots.table_heatmap_png(comparison_table(to_frame(records))) == b"png"
    fig = drawn[0]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    cell_width = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
    texts = [t for t in ax.texts if t.get_text() and t.get_fontsize() < 10]
    assert any("variational" in t.get_text() for t in texts)
    widest = max(texts, key=lambda t: t.get_window_extent(renderer).width)
    assert widest.get_window_extent(renderer).width <= 0.95 * cell_width, widest.get_text()
