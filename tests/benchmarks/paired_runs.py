"""The default run of this checkout against another's, interleaved on one machine: each wall time, the medians and
their ratio, each cell's median, and whether every untimed figure came out the same.

Run with:  .venv/bin/python tests/benchmarks/paired_runs.py --before /tmp/vb/bin/python [--repeats 3]

``--before`` is the interpreter of an environment that imports genbench from the other checkout, for example the
previous commit in a worktree:

    git worktree add --detach /tmp/before HEAD~1
    python3 -m venv /tmp/vb && /tmp/vb/bin/pip install --no-deps -e /tmp/before
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \
        > "$(/tmp/vb/bin/python -c 'import site; print(site.getsitepackages()[0])')/main.pth"

(the last line lends it this environment's packages). The runs alternate, this checkout first, and each starts
once the one-minute load average is below 0.5, so that a change in the machine's speed falls on both sides alike.
The host's speed can drift by a sixth within a day: quote the ratio, and a time only beside the other side's.
The runs are kept under ``--out`` (default ``runs/paired``) as after-1, before-1, after-2, …
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from threads import default_run, wait_for_quiet

from genbench.infra.rundir import ENVIRONMENT, RunDir
from genbench.records import untimed

KEY = ["dataset", "model", "seed", "metric"]


def differing(first: Path, other: Path) -> int:
    """How many untimed records of ``other``'s metrics.csv differ from ``first``'s (or are missing there)."""
    a, b = (untimed(RunDir(folder).read_metrics(required=True)) for folder in (first, other))
    both = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)
    same = (both._merge == "both") & ((both.value_a == both.value_b) | (both.value_a.isna() & both.value_b.isna()))
    return int((~same).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the other checkout's environment's python")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/paired"))
    args = parser.parse_args()
    sides = {"after": sys.executable, "before": args.before}
    walls: dict[str, list[float]] = {side: [] for side in sides}
    cells: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    folders = []
    for repeat in range(1, args.repeats + 1):
        for side, python in sides.items():
            wait_for_quiet()
            folder = args.out / f"{side}-{repeat}"
            wall, seconds = default_run(folder, python)
            folders.append(folder)
            walls[side].append(wall)
            for cell, value in seconds.items():
                cells[side].setdefault(cell, []).append(value)
            print(f"{side}-{repeat}: {wall:.1f} s", flush=True)
    after, before = (statistics.median(walls[side]) for side in ("after", "before"))
    print(f"\nthe default run, median of {args.repeats}: before {before:.1f} s, after {after:.1f} s "
          f"({after / before:.3f}×)")
    print("| cell | before | after |\n|---|---|---|")
    for cell, values in cells["before"].items():
        print(f"| {cell} | {statistics.median(values):.1f} s | {statistics.median(cells['after'][cell]):.1f} s |")
    changed = {folder.name: differing(folders[0], folder) for folder in folders[1:]}
    print(f"untimed records differing from {folders[0].name}'s: "
          + ", ".join(f"{name} {count}" for name, count in changed.items()))
    ran = {folder.name: RunDir(folder).read_json(ENVIRONMENT).get("git") for folder in folders}
    print("genbench's commit in each run: " + ", ".join(f"{name} {git}" for name, git in ran.items()))
    if ran[folders[0].name] == ran[folders[1].name]:
        sys.exit("both sides ran the same genbench: the comparison says nothing")


if __name__ == "__main__":
    main()
