"""The comparison table as HTML, and report.html: one page with every table and figure of a run."""

from __future__ import annotations

import html
from collections.abc import Iterable

from genbench.report.families import family_groups
from genbench.report.lecture import lecture_grid
from genbench.report.marks import CHECK, CROSS, NOT_APPLICABLE, UNSURE
from genbench.report.table import ComparisonTable, best_models, measurement_rows

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1280px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table.genbench { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
table.genbench th, table.genbench td { border: 1px solid #c8c8c8; padding: 0.35em 0.6em; vertical-align: top; }
table.genbench th { background: #f0f0f0; text-align: left; }
td.check, span.check { background: #dff2df; } td.unsure, span.unsure { background: #fbf0cf; }
td.cross, span.cross { background: #f6dcdc; } td.na, span.na { background: #eeeeee; color: #666; }
td.best { font-weight: bold; }
.mark { display: inline-block; min-width: 1.3em; font-size: 1.1em; font-weight: bold; }
.legend span { display: inline-block; padding: 0.1em 0.5em; margin-right: 0.4em; border: 1px solid #ccc; }
.rules { font-size: 0.85em; color: #444; } .caption { color: #444; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 480px; border: 1px solid #ddd; } figcaption { font-size: 0.8em; color: #555; }
dl.config { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.9em; }
dl.config dt { font-weight: bold; } dl.config dd { margin: 0; }
details pre { background: #f7f7f7; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }
"""
LEGEND = ('<p class="legend"><span style="background:#dff2df">✓ has the property</span>'
          '<span style="background:#fbf0cf">? in between, or not measurable against a reference</span>'
          '<span style="background:#f6dcdc">✗ lacks it</span><span style="background:#eee">n/a cannot be '
          'measured here</span> bold: the best model of the row</p>')
CLASS = {CHECK: "check", UNSURE: "unsure", CROSS: "cross", NOT_APPLICABLE: "na"}


def comparison_html(table: ComparisonTable) -> str:
    """A <table>: a row per property, a column per model under its family; the full cell text in each cell."""
    head = "".join(f"<th>{html.escape(m)}</th>" for m in table.models)
    family_row = "".join(f'<th colspan="{len(models)}">{html.escape(family)}</th>'
                         for family, models in family_groups(table.models, table.summary.families))
    body = []
    for row in table.rows:
        best = best_models(table, row)
        cells = []
        for model in table.models:
            cell = table.cell(row.key, model)
            classes = [CLASS.get(cell.mark, "")] + (["best"] if model in best else [])
            mark = f'<span class="mark">{html.escape(cell.mark)}</span> ' if cell.mark else ""
            cells.append(f'<td class="{" ".join(c for c in classes if c)}">{mark}{html.escape(cell.text)}</td>')
        title = html.escape(row.title)
        body.append(f'<tr><th title="{html.escape(row.meaning)}">{title}</th>{"".join(cells)}</tr>')
    return (f'<table class="genbench"><tr><th></th>{family_row}</tr><tr><th></th>{head}</tr>{"".join(body)}'
            "</table>\n")


def lecture_html(table: ComparisonTable) -> str:
    """The lecture's marks beside the measured ones, per row and lecture-family model, with the agreement count
    (empty when the table holds no model of the lecture's families)."""
    grid = lecture_grid(table)
    if grid is None:
        return ""
    head = "".join(f"<th>{html.escape(f'{m} ({grid.families[m]})')}</th>" for m in grid.models)
    rows = []
    for title, cells in grid.rows:
        tds = "".join(f'<td class="{CLASS.get(c.measured, "na")}">lecture {html.escape(c.lecture)} · measured '
                      f"{html.escape(c.measured or 'not requested')}"
                      f"{'' if not c.comparable else ' ✔ agree' if c.agrees else ' ✘ differ'}</td>" for c in cells)
        rows.append(f"<tr><th>{html.escape(title)}</th>{tds}</tr>")
    return (f'<table class="genbench"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
            f"<p>Agreement: {grid.agreed} of {grid.comparable} measured cells (n/a cells are not counted; the cell "
            "colour is genbench's mark).</p>")


def rules_html(table: ComparisonTable) -> str:
    items = "".join(f"<li><b>{html.escape(r.title)}</b> ({html.escape(r.meaning)}): "
                    f"{html.escape(table.rules[r.key])}</li>" for r in table.rows)
    return f'<ul class="rules">{items}</ul>'


def measurements_html(table: ComparisonTable) -> str:
    """Every metric (rows) × model (columns), value ± uncertainty (the reason or protocol as a tooltip)."""
    summary = table.summary
    rows = []
    for metric, heading, cells in measurement_rows(summary):
        tips = [summary.by_model[m].get(metric) for m in summary.models]
        tds = "".join(f'<td title="{html.escape(tip_text(tip))}">{html.escape(text)}</td>'
                      for text, tip in zip(cells, tips))
        rows.append(f"<tr><th>{html.escape(heading)}</th>{tds}</tr>")
    head = "".join(f"<th>{html.escape(m)}</th>" for m in summary.models)
    return f'<table class="genbench"><tr><th>metric</th>{head}</tr>{"".join(rows)}</table>'


def tip_text(row) -> str:
    if row is None:
        return ""
    return row.reason or " ".join(str(p) for p in (row.estimator, row.extractor, f"n={row.n}") if p)


def figures_html(images: Iterable[tuple[str, str]]) -> str:
    """<figure>s of (relative path, caption), each linking to the image at full size."""
    return "".join(f'<figure><a href="{html.escape(path)}"><img src="{html.escape(path)}" alt="{html.escape(caption)}">'
                   f"</a><figcaption>{html.escape(caption)} (click for full size)</figcaption></figure>"
                   for path, caption in images)


def comparison_page(table: ComparisonTable, caption: str) -> str:
    """table.html: the comparison table coloured by mark, with its legend, rules and measurements, a page
    that reads alone."""
    lecture = lecture_html(table)
    return page("genbench comparison", [
        ("Comparison", f'<p class="caption">{html.escape(caption)}</p>{LEGEND}{comparison_html(table)}'
                       f"{rules_html(table)}"),
        *([("The lecture's marks beside the measured ones", lecture)] if lecture else []),
        ("Measurements", measurements_html(table))])


def page(title: str, sections: Iterable[tuple[str, str]]) -> str:
    """A standalone HTML page of (heading, HTML body) sections."""
    body = "".join(f"<h2>{html.escape(heading)}</h2>\n{content}\n" for heading, content in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n")

