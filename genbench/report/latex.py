"""The comparison table as LaTeX (booktabs): marks, mean ± uncertainty, the best model in bold,
the protocol in the caption and the marking rules beneath. Needs ``booktabs`` and ``amssymb``."""

from __future__ import annotations

import math

from genbench.infra.formatting import decimals_for
from genbench.outputs import Output
from genbench.report.marks import CHECK, CROSS, Cell
from genbench.report.table import ComparisonTable, best_models, measurement_rows

PREAMBLE = "% requires \\usepackage{booktabs} and \\usepackage{amssymb}\n"
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "±": r"$\pm$", "✓": r"\checkmark{}", "✗": r"$\times$", "≤": r"$\le$", "≥": r"$\ge$",
            "σ": r"$\sigma$", "√": r"$\surd$", "²": r"$^2$", "−": "-", "β": r"$\beta$", "·": r"$\cdot$",
            "…": r"\ldots{}", "→": r"$\to$", "×": r"$\times$", "π": r"$\pi$", "Σ": r"$\Sigma$",
            "≈": r"$\approx$", "τ": r"$\tau$", "≫": r"$\gg$", "–": "--", "⅛": r"$\frac18$", "¼": r"$\frac14$",
            "½": r"$\frac12$", **{d: f"$^{{{c}}}$" for d, c in zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")}}


def escape(text: str) -> str:
    """Text → LaTeX source: special characters escaped, the few non-ASCII symbols we use mapped."""
    return "".join(_SPECIAL.get(c, c if ord(c) < 128 else "?") for c in text)


def number(value: float, uncertainty: float) -> str:
    """``$-83.23 \\pm 0.56$`` with the digits the uncertainty allows; ``$1.2 \\times 10^{5}$`` when large."""
    if math.isinf(value):
        return "$-\\infty$" if value < 0 else "$\\infty$"
    if math.isnan(value):
        return "--"
    if abs(value) >= 1e5:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"${mantissa} \\times 10^{{{int(exponent)}}}$"
    decimals = decimals_for(uncertainty)
    if decimals is None:
        return f"${value:.4g}$"
    return f"${value:.{decimals}f} \\pm {uncertainty:.{decimals}f}$"


def cell_source(cell: Cell, bold: bool, output: Output) -> str:
    """A comparison cell: its mark and its figure, labelled as the figure's declaration says."""
    mark = {CHECK: r"\checkmark", CROSS: r"$\times$"}.get(cell.mark, escape(cell.mark))
    if not math.isfinite(cell.value):
        return mark or "--"
    scale = 100 if output.style == "percent" else 1
    figure = number(scale * cell.value, scale * cell.uncertainty)
    if bold:
        figure = rf"$\mathbf{{{figure.strip('$')}}}$"
    if output.style == "count" or output.unit:
        return f"{mark} {figure} {escape(output.unit or output.label)}".strip()
    percent = r"\%" if output.style == "percent" else ""
    return f"{mark} {escape(output.label)} {figure}{percent}".strip()


def comparison_latex(table: ComparisonTable, *, caption: str, label: str, notes: list[str]) -> str:
    """A ``table`` environment; ``notes`` (the protocol and the rules) go under the tabular."""
    models = table.models
    header = " & ".join(["", *(escape(m) for m in models)]) + r" \\"
    lines = [PREAMBLE + r"\begin{table}[t]", r"\centering", rf"\caption{{{escape(caption)}}}",
             rf"\label{{{label}}}", r"\small", rf"\begin{{tabular}}{{l{'c' * len(models)}}}", r"\toprule",
             header, r"\midrule"]
    for row in table.rows:
        best = best_models(table, row)
        cells = [cell_source(table.cell(row.key, m), m in best, table.summary.output(table.cell(row.key, m).metric))
                 for m in models]
        title = escape(row.title)
        lines.append(" & ".join([title, *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if notes:
        lines.append(r"\par\smallskip\begin{minipage}{\linewidth}\footnotesize")
        lines += [escape(note) + r"\par" for note in notes]
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def measurements_latex(table: ComparisonTable, *, caption: str, label: str) -> str:
    """Every measurement (rows) for every column, mean ± uncertainty, as a second ``table`` environment."""
    models = table.models
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{escape(caption)}}}", rf"\label{{{label}}}",
             r"\small", rf"\begin{{tabular}}{{l{'r' * len(models)}}}", r"\toprule",
             " & ".join(["", *(escape(m) for m in models)]) + r" \\", r"\midrule"]
    for _, heading, cells in measurement_rows(table.summary):
        lines.append(" & ".join([escape(heading), *(escape(c) for c in cells)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def standalone(fragment: str) -> str:
    """A compilable document around a table fragment (for checking it with pdflatex)."""
    return ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n\\usepackage{amssymb}\n"
            "\\usepackage[margin=1cm,landscape]{geometry}\n\\begin{document}\n" + fragment + "\\end{document}\n")
