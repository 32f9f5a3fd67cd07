"""Every table and figure of a run, rebuilt from metrics.csv alone (``genbench report RUN_DIR``).

The report is computed from one summary of metrics.csv (``genbench.report.summary``): the comparison
table and its rules (``marks``, ``table``), the measurements, LaTeX (``latex``), HTML and report.html
(``html``, ``page``), the figures drawn from the records (``plots``). The run's JSON files, where
present, only add words (the dataset's name, the configuration, the environment); the PNGs a run drew
from its models (sample grids, decoded interpolations, computed in the cell by
``genbench.service.cell_figures`` and laid out by ``samples`` from arrays) are shown in report.html as
they are. No module of this package imports torch or runs a model.
"""

from __future__ import annotations

import pandas as pd

from genbench.infra.atomic import write_bytes
from genbench.infra.rundir import DATASET, RunDir
from genbench.records import OK
from genbench.report.html import comparison_page
from genbench.report.latex import comparison_latex, measurements_latex
from genbench.report.memorisation import memorisation_png
from genbench.report.page import report_page
from genbench.report.plots import save_plots
from genbench.report.summary import Summary
from genbench.report.table import (
    ComparisonTable,
    comparison_csv,
    comparison_markdown,
    comparison_table,
    measurements_markdown,
)
from genbench.report.training import compute_note

TABLE_MD, TABLE_CSV, TABLE_TEX, TABLE_HTML = "table.md", "table.csv", "table.tex", "table.html"
MEASUREMENTS_MD = "measurements.md"
REPORT_HTML = "report.html"
MEMORISATION_PNG = "memorisation.png"
FIGURES = "figures"


def protocol_notes(summary: Summary) -> list[str]:
    """One line per metric: how it was measured (estimator, feature extractor, n)."""
    notes = []
    rows = summary.without_sweeps()
    for metric, group in rows[rows.status == OK].groupby("metric", sort=False):
        ways = sorted({", ".join(p for p in (r.estimator, r.extractor and f"features: {r.extractor}",
                                              f"n={r.n}" if pd.notna(r.n) else "") if p)
                       for r in group.itertuples()})
        notes.append(f"{metric}: {'; '.join(w for w in ways if w)}")
    return notes


def describe_run(summary: Summary, rundir: RunDir) -> tuple[str, str]:
    """(dataset name, caption) from the metrics and, where present, dataset.json."""
    frame = summary.frame
    dataset = rundir.read_json(DATASET)["name"] if rundir.file(DATASET).exists() else ", ".join(
        sorted(set(frame.dataset)))
    seeds = sorted(set(int(s) for s in frame.seed.dropna()))
    spread = ("the standard error across seeds" if len(seeds) > 1
              else "the standard error over test examples or bootstrap resamples")
    caption = (f"Generative models compared on {dataset} (seeds {', '.join(map(str, seeds))}); figures are means "
               f"with {spread}; best model in bold.")
    return dataset, caption


def write_report(rundir: RunDir, frame: pd.DataFrame | None = None) -> ComparisonTable:
    """Write table.{md,csv,tex,html}, measurements.md, figures/*.png and report.html from metrics.csv (or
    ``frame``); return the comparison table (what the CLI prints)."""
    summary = Summary(rundir.read_metrics() if frame is None else frame)
    table = comparison_table(summary)
    dataset, caption = describe_run(summary, rundir)
    notes = protocol_notes(summary)
    rules = [f"{row.title}: {table.rules[row.key]}" for row in table.rows]
    rundir.write_text(TABLE_MD, comparison_markdown(table))
    rundir.write_text(TABLE_CSV, comparison_csv(table))
    rundir.write_text(MEASUREMENTS_MD, measurements_markdown(summary))
    compute = compute_note(summary)
    latex_notes = ["Protocol. " + "; ".join(notes) + "." if notes else "", compute or "", "Marks. " + " ".join(rules)]
    rundir.write_text(TABLE_TEX, comparison_latex(table, caption=caption, label=f"tab:genbench-{dataset}",
                                                  notes=latex_notes)
                      + "\n" + measurements_latex(table, caption=f"Every measurement on {dataset}.",
                                                  label=f"tab:genbench-{dataset}-measurements"))
    rundir.write_text(TABLE_HTML, comparison_page(table, caption))
    figures = save_plots(rundir.file(FIGURES), table)
    distances = memorisation_png(rundir.path, table.models)
    if distances is not None:
        write_bytes(rundir.file(FIGURES) / MEMORISATION_PNG, distances)
        figures.append(MEMORISATION_PNG)
    rundir.write_text(REPORT_HTML, report_page(rundir, table, caption, notes, figures))
    return table
