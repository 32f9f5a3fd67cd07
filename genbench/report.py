"""Every table and figure of a run, rebuilt from metrics.csv alone (``genbench report RUN_DIR``).

The run's JSON files, where present, only add words (the dataset's name, the seeds, the
environment); PNGs the run drew from its models (sample grids, interpolation strips, traversals)
are shown in report.html as they are.
"""

from __future__ import annotations

import html
import json

import pandas as pd

from genbench.html import comparison_html, figures_html, page, relative_images, rules_html, summary_html
from genbench.latex import comparison_latex
from genbench.plots import save_plots
from genbench.records import OK
from genbench.rundir import CONFIG, DATASET, ENVIRONMENT, LATENT, SAMPLES, RunDir
from genbench.summary import summarise
from genbench.table import (
    ComparisonTable,
    comparison_csv,
    comparison_markdown,
    comparison_table,
    headline,
    measurements_markdown,
)

TABLE_MD, TABLE_CSV, TABLE_TEX, TABLE_HTML = "table.md", "table.csv", "table.tex", "table.html"
MEASUREMENTS_MD = "measurements.md"
REPORT_HTML = "report.html"
FIGURES = "figures"
FIGURE_FOLDERS = ((SAMPLES, "Samples"), (LATENT, "Latent space"))


def protocol_notes(frame: pd.DataFrame) -> list[str]:
    """One line per metric: how it was measured (estimator, feature extractor, n)."""
    notes = []
    summary = summarise(frame)
    for metric, group in summary[summary.status == OK].groupby("metric", sort=False):
        ways = sorted({", ".join(p for p in (r.estimator, r.extractor and f"features: {r.extractor}",
                                              f"n={r.n}" if pd.notna(r.n) else "") if p)
                       for r in group.itertuples()})
        notes.append(f"{metric}: {'; '.join(w for w in ways if w)}")
    return notes


def describe_run(frame: pd.DataFrame, rundir: RunDir) -> tuple[str, str]:
    """(dataset name, caption) from the metrics and, where present, dataset.json."""
    dataset = rundir.read_json(DATASET)["name"] if rundir.file(DATASET).exists() else ", ".join(
        sorted(set(frame.dataset)))
    seeds = sorted(set(int(s) for s in frame.seed.dropna()))
    spread = ("the standard error across seeds" if len(seeds) > 1
              else "the standard error over test examples or bootstrap resamples")
    caption = (f"Generative models compared on {dataset} (seeds {', '.join(map(str, seeds))}); figures are means "
               f"with {spread}; best model in bold.")
    return dataset, caption


def write_report(rundir: RunDir, frame: pd.DataFrame | None = None) -> str:
    """Write table.{md,csv,tex,html}, measurements.md, figures/*.png and report.html; return the
    text the CLI prints (measurements and the comparison table)."""
    frame = rundir.read_metrics() if frame is None else frame
    table = comparison_table(frame)
    dataset, caption = describe_run(frame, rundir)
    notes = protocol_notes(frame)
    rules = [f"{row.title}: {row.rule}" for row in table.rows if row.rule]
    comparison = comparison_markdown(table)
    measurements = measurements_markdown(frame)
    rundir.write_text(TABLE_MD, comparison)
    rundir.write_text(TABLE_CSV, comparison_csv(table))
    rundir.write_text(MEASUREMENTS_MD, measurements)
    rundir.write_text(TABLE_TEX, comparison_latex(table, caption=caption, label=f"tab:genbench-{dataset}",
                                                  notes=["Protocol. " + "; ".join(notes) + "." if notes else "",
                                                         "Marks. " + " ".join(rules)]))
    rundir.write_text(TABLE_HTML, comparison_html(table))
    figures = save_plots(rundir.file(FIGURES), frame, table)
    rundir.write_text(REPORT_HTML, report_page(rundir, frame, table, caption, notes, figures))
    return f"{measurements}\n{comparison}"


def report_page(rundir: RunDir, frame: pd.DataFrame, table: ComparisonTable, caption: str, notes: list[str],
                figures: list[str]) -> str:
    root = rundir.path
    sections = [("Comparison", f"<p>{caption}</p>" + comparison_html(table) + rules_html(table)),
                ("Measurements", summary_html(headline(summarise(frame)))
                 + "<ul class=\"rules\">" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"),
                ("Figures", figures_html((f"{FIGURES}/{name}", name) for name in figures))]
    for folder, heading in FIGURE_FOLDERS:
        images = relative_images(root, folder)
        if images:
            sections.append((heading, figures_html((str(p.relative_to(root)), p.stem) for p in images)))
    details = {name: rundir.read_json(name) for name in (CONFIG, DATASET, ENVIRONMENT) if rundir.file(name).exists()}
    if details:
        blocks = (f"<h3>{name}</h3><pre>{html.escape(json.dumps(doc, indent=2))}</pre>"
                  for name, doc in details.items())
        sections.append(("Configuration and environment", "".join(blocks)))
    return page(f"genbench report: {rundir.path.name}", sections)
