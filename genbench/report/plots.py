"""Figures of a run, drawn with seaborn and matplotlib from metrics.csv alone (``genbench report`` redraws them).

- ``metrics.png``: a panel per headline figure (its declaration says which), a point per model with its
  error bar (across seeds, or the record's own standard error), the direction that is better in the
  title, the best model starred, and the real-data reference as a dashed line with its band, not a bar;
- ``table.png``: the comparison table as a grid coloured by mark, each cell with its mark and figure
  (or the reason there is none), with a title and a legend of the colours;
- ``sampling-speed.png``: samples per second against batch size, one line per model, the legend beside;
- ``diffusion-steps.png``: FID and samples/s against the number of sampling steps S (the ``sampling-steps``
  metric), one line per model, the real-vs-real FID as a dashed line;
- ``learning-curves.png``: quality, coverage and the validation loss against training FLOPs, one line per trained
  model (the ``learning-curve`` metric), the budget-limited ones dashed (``genbench.report.training``).
"""

from __future__ import annotations

import math
import re
import textwrap

from genbench.infra.atomic import write_bytes
from genbench.infra.drawing import figure_png, pyplot
from genbench.records import OK, REFERENCES, TIMED
from genbench.report.marks import CHECK, CROSS, NOT_APPLICABLE, UNSURE, Cell
from genbench.report.summary import Summary
from genbench.report.table import ComparisonTable
from genbench.report.terminal import short
from genbench.report.training import curve_figure, curve_points, limitations

COLOURS = {CHECK: "#9fd39f", UNSURE: "#f2d98c", CROSS: "#e8a0a0", NOT_APPLICABLE: "#e6e6e6", "": "#f5f5f5"}
MEANING = {CHECK: "✓ has the property", UNSURE: "? in between, or no reference to tell", CROSS: "✗ lacks it",
           NOT_APPLICABLE: "n/a cannot be measured here"}
LABEL_WIDTH = 24
"""A model's name on a figure is cut to this many characters ("…" at the end): a checkpoint's path as a label
would otherwise crowd the panels out."""


def headline_panels(summary: Summary) -> list[str]:
    """The figures of metrics.png: every headline figure (its declaration says so) that holds a finite value."""
    frame = summary.frame
    measured = frame[(frame.status == OK) & frame.value.map(math.isfinite)]
    return [m for m in dict.fromkeys(measured.metric) if "[" not in m and summary.output(m).headline]


def panel(ax, summary: Summary, metric: str, palette: dict[str, object]) -> None:
    """One metric: models as points with error bars, the reference as a dashed line with its band."""
    output = summary.output(metric)
    rows = {m: r for m, r in ((m, summary.by_model[m].get(metric)) for m in summary.models)
            if r is not None and r.status == OK and math.isfinite(r.value)}
    models = [m for m in rows if m not in REFERENCES]
    values = [rows[m].value for m in models]
    errors = [rows[m].uncertainty if math.isfinite(rows[m].uncertainty) else 0.0 for m in models]
    for i, model in enumerate(models):
        ax.errorbar(i, values[i], yerr=errors[i], fmt="o", ms=7, capsize=4, color=palette[model])
    if models and output.higher_is_better is not None:
        best = (max if output.higher_is_better else min)(range(len(models)), key=lambda i: values[i])
        ax.plot(best, values[best], marker="*", ms=16, color=palette[models[best]], markeredgecolor="black",
                linestyle="none")
    for reference in (m for m in REFERENCES if m in rows):
        row = rows[reference]
        ax.axhline(row.value, color="0.35", linestyle="--", linewidth=1.2, label=f"{reference} (reference)")
        if math.isfinite(row.uncertainty):
            ax.axhspan(row.value - row.uncertainty, row.value + row.uncertainty, color="0.85", zorder=0)
        ax.legend(loc="best", fontsize=7, frameon=False)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([short(m, LABEL_WIDTH) for m in models], rotation=30, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(models) - 0.4)
    arrow = {True: " ↑", False: " ↓"}.get(output.higher_is_better, "")
    ax.set_title(output.title() + arrow, fontsize=10)
    if output.log_scale:
        ax.set_yscale("log")
    ax.grid(axis="y", color="0.92")


