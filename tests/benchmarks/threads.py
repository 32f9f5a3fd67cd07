"""A shared CPU, side by side: the same fidelity evaluation on a quiet machine, beside two busy torch
processes with torch's default threads, and beside them with one thread (``--threads 1``).

Run with:  .venv/bin/python tests/benchmarks/threads.py [--repeats 3]

The measured work: IS, FID, KID, precision/recall and density/coverage of 359 naive Bayes samples on
digits (the reference features cached beforehand), in a fresh process each time. The busy processes
multiply 800 × 800 matrices in a loop with torch's default threads, as another training job would.
Prints the median seconds of each setting and the ratios to the quiet one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

WORK = """
import sys, time, torch
import genbench
from genbench.evaluation import eval_context, measure
from genbench.metrics.fidelity import Fidelity
threads = int(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
data = genbench.load_dataset("digits")
model = genbench.make_model("naive-bayes").fit(data.train)
metric = Fidelity()
context = eval_context()
metric.prepare(data, context)
start = time.perf_counter()
measure(model, data, [metric], context)
print(time.perf_counter() - start)
"""
BUSY = "import torch\na = torch.randn(800, 800)\nwhile True:\n    a @ a\n"


def seconds(threads: int) -> float:
    out = subprocess.run([sys.executable, "-c", WORK, str(threads)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def median_of(repeats: int, threads: int) -> float:
    return statistics.median(seconds(threads) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seconds(0)  # fills the caches (domain classifier, reference features)
    quiet = median_of(args.repeats, 0)
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    try:
        time.sleep(5)  # let them reach full speed
        crowded = median_of(args.repeats, 0)
        one_thread = median_of(args.repeats, 1)
    finally:
        for process in busy:
            process.kill()
    print(f"fidelity evaluation, median of {args.repeats} (seconds):")
    print(f"  quiet machine, default threads:          {quiet:7.2f}")
    print(f"  beside 2 busy processes, default threads: {crowded:7.2f}  ({crowded / quiet:.1f}× quiet)")
    print(f"  beside 2 busy processes, --threads 1:     {one_thread:7.2f}  ({one_thread / quiet:.1f}× quiet, "
          f"{crowded / one_thread:.1f}× faster than default threads there)")


if __name__ == "__main__":
    main()
