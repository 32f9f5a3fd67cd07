"""The lecture's hand-drawn marks beside genbench's measured ones, with the number of cells that agree.

The lecture's columns are families (``genbench.report.families``); each of the table's models of such a family
is compared with its family's column, row by row. Only cells genbench could mark (✓ ✗ ?) count.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from genbench.report.families import family_of
from genbench.report.marks import CHECK, CROSS, ROWS, UNSURE, Cell
from genbench.report.summary import Summary


class MarkedTable(Protocol):
    """What the lecture's comparison reads of the measured table (``genbench.report.table.ComparisonTable``,
    which shows this comparison and so is not imported here): its models, its summary and its marked cells."""

    models: list[str]
    summary: Summary

    def cell(self, row: str, model: str) -> Cell: ...

LECTURE_ROWS = ("sampling", "quality", "coverage", "latent_smooth", "latent_interpretable", "likelihood")
"""The lecture's six rows (``marks.ROWS`` keys); genbench's seventh, novel samples, is not the lecture's."""
LECTURE: dict[str, tuple[str, ...]] = {
    # family → its marks in the order of ``LECTURE_ROWS``: sampling, quality, coverage, well-behaved latent,
    # interpretable latent, efficient likelihood. Diffusion's column is the one the diffusion issue quotes; the
    # others are the lecture table as commonly drawn (sampling, quality and coverage are the "generative learning
    # trilemma" of Xiao et al. 2022). The lecture writes n/a for a GAN's likelihood: it defines none, which
    # genbench's rule marks ✗.
    "GANs": (CHECK, CHECK, CROSS, CHECK, UNSURE, CROSS),
    "VAEs": (CHECK, CROSS, UNSURE, CHECK, UNSURE, CROSS),
    "flows": (CHECK, CROSS, UNSURE, CHECK, UNSURE, CHECK),
    "diffusion": (CROSS, CHECK, UNSURE, CROSS, CROSS, CROSS),
}


TITLES = {row.key: row.title for row in ROWS}


@dataclasses.dataclass(frozen=True)
class LectureCell:
    row: str
    family: str
    model: str
    lecture: str
    measured: str

    @property
    def comparable(self) -> bool:
        """Whether genbench measured a mark here (not n/a, not requested): only those count."""
        return self.measured in (CHECK, CROSS, UNSURE)

    @property
    def agrees(self) -> bool:
        return self.comparable and self.measured == self.lecture


def lecture_cells(table: MarkedTable) -> list[LectureCell]:
    """One cell per row × model of a lecture family present in the table."""
    cells = []
    for model in table.models:
        family = family_of(model, table.summary.families)
        if family not in LECTURE:
            continue
        for key, lecture in zip(LECTURE_ROWS, LECTURE[family], strict=True):
            cells.append(LectureCell(TITLES[key], family, model, lecture, table.cell(key, model).mark))
    return cells


@dataclasses.dataclass(frozen=True)
class LectureGrid:
    """What both renderings show: the compared models, each row's cells in their order, and the count."""

    models: list[str]
    families: dict[str, str]
    """Each compared model's lecture family."""
    rows: list[tuple[str, list[LectureCell]]]
    agreed: int
    comparable: int


def lecture_grid(table: MarkedTable) -> LectureGrid | None:
    """The grid of ``lecture_cells`` (None when the table holds no model of the lecture's families)."""
    cells = lecture_cells(table)
    if not cells:
        return None
    families = {c.model: c.family for c in cells}
    models = list(families)
    by_place = {(c.row, c.model): c for c in cells}
    rows = [(TITLES[key], [by_place[(TITLES[key], m)] for m in models]) for key in LECTURE_ROWS]
    comparable = [c for c in cells if c.comparable]
    return LectureGrid(models, families, rows, sum(c.agrees for c in comparable), len(comparable))
