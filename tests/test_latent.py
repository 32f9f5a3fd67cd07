"""Latent-space figures (interpolation strips, traversals) and the latent rows end to end on shapes."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from PIL import Image

import genbench
from genbench.reference import RealData
from genbench.service.cell_figures import save_latent_figures


def fitted(name, data, fast, **options):
    model = genbench.make_model(name, **fast(name), **options)
    return model.fit(data.train, data.val, generator=torch.Generator().manual_seed(0))


def written(folder, stem):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(stem))


@pytest.mark.parametrize("name", ["pca", "gan"])
def test_figures_are_pngs_and_the_same_seed_draws_them_again(name, digits, fast, tmp_path):
    model = fitted(name, digits, fast)
    save_latent_figures(model, digits, tmp_path / "a" / "m-seed0", name, seed=0)
    save_latent_figures(model, digits, tmp_path / "b" / "m-seed0", name, seed=0)
    names = written(tmp_path / "a", "m-seed0")
    assert names == ["m-seed0-interpolation.png", "m-seed0-traversal.png"]
    for file in names:
        with Image.open(tmp_path / "a" / file) as image:
            assert image.format == "PNG" and image.width > 200 and image.height > 100
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_two_dimensional_data_get_paths_over_the_data(rings, fast, tmp_path):
    model = fitted("pca", rings, fast)
    save_latent_figures(model, rings, tmp_path / "pca-seed0", "pca", seed=0)
    assert written(tmp_path, "pca") == ["pca-seed0-interpolation.png", "pca-seed0-traversal.png"]


def test_no_figures_without_a_decoder_or_on_categories(digits, wardrobe, fast, tmp_path):
    save_latent_figures(RealData(digits.train), digits, tmp_path / "real-seed0", "real-data", seed=0)
    save_latent_figures(fitted("vae", wardrobe, fast), wardrobe, tmp_path / "vae-seed0", "vae", seed=0)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_shapes_run_measures_and_draws_the_latent_space(tmp_path, cli):
    """genbench run on shapes, two epochs: MIG and the FactorVAE score for the VAEs, smoothness in
    the domain classifier's features, the figures in latent/, and the two rows of the table."""
    out = tmp_path / "run"
    result = cli("run", "--dataset", "shapes", "--models", "vae,beta-vae,naive-bayes", "--epochs", "2",
                 "--metrics", "latent-smoothness:n=50,disentanglement", "--out", out, "--quiet")
    assert result.code == 0, result.err
    frame = pd.read_csv(out / "metrics.csv")
    ok = frame[frame.status == "ok"].set_index(["model", "metric"])
    for model in ("vae", "beta-vae"):
        assert 0 <= ok.loc[(model, "mig"), "value"] <= 1 and ok.loc[(model, "mig"), "n"] == 519
        assert 0 <= ok.loc[(model, "factor_vae_score"), "value"] <= 1
        assert ok.loc[(model, "smoothness_p99"), "extractor"] == "domain"
        assert ok.loc[(model, "smoothness_mean"), "value"] >= 1 and ok.loc[(model, "smoothness_mean"), "n"] <= 50
        assert written(out / "latent", model + "-seed0") == [f"{model}-seed0-interpolation.png",
                                                            f"{model}-seed0-traversal.png"]
    table = (out / "table.md").read_text()
    well_behaved = next(line for line in table.splitlines() if line.startswith("| Well-behaved latent space"))
    interpretable = next(line for line in table.splitlines() if line.startswith("| Interpretable latent space"))
    assert "MIG" in interpretable and "p99" in well_behaved
    assert "✗ naive-bayes has no" in well_behaved and "✗ naive-bayes has no" in interpretable
    assert "latent/vae-seed0-traversal.png" in (out / "report.html").read_text()


# ------------------------------------------------------------------------------------------- marks
def latent_table(rows):
    """The comparison table of (model, metric, value, stderr, status/estimator) rows, one seed."""
    from genbench.records import Record, to_frame
    from genbench.report.table import comparison_table

    records = []
    for model, metric, value, stderr, extra in rows:
        if extra == "none":  # the model lacks the capability
            records.append(Record.not_available(metric, f"{model} has no decoder", estimator="none"))
        elif extra == "n/a":
            records.append(Record.not_available(metric, "shapes only"))
        else:  # the settings the metrics record in details: T steps, histogram bins
            settings = {"steps": 10} if metric.startswith("smoothness") else {"bins": 20} if metric == "mig" else {}
            records.append(Record(metric, value, stderr, n=200, extractor=extra[0], estimator=extra[1],
                                  details=settings))
        records[-1] = records[-1].identify(model=model, dataset="d", seed=0)
    return comparison_table(to_frame(records))


