"""Columns grouped by family, and the lecture's hand-drawn marks beside the measured ones, from records alone."""

from __future__ import annotations

from genbench import catalog
from genbench.records import Record, to_frame
from genbench.report.families import by_family, family_of
from genbench.report.html import comparison_html, lecture_html
from genbench.report.lecture import LECTURE, lecture_cells
from genbench.report.marks import CHECK, CROSS, UNSURE
from genbench.report.table import comparison_markdown, comparison_table
from genbench.report.terminal import compact_table

DECLARED = {**{name: catalog.MODELS.get(name).family for name in catalog.MODELS.names()}, "gan:latent_dim=4": "GANs"}
"""The families genbench's models declare (``GenerativeModel.family``), by column label."""


def speed(model: str, value: float) -> Record:
    return Record("samples_per_second", value, 1.0, unit="samples/s", n=256, estimator="timed").identify(
        model=model, dataset="d", seed=0, family=DECLARED.get(model, ""))


def test_columns_follow_the_lecture_s_families_then_declared_ones_then_your_models_then_the_reference():
    models = ["real-data", "my-model", "ebm", "diffusion", "gan:latent_dim=4", "vae", "naive-bayes", "flow",
              "beta-vae"]
    families = {**DECLARED, "ebm": "energy-based"}
    assert by_family(models, families) == ["naive-bayes", "vae", "beta-vae", "gan:latent_dim=4", "flow", "diffusion",
                                           "ebm", "my-model", "real-data"]
    assert [family_of(m, families) for m in ("pca", "ae", "ebm", "mine.models:Thing", "true-density")] == [
        "classical", "autoencoders", "energy-based", "other models", "reference"]


def test_the_table_groups_by_the_family_the_records_declare_not_by_the_name():
    """A column named like a VAE whose records declare no family is the user's own; one that declares "GANs" is a
    GAN whatever its name."""
    frame = to_frame([speed("vae", 1.0).identify(model="vae", dataset="d", seed=0),
                      speed("gan", 2.0).identify(model="my-gan", dataset="d", seed=0, family="GANs")])
    table = comparison_table(frame)
    assert table.summary.families == {"my-gan": "GANs"}
    assert "Families: GANs: my-gan · other models: vae." in comparison_markdown(table)


def test_the_lecture_comparison_counts_agreements_among_measured_cells():
    """Sampling: gan at the fastest rate (✓, as drawn), diffusion at 1/500 of it (?, drawn ✗), a VAE at 1/10⁵ (✗,
    drawn ✓); the other rows were not requested and are not counted."""
    table = comparison_table(to_frame([speed("gan", 1e6), speed("diffusion", 2e3), speed("vae", 10.0)]))
    cells = {(c.model, c.row): c for c in lecture_cells(table)}
    sampling = {m: cells[(m, "Efficient sampling")] for m in ("vae", "gan", "diffusion")}
    assert {m: (c.lecture, c.measured) for m, c in sampling.items()} == {
        "vae": (CHECK, CROSS), "gan": (CHECK, CHECK), "diffusion": (CROSS, UNSURE)}
    assert [m for m, c in sampling.items() if c.agrees] == ["gan"]
    assert sum(c.comparable for c in cells.values()) == 3
    markdown = comparison_markdown(table)
    assert "| Efficient sampling | ✓ / ✗ ✘ | ✓ / ✓ ✔ | ✗ / ? ✘ |" in markdown
    assert "Agreement: 1 of 3 measured cells." in markdown
    assert "Families: VAEs: vae · GANs: gan · diffusion: diffusion." in markdown
    assert "Agreement: 1 of 3 measured cells" in lecture_html(table)
    assert '<th colspan="1">VAEs</th><th colspan="1">GANs</th>' in comparison_html(table)


def test_the_lecture_marks_cover_the_six_rows_of_four_families():
    assert set(LECTURE) == {"GANs", "VAEs", "flows", "diffusion"}
    assert all(len(marks) == 6 for marks in LECTURE.values())
    assert LECTURE["diffusion"] == (CROSS, CHECK, UNSURE, CROSS, CROSS, CROSS)  # as the diffusion issue quotes it


def test_no_lecture_family_no_lecture_section():
    table = comparison_table(to_frame([speed("naive-bayes", 1e6), speed("pca", 1e5)]))
    assert lecture_cells(table) == [] and "lecture" not in comparison_markdown(table)


def test_the_terminal_shows_nine_columns_with_their_full_names_in_100_columns():
    models = ["naive-bayes", "pca", "ae", "vae", "beta-vae", "gan", "flow", "diffusion", "my-model"]
    table = comparison_table(to_frame([speed(m, 10.0 ** (6 - i / 2)) for i, m in enumerate(models)]))
    lines = compact_table(table).splitlines()
    assert lines[0].split() == models and "…" not in lines[0]
    assert max(len(line) for line in lines) <= 100
