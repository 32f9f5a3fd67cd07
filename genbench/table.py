"""The lecture's comparison table and the table of measurements, built from metrics.csv alone."""

from __future__ import annotations

import dataclasses
import io
import math

import pandas as pd

from genbench.directions import higher_is_better
from genbench.formatting import format_estimate
from genbench.marks import CROSS, NOT_APPLICABLE, NOT_MEASURED, ROWS, Cell, Row
from genbench.records import NOT_AVAILABLE, OK
from genbench.reference import REFERENCES
from genbench.summary import model_order, summarise


@dataclasses.dataclass(frozen=True)
class ComparisonTable:
    models: list[str]
    rows: tuple[Row, ...]
    cells: dict[tuple[str, str], Cell]

    def cell(self, row: str, model: str) -> Cell:
        return self.cells[(row, model)]


def best_models(table: ComparisonTable, row: Row) -> set[str]:
    """The models (not the reference columns) with the best finite figure in ``row``."""
    cells = {m: table.cell(row.key, m) for m in table.models if m not in REFERENCES}
    values = {m: c.value for m, c in cells.items() if math.isfinite(c.value)}
    direction = {higher_is_better(cells[m].metric) for m in values}
    if len(direction) != 1 or None in direction:
        return set()
    best = (max if direction.pop() else min)(values.values())
    return {m for m, v in values.items() if v == best}


def comparison_table(frame: pd.DataFrame) -> ComparisonTable:
    summary = summarise(frame)
    models = model_order(frame)
    summaries = {model: {r.metric: r for r in summary[summary.model == model].itertuples(index=False)}
                 for model in models}
    cells = {}
    for model in models:
        for row in ROWS:
            cell = row.judge(model, summaries) if row.judge else Cell("", NOT_MEASURED)
            if model in REFERENCES and cell.mark == CROSS:  # a reference lacks what it does not model
                cell = dataclasses.replace(cell, mark=NOT_APPLICABLE, text=f"reference column: {cell.text}")
            cells[(row.key, model)] = cell
    return ComparisonTable(models, ROWS, cells)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, body)]) + "\n"


def comparison_markdown(table: ComparisonTable) -> str:
    body = [[row.title, *(str(table.cell(row.key, m)) for m in table.models)] for row in table.rows]
    rules = [f"- **{row.title}** ({row.meaning}): {row.rule or NOT_MEASURED}" for row in table.rows]
    return markdown_table(["", *table.models], body) + "\nRules:\n\n" + "\n".join(rules) + "\n"


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


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary without per-batch-size sweep rows (metrics.csv and figures/ keep those)."""
    return summary[~summary.metric.str.contains("[", regex=False)]


def measurements_markdown(frame: pd.DataFrame) -> str:
    """Every metric (rows) for every model (columns): value ± uncertainty, n/a or failed."""
    summary = headline(summarise(frame))
    models = model_order(frame)
    body = []
    for metric, group in summary.groupby("metric", sort=False):
        by_model = {r.model: r for r in group.itertuples(index=False)}
        unit = next((r.unit for r in group.itertuples() if r.unit), "")
        cells = []
        for model in models:
            r = by_model.get(model)
            if r is None:
                cells.append("")
            elif r.status == OK:
                cells.append(format_estimate(r.value, r.uncertainty))
            else:
                cells.append(NOT_APPLICABLE if r.status == NOT_AVAILABLE else r.status)
        body.append([f"{metric} ({unit})" if unit else metric, *cells])
    return markdown_table(["metric", *models], body)
