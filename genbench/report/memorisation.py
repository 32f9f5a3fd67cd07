"""``figures/memorisation.png``: each model's samples and the held-out split at their distance to the nearest
training example, drawn from the per-sample tables the memorisation metric wrote (``memorisation/*.csv``).

A model that learned the distribution puts its samples as far from the training set as new data lies (the two
histograms match); a copier piles its samples at zero; an underfitting model lies farther out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genbench.infra.drawing import figure_png, pyplot
from genbench.infra.rundir import safe_name

FOLDER = "memorisation"
BINS = 30
COLUMNS = 4


def distance_tables(root: Path, models: list[str]) -> dict[str, pd.DataFrame]:
    """Each column's per-sample table, every seed's rows together, in the table's column order."""
    folder = root / FOLDER
    found = {}
    for model in models:
        paths = sorted(folder.glob(f"{safe_name(model)}-seed*.csv")) if folder.is_dir() else []
        paths = [p for p in paths if p.stem.removeprefix(f"{safe_name(model)}-seed").isdigit()]
        if paths:
            found[model] = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    return found


def memorisation_png(root: Path, models: list[str]) -> bytes | None:
    """One panel per column: the samples' distances to their nearest training example against the held-out
    split's (None when no memorisation table was written)."""
    tables = distance_tables(root, models)
    if not tables:
        return None
    plt = pyplot()
    rows = -(-len(tables) // COLUMNS)
    columns = min(COLUMNS, len(tables))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False, sharex=True)
    largest = max(t.distance.quantile(0.995) for t in tables.values())
    bins = [largest * i / BINS for i in range(BINS + 1)]
    for ax, (model, table) in zip(axes.flat, tables.items()):
        samples, heldout = table[table.set == "sample"], table[table.set == "held-out"]
        ax.hist(heldout.distance.clip(upper=largest), bins=bins, density=True, color="0.75",
                label=f"held-out ({len(heldout)})")
        ax.hist(samples.distance.clip(upper=largest), bins=bins, density=True, histtype="step", linewidth=1.8,
                color="tab:red" if samples.near_copy.mean() > 0.5 else "tab:blue", label=f"samples ({len(samples)})")
        ax.set_title(model, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, frameon=False)
    for ax in axes.flat[len(tables):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("distance to the nearest training example", fontsize=7)
    fig.suptitle("Novel samples: distances to the nearest training example, samples against new data", fontsize=10)
    fig.tight_layout()
    return figure_png(fig)
