"""The lecture's comparison table and the table of measurements, built from metrics.csv alone."""

from __future__ import annotations

import dataclasses
import io
import math

import pandas as pd

from genbench.records import NOT_AVAILABLE, OK, REFERENCES
from genbench.report.families import family_line
from genbench.report.lecture import lecture_grid
from genbench.report.marks import CROSS, NOT_APPLICABLE, ROWS, Cell, Row
from genbench.report.summary import Summary
from genbench.report.training import NOTED_ROWS, budget_noted, compute_note


@dataclasses.dataclass(frozen=True)
class ComparisonTable:
    models: list[str]
    rows: tuple[Row, ...]
    cells: dict[tuple[str, str], Cell]
    rules: dict[str, str]
    """Each row's rule, as printed for this run (its thresholds and the run's settings)."""
    summary: Summary

    def cell(self, row: str, model: str) -> Cell:
        return self.cells[(row, model)]


def as_summary(source: Summary | pd.DataFrame) -> Summary:
    return source if isinstance(source, Summary) else Summary(source)


def best_models(table: ComparisonTable, row: Row) -> set[str]:
    """The models (not the reference columns) with the best finite figure in ``row``."""
    cells = {m: table.cell(row.key, m) for m in table.models if m not in REFERENCES}
    values = {m: c.value for m, c in cells.items() if math.isfinite(c.value)}
    direction = {table.summary.output(cells[m].metric).higher_is_better for m in values}
    if len(direction) != 1 or None in direction:
        return set()
    best = (max if direction.pop() else min)(values.values())
    return {m for m, v in values.items() if v == best}


def comparison_table(source: Summary | pd.DataFrame) -> ComparisonTable:
    """The six rows × every column of metrics.csv (or of its summary), each cell marked by its row's rule."""
    summary = as_summary(source)
    cells = {}
    for model in summary.models:
        for row in ROWS:
            cell = row.judge(model, summary)
            if model in REFERENCES and cell.mark == CROSS:  # a reference lacks what it does not model
                cell = dataclasses.replace(cell, mark=NOT_APPLICABLE, text=f"reference column: {cell.text}")
            if row.key in NOTED_ROWS and math.isfinite(cell.value):
                cell = budget_noted(cell, summary, model, row.key)
            cells[(row.key, model)] = cell
    return ComparisonTable(summary.models, ROWS, cells, {row.key: row.rule(summary) for row in ROWS},
                           summary)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, body)]) + "\n"


def comparison_markdown(table: ComparisonTable) -> str:
    body = [[row.title, *(str(table.cell(row.key, m)) for m in table.models)] for row in table.rows]
    rules = [f"- **{row.title}** ({row.meaning}): {table.rules[row.key]}" for row in table.rows]
    lecture = lecture_markdown(table)
    families = family_line(table.models, table.summary.families)
    compute = compute_note(table.summary)
    return (markdown_table(["", *table.models], body) + f"\nFamilies: {families}.\n"
            + (f"\n{compute}\n" if compute else "")
            + "\nRules:\n\n" + "\n".join(rules) + "\n" + (f"\n{lecture}" if lecture else ""))


def lecture_markdown(table: ComparisonTable) -> str:
    """The lecture's marks beside the measured ones (``lecture / measured`` per cell), and the agreement count."""
    grid = lecture_grid(table)
    if grid is None:
        return ""
    header = ["", *(f"{m} ({grid.families[m]})" for m in grid.models)]
    body = [[title, *(f"{c.lecture} / {c.measured or 'not requested'}"
                      + ("" if not c.comparable else " ✔" if c.agrees else " ✘") for c in cells)]
            for title, cells in grid.rows]
    return ("## The lecture's marks beside the measured ones\n\n"
            "Each cell: the lecture's hand-drawn mark / genbench's measured mark for the family's model, ✔ where they "
            "agree, ✘ where they do not; cells genbench could not mark here (n/a) are not counted.\n\n"
            + markdown_table(header, body)
            + f"\nAgreement: {grid.agreed} of {grid.comparable} measured cells.\n")


def comparison_csv(table: ComparisonTable) -> str:
    records = []
    for row in table.rows:
        for model in table.models:
            cell = table.cell(row.key, model)
            records.append({"property": row.title, "model": model, "mark": cell.mark, "text": cell.text,
                            "value": cell.value, "uncertainty": cell.uncertainty})
    buffer = io.StringIO()
    pd.DataFrame(records).to_csv(buffer, index=False)
    return buffer.getvalue()


def measurement_cell(summary: Summary, row: pd.Series | None) -> str:
    """A measurement as tables show it: the figure in its declared style, n/a, failed, or blank."""
    if row is None:
        return ""
    if row.status == OK:
        return summary.output(row.metric).format(row.value, row.uncertainty)
    return NOT_APPLICABLE if row.status == NOT_AVAILABLE else row.status


def measurement_rows(source: Summary | pd.DataFrame) -> list[tuple[str, str, list[str]]]:
    """(metric, its heading, a cell per model) for every measurement but the per-batch sweeps: the body of
    measurements.md and of the measurements in the LaTeX and HTML tables."""
    summary = as_summary(source)
    body = []
    for metric, group in summary.without_sweeps().groupby("metric", sort=False):
        by_model = {r.model: r for _, r in group.iterrows()}
        unit = next((r.unit for _, r in group.iterrows() if r.unit), "")
        heading = f"{metric} ({unit})" if unit else metric
        body.append((metric, heading, [measurement_cell(summary, by_model.get(model)) for model in summary.models]))
    return body


def measurements_markdown(source: Summary | pd.DataFrame) -> str:
    """Every metric (rows) for every model (columns): value ± uncertainty, n/a or failed."""
    summary = as_summary(source)
    return markdown_table(["metric", *summary.models], [[h, *cells] for _, h, cells in measurement_rows(summary)])
