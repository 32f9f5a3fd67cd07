"""Models from outside genbench: an import path, an entry point of an installed package, and the
one-line errors when either goes wrong. The package is written by the tests into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import genbench
from genbench import catalog
from genbench.errors import UsageError

MODULE = textwrap.dedent('''
    """A package outside genbench with its own model."""
    import dataclasses

    from genbench.baselines.naive_bayes import NaiveBayes, NaiveBayesConfig
    from genbench.metric import Metric
    from genbench.model import Capability
    from genbench.outputs import HIGHER, Output
    from genbench.records import Record


    @dataclasses.dataclass(frozen=True)
    class SmoothedConfig(NaiveBayesConfig):
        alpha: float = 5.0


    class Smoothed(NaiveBayes):
        """Naive Bayes with heavier smoothing, from a package outside genbench."""

        name = "smoothed-bayes"
        config_class = SmoothedConfig


    class NotAModel:
        pass


    class Brightness(Metric):
        """The mean grey level of 100 samples, from a package outside genbench."""

        name = "brightness"
        outputs = (Output("brightness", "brightness", "grey levels", HIGHER),)
        requires_any = frozenset({Capability.SAMPLE})

        def compute(self, model, data, context):
            mean = model.draw(100, context.generator(self.name)).float().mean().item()
            return [Record("brightness", mean, 0.0, n=100, estimator="mean")]


    class Misnamed(Smoothed):
        name = "something-else"
''')


def write_package(root, name="tmp_pkg", module=MODULE, entry_points: dict[str, str] | None = None,
                  group=catalog.MODEL_ENTRY_POINTS):
    """``root/name/mod.py`` and, with ``entry_points``, a dist-info folder that declares them in ``group`` (what
    ``pip install`` of a package with such entry points leaves behind)."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(module)
    if entry_points:
        dist = root / f"{name}-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 0.1\n")
        lines = "\n".join(f"{n} = {target}" for n, target in entry_points.items())
        (dist / "entry_points.txt").write_text(f"[{group}]\n{lines}\n")
    return root


