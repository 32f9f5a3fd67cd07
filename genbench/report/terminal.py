"""What a run prints when it ends: the comparison table in marks and figures, compact enough to stay on a
terminal's last screen (100 columns for eight columns of models), and where the rest is.

Each cell is the mark and the row's figure to three significant digits; a line under the table names
each row's figure and unit. A row in which no model could be measured on this dataset (MIG without known
factors) is said once beneath the table, with the reason; rows the run did not ask for are named once.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from genbench.records import REFERENCES
from genbench.report.marks import NOT_APPLICABLE, NOT_REQUESTED, Cell
from genbench.report.table import ComparisonTable
from genbench.report.training import compute_note

TITLE_WIDTH = 14
SCREEN = 100
SHORT_TITLES = {"sampling": "sampling", "quality": "quality", "coverage": "coverage", "novelty": "novel",
                "latent_smooth": "smooth latent", "latent_interpretable": "interpretable", "likelihood": "likelihood"}


def figure(cell: Cell, table: ComparisonTable) -> str:
    """The cell's figure in a few characters: three significant digits."""
    if not math.isfinite(cell.value):
        return ""
    output = table.summary.output(cell.metric)
    value = 100 * cell.value if output.style == "percent" else cell.value
    text = f"{value:.3g}{'%' if output.style == 'percent' else ''}"
    return text.replace("e+0", "e").replace("e+", "e")


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def row_figure(table: ComparisonTable, key: str) -> str:
    """The figure a row shows (its label and unit), from the first measured cell."""
    for model in table.models:
        cell = table.cell(key, model)
        if math.isfinite(cell.value):
            output = table.summary.output(cell.metric)
            unit = f" ({output.unit})" if output.unit not in ("", output.label) and output.style != "count" else ""
            return f"{output.label}{unit}"
    return ""


def row_spaces(table: ComparisonTable, keys: list[str]) -> dict[str, list[str]]:
    """The feature spaces the rows' figures were measured in: {extractor: [short row titles]}."""
    spaces: dict[str, list[str]] = {}
    for key in keys:
        for model in table.models:
            cell = table.cell(key, model)
            row = table.summary.by_model.get(model, {}).get(cell.metric) if math.isfinite(cell.value) else None
            if row is not None:
                if row.extractor:
                    spaces.setdefault(row.extractor, []).append(SHORT_TITLES.get(key, key))
                break
    return spaces


def wrapped(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, SCREEN, subsequent_indent=indent)


def column_widths(models: list[str], rows: list[list[str]]) -> list[int]:
    """Each column as wide as its name or its widest cell, plus a space, when they fit the screen together;
    else one width for all, names and cells shortened with "…" to fit."""
    widths = [max([len(m), 5, *(len(texts[i]) for texts in rows)]) + 1 for i, m in enumerate(models)]
    if TITLE_WIDTH + sum(widths) <= SCREEN:
        return widths
    return [max(6, (SCREEN - TITLE_WIDTH) // max(1, len(models)))] * len(models)


def compact_table(table: ComparisonTable, run_dir: Path | None = None) -> str:
    """The table in marks and figures, the rows said once, and the files with everything else."""
    shown, all_na, unrequested = [], [], []
    for row in table.rows:
        cells = [table.cell(row.key, m) for m in table.models]
        models = [c for m, c in zip(table.models, cells) if m not in REFERENCES]
        if all(c.text == NOT_REQUESTED for c in cells):
            unrequested.append(row.title)
        elif not any(math.isfinite(c.value) for c in cells) and any(c.mark == NOT_APPLICABLE for c in models):
            reason = next(c.text for c in models if c.mark == NOT_APPLICABLE)
            all_na.append(f"{row.title}: not measurable here, n/a for every model that could have it ({reason})")
        else:
            shown.append((row, [f"{c.mark} {figure(c, table)}".strip() or "·" for c in cells]))
    widths = column_widths(table.models, [texts for _, texts in shown])
    lines = [(" " * TITLE_WIDTH + "".join(f"{short(m, w - 1):<{w}}" for m, w in zip(table.models, widths))).rstrip()]
    for row, texts in shown:
        title = SHORT_TITLES.get(row.key, row.title)[:TITLE_WIDTH - 1]
        lines.append(f"{title:<{TITLE_WIDTH}}"
                     + "".join(f"{short(t, w - 1):<{w}}" for t, w in zip(texts, widths)).rstrip())
    figures = "; ".join(f"{SHORT_TITLES.get(row.key, row.title)}: {row_figure(table, row.key)}"
                        for row, _ in shown if row_figure(table, row.key))
    lines += ["", *wrapped(f"figures: {figures}")] if figures else [""]
    spaces = row_spaces(table, [row.key for row, _ in shown])
    if spaces:
        lines += wrapped("feature space: " + "; ".join(f"{name} ({', '.join(rows)})" for name, rows in spaces.items()))
    compute = compute_note(table.summary)
    if compute:
        lines += wrapped(compute)
    for text in all_na:
        lines += wrapped(text)
    if unrequested:
        lines += wrapped(f"not requested: {', '.join(unrequested)}")
    if run_dir is not None:  # paths whole, one per line, to copy
        lines += ["every figure with its uncertainty, and the rules behind each mark:",
                  f"  {run_dir / 'table.md'}", f"  {run_dir / 'report.html'}"]
    return "\n".join(lines).rstrip() + "\n"
