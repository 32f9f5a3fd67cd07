"""Columns grouped by family, and the lecture's hand-drawn marks beside the measured ones, from records alone."""

from __future__ import annotations

from genbench.records import Record, to_frame
from genbench.report.families import by_family, family_of
from genbench.report.html import comparison_html, lecture_html
from genbench.report.lecture import LECTURE, lecture_cells
from genbench.report.marks import CHECK, CROSS, UNSURE
from genbench.report.table import comparison_markdown, comparison_table
from genbench.report.terminal import compact_table


def speed(model: str, value: float) -> Record:
    return Record("samples_per_second", value, 1.0, unit="samples/s", n=256, estimator="timed").identify(
        model=model, dataset="d", seed=0)


def test_columns_follow_the_lecture_s_families_then_your_models_then_the_reference():
    models = ["real-data", "my-model", "diffusion", "gan:latent_dim=4", "vae", "naive-bayes", "flow", "beta-vae"]
    assert by_family(models) == ["naive-bayes", "vae", "beta-vae", "gan:latent_dim=4", "flow", "diffusion",
                                 "my-model", "real-data"]
    assert [family_of(m) for m in ("pca", "ae", "gan:latent_dim=4", "mine.models:Thing")] == [
        "classical", "autoencoders", "GANs", "other models"]


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
