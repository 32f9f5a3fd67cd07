"""report.html: one page with the comparison, the measurements, every figure and the run's setup."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from genbench.config import option_text
from genbench.infra.rundir import CONFIG, DATASET, ENVIRONMENT, LATENT, SAMPLES, RunDir, safe_name
from genbench.report.html import (
    LEGEND,
    comparison_html,
    figures_html,
    lecture_html,
    measurements_html,
    page,
    rules_html,
)
from genbench.report.table import ComparisonTable
from genbench.report.training import compute_note

FIGURES = "figures"
FIGURE_TITLES = {"metrics.png": "every headline figure by model", "table.png": "the comparison table by mark",
                 "sampling-speed.png": "samples/s by batch size",
                 "diffusion-steps.png": "FID and samples/s by sampling steps",
                 "memorisation.png": "distances to the nearest training example: samples against new data",
                 "learning-curves.png": "quality, coverage and validation loss against training compute"}


def ordered_images(root: Path, folder: str, models: list[str]) -> list[Path]:
    """The PNGs of ``folder``: the data first, then each column's in the table's order, then any others."""
    images = sorted((root / folder).glob("*.png")) if (root / folder).is_dir() else []
    rank = {safe_name(model): i for i, model in enumerate(models)}

    def key(path: Path) -> tuple[int, str]:
        if path.stem == "data":
            return (-1, path.stem)
        owner = next((stem for stem in sorted(rank, key=len, reverse=True) if path.stem.startswith(stem + "-seed")),
                     None)
        return (rank[owner] if owner is not None else len(rank), path.stem)

    return sorted(images, key=key)


def setup_html(rundir: RunDir) -> str:
    """The configuration, dataset and environment as a short list, with the JSON behind a fold."""
    docs = {name: rundir.read_json(name) for name in (CONFIG, DATASET, ENVIRONMENT) if rundir.file(name).exists()}
    if not docs:
        return ""
    config, dataset, env = docs.get(CONFIG, {}), docs.get(DATASET, {}), docs.get(ENVIRONMENT, {})
    run = config.get("run", {})
    splits = dataset.get("splits", {})
    facts: list[tuple[str, Any]] = [
        ("dataset", f"{dataset.get('name', run.get('dataset', ''))}: {' / '.join(str(v) for v in splits.values())} "
                    f"({'/'.join(splits)}), fingerprint {str(dataset.get('fingerprint', ''))[:16]}…"),
        ("metrics", ", ".join(run.get("metrics", []))),
        ("seeds", ", ".join(map(str, run.get("seeds", [])))),
        ("budget", f"{run.get('budget', '')}" + (f" (asked as {run['budget_asked']})" if run.get("budget_asked")
                                                   else "")),
        ("device", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in env.get("device", {}).items())),
        ("versions", ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items() if v)),
        ("source", (env.get("git") or {}).get("commit", "not a git checkout")),
    ]
    items = "".join(f"<dt>{html.escape(name)}</dt><dd>{html.escape(str(value))}</dd>" for name, value in facts if value)
    models = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(entry.get('name', ''))}</td><td>"
                     + html.escape(", ".join(f"{k}={option_text(v)}" for k, v in entry.get("config", {}).items()))
                     + "</td></tr>" for label, entry in config.get("models", {}).items())
    table = (f'<table class="genbench"><tr><th>column</th><th>model</th><th>options</th></tr>{models}</table>'
             if models else "")
    raw = "".join(f"<details><summary>{html.escape(name)}</summary><pre>{html.escape(json.dumps(doc, indent=2))}"
                  "</pre></details>" for name, doc in docs.items())
    return f'<dl class="config">{items}</dl>{table}{raw}'


def report_page(rundir: RunDir, table: ComparisonTable, caption: str, notes: list[str], figures: list[str]) -> str:
    root = rundir.path
    lecture = lecture_html(table)
    compute = compute_note(table.summary)
    compute_html = f'<p class="caption">{html.escape(compute)}</p>' if compute else ""
    sections = [("Comparison", f'<p class="caption">{html.escape(caption)}</p>{LEGEND}{comparison_html(table)}'
                               f"{compute_html}{rules_html(table)}"),
                *([("The lecture's marks beside the measured ones", lecture)] if lecture else []),
                ("Measurements", measurements_html(table)
                 + '<ul class="rules">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"),
                ("Figures", figures_html((f"{FIGURES}/{name}", FIGURE_TITLES.get(name, name)) for name in figures))]
    for folder, heading in ((SAMPLES, "Samples"), (LATENT, "Latent space")):
        images = ordered_images(root, folder, table.models)
        if images:
            sections.append((heading, figures_html((str(p.relative_to(root)), p.stem) for p in images)))
    setup = setup_html(rundir)
    if setup:
        sections.append(("Configuration and environment", setup))
    return page(f"genbench report: {rundir.path.name}", sections)
