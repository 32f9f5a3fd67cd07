"""The comparison table as HTML, and report.html: one page with every table and figure of a run."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from genbench.formatting import format_estimate
from genbench.marks import CHECK, CROSS, NOT_APPLICABLE, UNSURE
from genbench.records import OK
from genbench.table import ComparisonTable, best_models

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table.genbench { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
table.genbench th, table.genbench td { border: 1px solid #ccc; padding: 0.35em 0.6em; vertical-align: top; }
table.genbench th { background: #f3f3f3; text-align: left; }
td.check { background: #e3f4e3; } td.unsure { background: #fbf1d3; } td.cross { background: #f7dede; }
td.na { background: #eee; color: #666; } td.best { font-weight: bold; }
.mark { font-size: 1.1em; margin-right: 0.3em; }
.rules { font-size: 0.85em; color: #444; } figure { display: inline-block; margin: 0.5em; }
figure img { max-width: 560px; border: 1px solid #ddd; } figcaption { font-size: 0.8em; color: #555; }
pre { background: #f7f7f7; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }
"""
CLASS = {CHECK: "check", UNSURE: "unsure", CROSS: "cross", NOT_APPLICABLE: "na"}


def comparison_html(table: ComparisonTable) -> str:
    """A <table>: a row per property, a column per model; the full cell text in each cell."""
    head = "".join(f"<th>{html.escape(m)}</th>" for m in table.models)
    body = []
    for row in table.rows:
        best = best_models(table, row)
        cells = []
        for model in table.models:
            cell = table.cell(row.key, model)
            classes = [CLASS.get(cell.mark, "")] + (["best"] if model in best else [])
            mark = f'<span class="mark">{html.escape(cell.mark)}</span>' if cell.mark else ""
            cells.append(f'<td class="{" ".join(c for c in classes if c)}">{mark}{html.escape(cell.text)}</td>')
        title = html.escape(row.title)
        body.append(f'<tr><th title="{html.escape(row.meaning)}">{title}</th>{"".join(cells)}</tr>')
    return f'<table class="genbench"><tr><th></th>{head}</tr>{"".join(body)}</table>\n'


def rules_html(table: ComparisonTable) -> str:
    items = "".join(f"<li><b>{html.escape(r.title)}</b> ({html.escape(r.meaning)}): {html.escape(r.rule)}</li>"
                    for r in table.rows if r.rule)
    return f'<ul class="rules">{items}</ul>'


def summary_html(summary) -> str:
    """Every metric (rows) × model (columns), value ± uncertainty."""
    models = list(dict.fromkeys(summary.model))
    rows = []
    for metric, group in summary.groupby("metric", sort=False):
        by_model = {r.model: r for r in group.itertuples(index=False)}
        cells = []
        for model in models:
            r = by_model.get(model)
            text = "" if r is None else (format_estimate(r.value, r.uncertainty) if r.status == OK else "n/a")
            tip = "" if r is None else html.escape(r.reason or f"{r.estimator} {r.extractor} n={r.n}".strip())
            cells.append(f'<td title="{tip}">{html.escape(text)}</td>')
        unit = next((r.unit for r in group.itertuples() if r.unit), "")
        name = html.escape(f"{metric} ({unit})" if unit else metric)
        rows.append(f"<tr><th>{name}</th>{''.join(cells)}</tr>")
    head = "".join(f"<th>{html.escape(m)}</th>" for m in models)
    return f'<table class="genbench"><tr><th>metric</th>{head}</tr>{"".join(rows)}</table>'


def figures_html(images: Iterable[tuple[str, str]]) -> str:
    """<figure>s of (relative path, caption)."""
    return "".join(f'<figure><img src="{html.escape(path)}" alt="{html.escape(caption)}">'
                   f"<figcaption>{html.escape(caption)}</figcaption></figure>" for path, caption in images)


def page(title: str, sections: Iterable[tuple[str, str]]) -> str:
    """A standalone HTML page of (heading, HTML body) sections."""
    body = "".join(f"<h2>{html.escape(heading)}</h2>\n{content}\n" for heading, content in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n")


def relative_images(root: Path, folder: str, pattern: str = "*.png") -> list[Path]:
    return sorted((root / folder).glob(pattern)) if (root / folder).is_dir() else []
