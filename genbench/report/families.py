"""Model families, the order of the table's columns, and the lecture's hand-drawn marks beside the measured ones.

The lecture's columns are families (GANs, VAEs, Flows, Diffusion); genbench's are models, grouped here by family
in the order the lecture builds them up: classical, autoencoders, VAEs, GANs, flows, diffusion; then any other
model (the user's own), then the reference columns. A model's family is found from its name as registered
(``vae:latent_dim=2`` is a VAE).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from genbench.records import REFERENCES
from genbench.report.marks import CHECK, CROSS, ROWS, UNSURE

if TYPE_CHECKING:
    from genbench.report.table import ComparisonTable

FAMILIES: dict[str, tuple[str, ...]] = {
    "classical": ("naive-bayes", "pca"),
    "autoencoders": ("ae",),
    "VAEs": ("vae", "beta-vae"),
    "GANs": ("gan",),
    "flows": ("flow",),
    "diffusion": ("diffusion",),
}
OTHER, REFERENCE = "other models", "reference"

LECTURE: dict[str, tuple[str, ...]] = {
    # family → its marks in the order of ``marks.ROWS``: sampling, quality, coverage, well-behaved latent,
    # interpretable latent, efficient likelihood. Diffusion's column is the one the diffusion issue quotes; the
    # others are the lecture table as commonly drawn (sampling, quality and coverage are the "generative learning
    # trilemma" of Xiao et al. 2022). The lecture writes n/a for a GAN's likelihood: it defines none, which
    # genbench's rule marks ✗.
    "GANs": (CHECK, CHECK, CROSS, CHECK, UNSURE, CROSS),
    "VAEs": (CHECK, CROSS, UNSURE, CHECK, UNSURE, CROSS),
    "flows": (CHECK, CROSS, UNSURE, CHECK, UNSURE, CHECK),
    "diffusion": (CROSS, CHECK, UNSURE, CROSS, CROSS, CROSS),
}


def base_name(label: str) -> str:
    """The registered name of a column label: ``vae:latent_dim=2`` → ``vae``."""
    return label.split(":", 1)[0]


def family_of(label: str) -> str:
    if label in REFERENCES:
        return REFERENCE
    return next((family for family, names in FAMILIES.items() if base_name(label) in names), OTHER)


def by_family(models: list[str]) -> list[str]:
    """``models`` in family order, the run's order kept within a family."""
    order = [*FAMILIES, OTHER, REFERENCE]
    return sorted(models, key=lambda m: order.index(family_of(m)))


def family_line(models: list[str]) -> str:
    """``classical: naive-bayes, pca · VAEs: vae · …`` for the models of a table."""
    groups: dict[str, list[str]] = {}
    for model in models:
        groups.setdefault(family_of(model), []).append(model)
    return " · ".join(f"{family}: {', '.join(names)}" for family, names in groups.items())


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


def lecture_cells(table: ComparisonTable) -> list[LectureCell]:
    """One cell per row × model of a lecture family present in the table."""
    cells = []
    for model in table.models:
        family = family_of(model)
        if family not in LECTURE:
            continue
        for row, lecture in zip(ROWS, LECTURE[family]):
            cells.append(LectureCell(row.title, family, model, lecture, table.cell(row.key, model).mark))
    return cells