@pytest.fixture(autouse=True)
def forget_test_packages():
    """The packages these tests write are imported afresh by each test."""
    yield
    for name in [m for m in sys.modules if m.split(".")[0] in ("tmp_pkg", "clash_pkg", "broken_pkg")]:
        del sys.modules[name]


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package on sys.path (as if installed) whose entry point names its model smoothed-bayes."""
    root = tmp_path / "site"
    root.mkdir()
    write_package(root, entry_points={"smoothed-bayes": "tmp_pkg.mod:Smoothed"})
    monkeypatch.syspath_prepend(str(root))
    return root


FAST = ["--budget", "smoke", "--metrics", "log-likelihood:k=4,fidelity", "--quiet"]


@pytest.mark.slow
def test_an_import_path_runs_into_the_table(package, tmp_path, cli):
    out = tmp_path / "run"
    result = cli("run", "--models", "tmp_pkg.mod:Smoothed,tmp_pkg.mod:Smoothed:alpha=0.5,vae", "--out", out, *FAST)
    assert result.code == 0, result.err
    frame = pd.read_csv(out / "metrics.csv", keep_default_na=False)
    assert list(dict.fromkeys(frame.model)) == ["tmp_pkg.mod:Smoothed", "tmp_pkg.mod:Smoothed:alpha=0.5", "vae",
                                                "real-data"]
    ll = frame[frame.metric == "log_likelihood"].set_index("model")
    assert ll.loc["tmp_pkg.mod:Smoothed", "status"] == "ok" and ll.loc["tmp_pkg.mod:Smoothed", "estimator"] == "exact"
    assert ll.loc["tmp_pkg.mod:Smoothed:alpha=0.5", "value"] != ll.loc["tmp_pkg.mod:Smoothed", "value"]
    assert "tmp_pkg.mod:Smoothed" in (out / "measurements.md").read_text()
    assert r"tmp\_pkg.mod:Smoothed" in (out / "table.tex").read_text()  # LaTeX-escaped
    config = (out / "config.json").read_text()
    assert '"alpha": 5.0' in config and '"alpha": 0.5' in config  # the class's own defaults, resolved


def test_the_same_model_through_its_entry_point(package, tmp_path, cli):
    out = tmp_path / "run"
    assert cli("run", "--models", "smoothed-bayes:alpha=2,naive-bayes", "--out", out, *FAST).code == 0
    frame = pd.read_csv(out / "metrics.csv", keep_default_na=False)
    assert {"smoothed-bayes:alpha=2", "naive-bayes"} <= set(frame.model)
    assert "smoothed-bayes" in catalog.MODELS.names()
    assert catalog.MODELS.origin("smoothed-bayes") == "entry point of tmp-pkg 0.1"


def test_a_metric_comes_in_by_the_models_route(tmp_path, monkeypatch, cli):
    """One route in for every registry: a metric by its import path, and the same metric by an installed package's
    entry point in genbench.metrics, listed with where it comes from."""
    root = tmp_path / "site"
    root.mkdir()
    write_package(root, entry_points={"brightness": "tmp_pkg.mod:Brightness"}, group=catalog.METRIC_ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(root))
    for metric in ("tmp_pkg.mod:Brightness", "brightness"):
        out = tmp_path / metric.replace(":", "-")
        result = cli("run", "--models", "naive-bayes", "--metrics", metric, "--out", out, "--quiet")
        assert result.code == 0, result.err
        frame = pd.read_csv(out / "metrics.csv", keep_default_na=False).set_index(["model", "metric"])
        brightness = frame.loc[("naive-bayes", "brightness")]
        assert brightness.status == "ok" and 0 < float(brightness.value) < 1
    listed = next(line for line in cli("list", "metrics").out.splitlines() if line.strip().startswith("brightness"))
    assert "[entry point of tmp-pkg 0.1]" in listed and "from a package outside genbench" in listed


def test_an_extractor_s_import_path_stays_whole_in_a_metric_s_options():
    from genbench.specs import parse_spec

    spec = parse_spec("fidelity:extractor=tmp_pkg.features:MyNet:n=100", "metric")
    assert spec.option_dict() == {"extractor": "tmp_pkg.features:MyNet", "n": "100"}
    assert str(spec) == "fidelity:extractor=tmp_pkg.features:MyNet:n=100"
    with pytest.raises(UsageError, match="not an import path"):
        catalog.EXTRACTORS.entry("tmp_pkg:lower_case")


def test_list_says_where_each_model_comes_from(package, cli):
    result = cli("list", "models")
    assert result.code == 0
    lines = result.out.splitlines()
    plugin = next(line for line in lines if "smoothed-bayes" in line)
    assert "Naive Bayes with heavier smoothing" in plugin and "[entry point of tmp-pkg 0.1]" in plugin
    assert "options: alpha=5.0" in lines[lines.index(plugin) + 1]
    vae = next(line for line in lines if line.strip().startswith("vae "))
    assert "[" not in vae  # built-in
    assert "hidden=256x256" in result.out  # the syntax the command line accepts


def test_a_checkpoint_of_an_outside_model_loads_by_its_class_path(package, tmp_path, digits):
    model = genbench.make_model("tmp_pkg.mod:Smoothed").fit(digits.train)
    model.save(tmp_path / "m")
    loaded = genbench.load_model(tmp_path / "m")
    assert type(loaded).__name__ == "Smoothed" and loaded.config.alpha == 5.0
    assert (loaded.log_prob(digits.test.x) == model.log_prob(digits.test.x)).all()


@pytest.mark.parametrize("spec, says", [
    ("nowhere_pkg.mod:Model", "cannot import nowhere_pkg.mod for the model nowhere_pkg.mod:Model: No module named "
                              "'nowhere_pkg' (is its package installed, or its folder on PYTHONPATH?)"),
    ("tmp_pkg.mod:Missing", "tmp_pkg.mod has no Missing (the model tmp_pkg.mod:Missing)"),
    ("tmp_pkg.mod:NotAModel", "tmp_pkg.mod:NotAModel is NotAModel, not a subclass of genbench's GenerativeModel"),
    ("genbench.model:GenerativeModel", "genbench.model:GenerativeModel is abstract: implement _build, _fit"),
])
def test_a_bad_import_path_is_one_line_exit_2(package, tmp_path, cli, spec, says):
    result = cli("run", "--models", spec, "--out", tmp_path / "run", *FAST)
    assert result.code == 2
    assert result.err == f"genbench run: error: {says}\n"


def test_a_module_that_fails_to_import_is_named(tmp_path, monkeypatch, cli):
    write_package(tmp_path, "broken_pkg", module="raise RuntimeError('needs a GPU driver')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = cli("run", "--models", "broken_pkg.mod:Model", "--out", tmp_path / "run", *FAST)
    assert result.code == 2
    assert result.err == ("genbench run: error: importing broken_pkg.mod for the model broken_pkg.mod:Model failed: "
                          "RuntimeError: needs a GPU driver\n")


def test_entry_points_that_clash_or_misname_are_refused(tmp_path, monkeypatch):
    write_package(tmp_path, "clash_pkg", entry_points={"vae": "clash_pkg.mod:Smoothed",
                                                      "wrong": "clash_pkg.mod:Misnamed",
                                                      "not-a-model": "clash_pkg.mod:NotAModel"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="model name 'vae' is claimed twice: by genbench and by the entry point of "
                                         "clash-pkg 0.1; uninstall or rename the plugin"):
        catalog.MODELS.get("vae")
    with pytest.raises(UsageError, match="which calls itself 'something-else'; a model must call itself by its entry "
                                         "point's name"):
        catalog.MODELS.get("wrong")
    with pytest.raises(UsageError, match="is NotAModel, not a subclass"):
        catalog.MODELS.get("not-a-model")


def test_list_survives_a_broken_plugin(tmp_path, monkeypatch, cli):
    write_package(tmp_path, "clash_pkg", entry_points={"not-a-model": "clash_pkg.mod:NotAModel"})
    monkeypatch.syspath_prepend(str(tmp_path))
    result = cli("list", "models")
    assert result.code == 0
    assert "not-a-model" in result.out and "unusable: the entry point 'not-a-model' of clash-pkg 0.1" in result.out


@pytest.mark.slow
def test_an_installed_entry_point_works_from_a_fresh_process(package, tmp_path):
    """The console script in a new interpreter finds the entry point through the package's metadata."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "genbench", "run", "--models", "smoothed-bayes",
                             "--out", str(tmp_path / "run"), *FAST], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "smoothed-bayes" in (tmp_path / "run" / "metrics.csv").read_text()
