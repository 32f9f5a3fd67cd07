"""The eight default models on real 28×28 digits, default budget, one seed, every default metric: what they
reach and what it costs, beside the published figures.

    python tests/benchmarks/real_mnist.py [--data ../shared/data/mnist-t10k.npz] [--out runs/real-mnist]
        [--report-only]

The data are MNIST's 10 000 test images (8 000 to train on, of which 800 validate, 2 000 to test; see
../shared/data/README.md), loaded as your own data are: ``genbench run --dataset FILE``. The domain classifier
behind FID, coverage and the latent mean step is the one genbench trains on the file's own labelled training
split. Skips, saying why, where the file is absent (it is not part of the repository). ``--report-only`` prints
the table of a finished run in ``--out`` again.

Published figures train on all 60 000 training images, and compare in order of magnitude only: RealNVP 1.06 and
Glow 1.05 bits/dim on dequantized 8-bit MNIST as tabulated by Grathwohl et al. (2019, FFJORD, Table 2; the
RealNVP paper itself reports no MNIST figure, Glow's is Kingma & Dhariwal 2018's), the event space
genbench measures; the IWAE paper's about 86 nats (Burda et al. 2016, K = 5000) is on binarised MNIST, another
event space (784 binary values, not 256 levels), which no figure here can be compared with.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist-t10k.npz"
PUBLISHED = {"flow": "RealNVP 1.06, Glow 1.05 bits/dim (60 000 images)",
             "vae": "IWAE ≈ 86 nats, binarised: another event space"}


def run(data: Path, out: Path) -> float:
    from genbench.cli import main

    started = time.perf_counter()
    code = main(["run", "--dataset", str(data), "--out", str(out)])
    seconds = time.perf_counter() - started
    if code not in (0, 1):
        raise SystemExit(f"genbench run exited with {code}")
    return seconds


def figure(frame: pd.DataFrame, model: str, metric: str) -> pd.Series | None:
    rows = frame[(frame.model == model) & (frame.metric == metric)]
    return rows.iloc[0] if len(rows) else None


def shown(row: pd.Series | None, digits: int = 3) -> str:
    if row is None:
        return ""
    if row.status != "ok":
        return "n/a" if row.status == "unavailable" else row.status
    if math.isfinite(row.stderr):
        return f"{row.value:.{digits}g} ± {row.stderr:.1g}"
    return f"{row.value:.{digits}g}"


def training_rate(out: Path, model: str, fit_seconds: float) -> str:
    """Training examples per second: optimiser steps (epochs × steps an epoch) × batch size / seconds."""
    history = out / f"history-{model}-seed0.csv"
    config = json.loads((out / "config.json").read_text())["models"].get(model, {}).get("config", {})
    if not history.exists() or not fit_seconds or "batch_size" not in config:
        return ""
    dataset = json.loads((out / "dataset.json").read_text())
    epochs = len(pd.read_csv(history))
    steps = epochs * math.ceil(dataset["splits"]["train"] / config["batch_size"])
    return f"{steps * config['batch_size'] / fit_seconds:.3g}"


def table(out: Path, seconds: float | None) -> str:
    frame = pd.read_csv(out / "metrics.csv", keep_default_na=False, na_values={"value": ["", "nan"],
                                                                                "stderr": ["", "nan"]})
    timings = json.loads((out / "timings.json").read_text())
    lines = ["| model | fit s | training examples/s | bits/dim (estimator) | FID | coverage | mean step | samples/s "
             "| published |", "|" + "---|" * 9]
    for model in dict.fromkeys(frame.model):
        timing = timings.get(f"{model}/seed=0", {})
        fit = timing.get("fit_seconds", 0.0)
        bits = figure(frame, model, "bits_per_dim")
        estimator = f" ({bits.estimator})" if bits is not None and bits.status == "ok" else ""
        mine = frame[(frame.model == model) & (frame.status == "ok")]
        speed = mine[mine.metric.str.startswith("samples_per_second[")]
        best = f"{speed.value.max():.3g}" if len(speed) else "n/a"
        lines.append(f"| {model} | {fit:.0f} | {training_rate(out, model, fit)} | {shown(bits)}{estimator} | "
                     f"{shown(figure(frame, model, 'fid'))} | {shown(figure(frame, model, 'coverage'))} | "
                     f"{shown(figure(frame, model, 'smoothness_mean'))} | {best} | {PUBLISHED.get(model, '')} |")
    failed = sorted(set(frame.model[frame.status == "failed"]))
    total = f"{seconds / 60:.1f} min in all" if seconds is not None else "a finished run"
    lines.append(f"\n{total}, {sum(t.get('fit_seconds', 0) for t in timings.values()) / 60:.1f} min of it training; "
                 f"failed cells: {', '.join(failed) or 'none'}; run directory {out}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("runs/real-mnist"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is absent (it is not part of the repository: see ../shared/data/README.md)")
        return 0
    seconds = None if args.report_only else run(args.data.resolve(), args.out)
    print(f"MNIST, 8 000 of the test set's images for training ({time.strftime('%Y-%m-%d')}):\n")
    print(table(args.out, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