P99 = ("domain", "99% quantile of T·step / path length (T=10)")
MEAN = ("domain", "Σ path length / Σ end distance over pairs")


def test_well_behaved_marks_by_the_mean_step_and_jumps():
    rows = []
    for model, mean, u, p99 in (("even", 1.20, 0.02, 2.0), ("detour", 1.80, 0.02, 2.5), ("noisy", 1.6, 0.3, 2.5),
                                ("jumpy", 1.10, 0.02, 6.0)):
        rows += [(model, "smoothness_mean", mean, u, MEAN), (model, "smoothness_p99", p99, 0.1, P99)]
    rows += [("nb", "smoothness_mean", None, None, "none"), ("nb", "smoothness_p99", None, None, "none"),
             ("real-data", "smoothness_mean", None, None, "none"), ("real-data", "smoothness_p99", None, None, "none")]
    table = latent_table(rows)
    marks = {m: table.cell("latent_smooth", m).mark for m in table.models}
    # even: below π/2, no jump. detour: 0.6 above the best (1.10), 2σ = 0.06. noisy: above π/2 but within
    # 2√(0.3² + 0.02²) = 0.6 of the best. jumpy: the best mean, but its p99 reaches T/2 = 5.
    assert marks == {"even": "✓", "detour": "✗", "noisy": "?", "jumpy": "✗", "nb": "✗", "real-data": "n/a"}
    assert str(table.cell("latent_smooth", "even")) == "✓ mean step 1.200 ± 0.020, p99 step 2.00 ± 0.10 (domain, n=200)"
    from genbench.report.table import best_models

    assert best_models(table, next(r for r in table.rows if r.key == "latent_smooth")) == {"jumpy"}


def test_interpretable_marks_by_mig():
    codes = ("", "mig, 20-bin histogram (Chen et al. 2018)")
    rows = [("beta", "mig", 0.30, 0.01, codes), ("vae", "mig", 0.25, 0.01, codes), ("ae", "mig", 0.10, 0.01, codes),
            ("pca", "mig", 0.15, 0.10, codes), ("gan", "mig", None, None, "none")]
    rows += [(m, "factor_vae_score", 0.8, 0.03, ("", "majority vote")) for m in ("beta", "vae", "ae", "pca")]
    table = latent_table(rows)
    marks = {m: table.cell("latent_interpretable", m).mark for m in table.models}
    assert marks == {"beta": "✓", "vae": "✓", "ae": "✗", "pca": "?", "gan": "✗"}
    assert str(table.cell("latent_interpretable", "ae")) == "✗ MIG 0.100 ± 0.010, FactorVAE score 0.800 ± 0.030 (n=200)"
    elsewhere = latent_table([("vae", "mig", None, None, "n/a"), ("vae", "factor_vae_score", None, None, "n/a")])
    assert elsewhere.cell("latent_interpretable", "vae").mark == "n/a"


def test_every_rule_has_latex_for_each_of_its_symbols():
    from genbench.report.latex import _SPECIAL

    for table in (latent_table([("vae", "mig", 0.3, 0.01, ("", "mig"))]), latent_table([])):
        for row in table.rows:
            text = row.title + row.meaning + table.rules[row.key]
            assert {c for c in text if ord(c) >= 128} <= set(_SPECIAL), row.key


def test_the_printed_rules_follow_the_runs_settings():
    """T, the histogram bins and the neighbourhood k in the rules are the run's, read from its records."""
    from genbench.records import Record, to_frame
    from genbench.report.table import comparison_table

    def rules(steps, bins, k):
        return comparison_table(to_frame(r.identify(model="m", dataset="d", seed=0) for r in (
            Record("smoothness_p99", 2.0, 0.1, details={"steps": steps}),
            Record("mig", 0.3, 0.01, details={"bins": bins}),
            Record("coverage", 0.8, 0.01, details={"k": k})))).rules

    default, changed = rules(10, 20, 5), rules(20, 30, 3)
    assert "T = 10 steps each" in default["latent_smooth"] and "p99 step below 5;" in default["latent_smooth"]
    assert "T = 20 steps each" in changed["latent_smooth"] and "p99 step below 10;" in changed["latent_smooth"]
    assert "20-bin histograms" in default["latent_interpretable"]
    assert "30-bin histograms" in changed["latent_interpretable"]
    assert "5-nearest-neighbour ball" in default["coverage"] and "3-nearest-neighbour ball" in changed["coverage"]