def metric_bars_png(summary: Summary) -> bytes | None:
    """A panel per headline figure measured (see the module docstring)."""
    import seaborn as sns  # defers matplotlib

    plt = pyplot()
    metrics = headline_panels(summary)
    if not metrics:
        return None
    palette = dict(zip(summary.models, sns.color_palette("tab10", len(summary.models))))
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.3 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        panel(ax, summary, metric, palette)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle("Every headline figure by model (★ the best; dashed: real data at the same n)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (3.3 * rows)))
    return figure_png(fig)


CELL_CHARACTERS = 28
"""The widest line of a table.png cell: 28 characters of 7.5-point text fit in a column's 2.25 inches
(tests/test_report.py measures every cell's text against its cell)."""


def cell_lines(cell: Cell, table: ComparisonTable, width: int = CELL_CHARACTERS, most: int = 3) -> str:
    """A cell of table.png under its mark: its figure with its uncertainty, or the reason it has none, in at most
    ``most`` lines of at most ``width`` characters (a likelihood's estimator wraps above its figure, which stays)."""
    if math.isfinite(cell.value):
        output = table.summary.output(cell.metric)
        if cell.metric == "log_likelihood":
            figure = f"{output.format(cell.value, cell.uncertainty)} {output.unit}"
            return "\n".join([*wrapped(cell.label, width, most - 1), *wrapped(figure, width, 1)])
        if cell.metric == "samples_per_second":
            return f"{cell.value:.2g} samples/s"
        return "\n".join(wrapped(output.cell(cell.value, cell.uncertainty), width, most))
    return "\n".join(wrapped(cell.text, width, most))


def wrapped(text: str, width: int, most: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, the last of ``most`` ending in … where more was cut."""
    lines = textwrap.wrap(text, width)
    if len(lines) <= most:
        return lines
    return [*lines[:most - 1], lines[most - 1][:width - 1] + "…"]


def table_heatmap_png(table: ComparisonTable) -> bytes:
    """The six rows × every column, coloured by mark, each cell with its mark and figure, titled, with a legend."""
    from matplotlib.patches import Patch, Rectangle  # defers matplotlib

    plt = pyplot()
    rows, models = table.rows, table.models
    fig, ax = plt.subplots(figsize=(2.25 * len(models) + 2.6, 0.95 * len(rows) + 1.6))
    for i, row in enumerate(rows):
        for j, model in enumerate(models):
            cell = table.cell(row.key, model)
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=COLOURS.get(cell.mark, COLOURS[""]), edgecolor="white",
                                   linewidth=2))
            colour = "#333333" if cell.mark != NOT_APPLICABLE else "#666666"
            ax.text(j + 0.5, i + 0.3, cell.mark or "·", ha="center", va="center", fontsize=12, color=colour)
            ax.text(j + 0.5, i + 0.64, cell_lines(cell, table), ha="center", va="center", fontsize=7.5, color=colour)
    for j, model in enumerate(models):
        if model in REFERENCES:
            ax.add_patch(Rectangle((j + 0.03, 0.03), 0.94, len(rows) - 0.06, fill=False, linestyle="--",
                                   edgecolor="0.4", linewidth=1.2))
    ax.set_xlim(0, len(models))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([j + 0.5 for j in range(len(models))])
    ax.set_xticklabels([f"{m}\n(reference)" if m in REFERENCES else short(m, LABEL_WIDTH) for m in models],
                       fontsize=8.5)
    ax.xaxis.tick_top()
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels([r.title for r in rows], fontsize=8.5)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    dataset = ", ".join(sorted(set(table.summary.frame.dataset)))
    ax.set_title(f"The lecture's comparison table, measured on {dataset}", fontsize=11, pad=28)
    ax.legend(handles=[Patch(facecolor=COLOURS[m], label=MEANING[m]) for m in MEANING], loc="upper center",
              bbox_to_anchor=(0.5, -0.02), ncol=4, fontsize=8, frameon=False)
    return figure_png(fig)


SWEEP = re.compile(r"^samples_per_second\[batch=(\d+)\]$")


def sampling_sweep_png(summary: Summary) -> bytes | None:
    """Samples per second against batch size (log-log), one line per model, across seeds."""
    import seaborn as sns  # defers matplotlib

    plt = pyplot()
    frame = summary.frame
    sweep = frame[(frame.status == OK) & (frame.estimator == TIMED) & frame.metric.str.match(SWEEP)].copy()
    if sweep.empty:
        return None
    sweep["batch size"] = sweep.metric.str.extract(SWEEP, expand=False).astype(int)
    sweep["samples/s"] = sweep.value
    fig, ax = plt.subplots(figsize=(6.8, 4))
    sns.lineplot(data=sweep, x="batch size", y="samples/s", hue="model", marker="o", errorbar="se", ax=ax,
                 hue_order=[m for m in summary.models if m in set(sweep.model)])
    sizes = sorted(set(sweep["batch size"]))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.minorticks_off()
    ax.grid(color="0.92")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [short(label, LABEL_WIDTH) for label in labels], title="model", loc="upper left",
              bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    ax.set_title("Efficient sampling: samples/s by batch size (higher is better)", fontsize=10)
    return figure_png(fig)


STEPS = re.compile(r"^steps_(fid|samples_per_second)\[steps=(\d+)\]$")


def steps_png(summary: Summary) -> bytes | None:
    """FID (left) and samples/s (right, log) against the sampling steps S (log), one line per model."""
    import seaborn as sns  # defers matplotlib

    plt = pyplot()
    frame = summary.frame
    sweep = frame[(frame.status == OK) & frame.metric.str.match(STEPS)].copy()
    if sweep.empty:
        return None
    parts = sweep.metric.str.extract(STEPS)
    sweep["figure"], sweep["steps S"] = parts[0], parts[1].astype(int)
    models = [m for m in summary.models if m in set(sweep.model)]
    colours = dict(zip(models, sns.color_palette(n_colors=len(models))))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (figure, label) in zip(axes, (("fid", "FID (lower is better)"),
                                          ("samples_per_second", "samples/s (higher is better)"))):
        part = sweep[sweep.figure == figure].rename(columns={"value": label})
        sns.lineplot(data=part, x="steps S", y=label, hue="model", hue_order=models, palette=colours, marker="o",
                     errorbar="se", ax=ax, legend=ax is axes[-1])
        for model, rows in part.groupby("model"):  # one seed: the figure's own standard error
            if len(rows) == rows["steps S"].nunique() and rows.stderr.notna().any():
                ax.errorbar(rows["steps S"], rows[label], yerr=rows.stderr, fmt="none", capsize=3,
                            ecolor=colours[model])
        ax.set_xscale("log")
        steps = sorted(set(part["steps S"]))
        ax.set_xticks(steps)
        ax.set_xticklabels([str(s) for s in steps])
        ax.minorticks_off()
        ax.grid(color="0.92")
    axes[1].set_yscale("log")
    reference = next((summary.by_model[m].get("fid") for m in REFERENCES if m in summary.by_model), None)
    if reference is not None and reference.status == OK:
        axes[0].axhline(reference.value, color="0.35", linestyle="--", linewidth=1.2, label="real data")
        axes[0].legend(fontsize=8, frameon=False)
    axes[1].legend(title="model", loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.suptitle("Quality against sampling steps: FID and samples/s by the number of network passes S", fontsize=10)
    return figure_png(fig)


def short_power(value: float, _position: object = None) -> str:
    """A tick label of one significant digit: 2e9, 1e10."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


CURVE_PANELS = (("curve_fid", "curve_kid"), ("curve_coverage",), ("curve_val_loss",))


def learning_curves_png(summary: Summary) -> bytes | None:
    """Quality, coverage and the validation loss against training FLOPs (log), a line per trained model with its
    error bars, the budget-limited ones named so; FID and KID on a log scale; the validation loss (each model's own
    objective, on its own scale, negative for a flow's) as its excess over its value at the end, relative to that
    value's size, (L − L_end) / |L_end|, so that every line ends at 0 and shows how far it still fell. One legend
    names every model, those without a validation loss (a GAN) too."""
    import seaborn as sns  # defers matplotlib
    from matplotlib import ticker  # defers matplotlib

    plt = pyplot()
    curves = {m: curve_points(summary, m) for m in summary.models if m not in REFERENCES}
    curves = {m: c for m, c in curves.items() if c.figures}
    if not curves:
        return None
    panels = [names for names in CURVE_PANELS if any(n in c.figures for c in curves.values() for n in names)]
    colours = dict(zip(curves, sns.color_palette("tab10", len(curves))))
    limited = {m for m in curves if limitations(summary, m)}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    for ax, names in zip(axes[0], panels):
        shown = None
        for model, points in curves.items():
            name = next((n for n in names if n in points.figures), None)
            if name is None:
                continue
            shown = name
            rows = [row for metric, row in summary.by_model[model].items() if curve_figure(metric) == name
                    and row.status == OK]
            rows.sort(key=lambda r: r.details.get("point", {}).get("flops", 0.0))
            flops = [r.details.get("point", {}).get("flops", math.nan) for r in rows]
            values = [r.value for r in rows]
            errors = [r.uncertainty if math.isfinite(r.uncertainty) else 0.0 for r in rows]
            if name == "curve_val_loss":
                end = values[-1]
                values, errors = [(v - end) / abs(end) for v in values], [e / abs(end) for e in errors]
            label = short(model, LABEL_WIDTH) + (" (budget-limited)" if model in limited else "")
            ax.errorbar(flops, values, yerr=errors, marker="o", ms=4, capsize=3, color=colours[model], label=label,
                        linestyle="--" if model in limited else "-")
        output = summary.output(shown)
        title = ("validation loss: (L − L_end) / |L_end| (lower is better)" if shown == "curve_val_loss"
                 else output.title())
        ax.set_title(title, fontsize=10)
        ax.set_xscale("log")
        # labels at 1, 2 and 5 × 10^k alone, short: matplotlib's minor labels collide on less than a decade
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(short_power))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        if shown in ("curve_fid", "curve_kid"):
            ax.set_yscale("log")
        ax.set_xlabel("training FLOPs")
        ax.grid(color="0.92")
    handles = {}
    for ax in axes[0]:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    axes[0][-1].legend(list(handles.values()), list(handles), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       fontsize=8, frameon=False, title="model")
    fig.suptitle("Learning curves: each trained model at ⅛, ¼, ½ and all of its training compute "
                 "(dashed: budget-limited, still improving at the end)", fontsize=10)
    fig.tight_layout()
    return figure_png(fig)


def save_plots(folder, table: ComparisonTable) -> list[str]:
    """Write every figure that metrics.csv supports into ``folder``; return their file names."""
    written = []
    summary = table.summary
    for name, png in (("metrics.png", metric_bars_png(summary)), ("table.png", table_heatmap_png(table)),
                      ("sampling-speed.png", sampling_sweep_png(summary)),
                      ("diffusion-steps.png", steps_png(summary)),
                      ("learning-curves.png", learning_curves_png(summary))):
        if png is not None:
            write_bytes(folder / name, png)
            written.append(name)
    return written
