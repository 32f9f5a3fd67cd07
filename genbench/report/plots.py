"""Figures of a run, drawn with seaborn from metrics.csv alone (``genbench report`` redraws them).

- ``metrics.png``: one bar chart per headline metric, a bar per model, error bars across seeds
  (the standard error; with one seed, the record's own standard error);
- ``table.png``: the comparison table as a heatmap of its marks, each cell annotated;
- ``sampling-speed.png``: samples per second against batch size, one line per model.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from genbench.atomic import write_bytes
from genbench.records import OK, TIMED
from genbench.report.drawing import figure_png, pyplot
from genbench.report.marks import CHECK, CROSS, NOT_APPLICABLE, UNSURE
from genbench.report.summary import Summary
from genbench.report.table import ComparisonTable

MARK_SCORE = {CHECK: 2.0, UNSURE: 1.0, CROSS: 0.0}


def headline_panels(summary: Summary) -> list[str]:
    """The figures of metrics.png: every headline figure (its declaration says so) that holds a finite value."""
    frame = summary.frame
    measured = frame[(frame.status == OK) & frame.value.map(math.isfinite)]
    return [m for m in dict.fromkeys(measured.metric) if "[" not in m and summary.output(m).headline]


def metric_bars_png(summary: Summary) -> bytes | None:
    """Bars of every headline figure measured, error bars across seeds."""
    import seaborn as sns

    plt = pyplot()
    frame = summary.frame
    metrics = headline_panels(summary)
    if not metrics:
        return None
    ok = frame[(frame.status == OK) & frame.metric.isin(metrics) & frame.value.map(math.isfinite)]
    models = summary.models
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    palette = dict(zip(models, sns.color_palette("tab10", len(models))))
    for ax, metric in zip(axes.flat, metrics):
        data = ok[ok.metric == metric]
        order = [m for m in models if m in set(data.model)]
        several_seeds = data.groupby("model").size().max() > 1
        sns.barplot(data=data, x="model", y="value", hue="model", order=order, palette=palette, ax=ax,
                    errorbar="se" if several_seeds else None, legend=False)
        if not several_seeds:  # one seed: the record's own standard error
            for i, model in enumerate(order):
                row = data[data.model == model].iloc[0]
                if math.isfinite(row.stderr):
                    ax.errorbar(i, row.value, yerr=row.stderr, color="black", capsize=3)
        output = summary.output(metric)
        ax.set_title(output.title(), fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        if output.log_scale:
            ax.set_yscale("log")
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.tight_layout()
    return figure_png(fig)


def table_heatmap_png(table: ComparisonTable) -> bytes:
    """The six rows × models, coloured by mark (✓ green, ? amber, ✗ red, n/a and unmeasured grey)."""
    import seaborn as sns
    from matplotlib.colors import ListedColormap

    plt = pyplot()
    scores = pd.DataFrame(index=[r.title for r in table.rows], columns=table.models, dtype=float)
    labels = pd.DataFrame(index=scores.index, columns=table.models, dtype=object)
    for row in table.rows:
        for model in table.models:
            cell = table.cell(row.key, model)
            scores.loc[row.title, model] = MARK_SCORE.get(cell.mark, math.nan)
            short = cell.text if len(cell.text) <= 26 else cell.text[:24] + "…"
            labels.loc[row.title, model] = f"{cell.mark or '·'}\n{short}" if cell.mark != NOT_APPLICABLE else "n/a"
    fig, ax = plt.subplots(figsize=(2.1 * len(table.models) + 2.5, 0.9 * len(table.rows) + 1))
    cmap = ListedColormap(["#e8a0a0", "#f2d98c", "#9fd39f"])
    sns.heatmap(scores, annot=labels, fmt="", cmap=cmap, vmin=-0.5, vmax=2.5, cbar=False, linewidths=1,
                linecolor="white", ax=ax, annot_kws={"fontsize": 7})
    ax.set_facecolor("#e6e6e6")
    for i, j in zip(*scores.isna().to_numpy().nonzero()):  # seaborn leaves masked (grey) cells blank
        ax.text(j + 0.5, i + 0.5, labels.iat[i, j], ha="center", va="center", fontsize=7, color="#555555")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=0, labelsize=8)
    ax.tick_params(axis="y", labelsize=8)
    return figure_png(fig)


SWEEP = re.compile(r"^samples_per_second\[batch=(\d+)\]$")


def sampling_sweep_png(summary: Summary) -> bytes | None:
    """Samples per second against batch size (log-log), one line per model, across seeds."""
    import seaborn as sns

    plt = pyplot()
    frame = summary.frame
    sweep = frame[(frame.status == OK) & (frame.estimator == TIMED) & frame.metric.str.match(SWEEP)].copy()
    if sweep.empty:
        return None
    sweep["batch size"] = sweep.metric.str.extract(SWEEP, expand=False).astype(int)
    sweep["samples/s"] = sweep.value
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sns.lineplot(data=sweep, x="batch size", y="samples/s", hue="model", marker="o", errorbar="se", ax=ax,
                 hue_order=[m for m in summary.models if m in set(sweep.model)])
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_title("Efficient sampling: samples/s by batch size", fontsize=10)
    return figure_png(fig)


def save_plots(folder, table: ComparisonTable) -> list[str]:
    """Write every figure that metrics.csv supports into ``folder``; return their file names."""
    written = []
    summary = table.summary
    for name, png in (("metrics.png", metric_bars_png(summary)), ("table.png", table_heatmap_png(table)),
                      ("sampling-speed.png", sampling_sweep_png(summary))):
        if png is not None:
            write_bytes(folder / name, png)
            written.append(name)
    return written
