"""A sweep's report: the lecture's table read across datasets, and each dataset's comparison table.

Each cell of the table across datasets holds one measured mark per dataset, in the sweep's order
(``✓ ✗ ?``), so a property a model has on one dataset and lacks on another shows at a glance; each
dataset's own report (its folder's report.html) explains every mark from its figures.
"""

from __future__ import annotations

import html

import pandas as pd

from genbench.infra.rundir import RunDir
from genbench.report.families import family_groups
from genbench.report.html import CLASS, LEGEND, comparison_html, page
from genbench.report.marks import ROWS
from genbench.report.table import ComparisonTable, comparison_table, markdown_table

ABSENT = "·"
"""The mark of a model a dataset's run did not have."""
UNMARKED = "–"
"""The mark of a row that a dataset's run did not measure (its metrics were not requested)."""
LEGEND_TEXT = f"{ABSENT}: not run on that dataset; {UNMARKED}: not measured there"

TABLE_MD, TABLE_HTML, REPORT_HTML = "table.md", "table.html", "report.html"


def sweep_models(tables: list[ComparisonTable]) -> list[str]:
    """Every dataset's columns once, in the order of the first dataset that has each."""
    return list(dict.fromkeys(m for table in tables for m in table.models))


def sweep_families(tables: list[ComparisonTable]) -> dict[str, str]:
    """Every dataset's columns' declared families."""
    return {model: family for table in tables for model, family in table.summary.families.items()}


def marks_across(tables: list[ComparisonTable], models: list[str]) -> list[tuple[str, list[str]]]:
    """(row title, one cell per model: its marks on each dataset, in order, space-separated)."""
    return [(row.title, [" ".join(table.cell(row.key, m).mark or UNMARKED if m in table.models else ABSENT
                                  for table in tables) for m in models]) for row in ROWS]


def across_markdown(datasets: list[str], tables: list[ComparisonTable]) -> str:
    models = sweep_models(tables)
    body = [[title, *cells] for title, cells in marks_across(tables, models)]
    return (f"# The lecture's table across {len(datasets)} datasets\n\n"
            f"Each cell: the measured mark on {', '.join(datasets)}, in that order ({LEGEND_TEXT}). Each dataset's "
            "folder has its table with the figures behind every mark.\n\n"
            + markdown_table(["", *models], body))


def across_html(datasets: list[str], tables: list[ComparisonTable]) -> str:
    models = sweep_models(tables)
    family_row = "".join(f'<th colspan="{len(group)}">{html.escape(family)}</th>'
                         for family, group in family_groups(models, sweep_families(tables)))
    head = "".join(f"<th>{html.escape(m)}</th>" for m in models)
    body = "".join(f"<tr><th>{html.escape(title)}</th>"
                   + "".join(f"<td>{marks_html(cell)}</td>" for cell in cells) + "</tr>"
                   for title, cells in marks_across(tables, models))
    return (f'<p class="caption">Each cell: the measured mark on {html.escape(", ".join(datasets))}, in that order '
            f"({html.escape(LEGEND_TEXT)}).</p>"
            f'<table class="genbench"><tr><th></th>{family_row}</tr><tr><th></th>{head}</tr>{body}</table>\n')


def marks_html(cell: str) -> str:
    """A cell's marks, each on the background its mark has in a comparison table."""
    return " ".join(f'<span class="mark {CLASS.get(mark, "")}" style="padding: 0 0.25em">{html.escape(mark)}</span>'
                    for mark in cell.split(" "))


def write_sweep_report(root: RunDir, datasets: list[tuple[str, str, pd.DataFrame]]) -> None:
    """table.md, table.html and report.html of a sweep from each (dataset name, folder, metrics)."""
    names = [name for name, _, _ in datasets]
    tables = [comparison_table(frame) for _, _, frame in datasets]
    sections = [
        (f"The lecture's table across {len(names)} datasets", across_html(names, tables)),
        *((f"{name}", f'<p><a href="{html.escape(folder)}/report.html">{html.escape(name)}: the full report</a> '
                      f'(figures, samples, measurements)</p>{LEGEND}{comparison_html(table)}')
          for (name, folder, _), table in zip(datasets, tables)),
    ]
    root.write_text(TABLE_MD, across_markdown(names, tables) + "".join(
        f"\n[{name}]({folder}/table.md)\n" for name, folder, _ in datasets))
    root.write_text(TABLE_HTML, page("genbench sweep: the lecture's table across datasets", sections[:1]))
    root.write_text(REPORT_HTML, page(f"genbench sweep over {', '.join(names)}", sections))
