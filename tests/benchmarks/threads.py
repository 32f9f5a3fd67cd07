"""A shared CPU, side by side: the same work on a quiet machine and beside two busy torch processes, with
torch's defaults (before genbench defended itself) and with genbench's defaults, in one run.

Run with:  .venv/bin/python tests/benchmarks/threads.py [--repeats 3] [--work fidelity|gan]

The measured work, in a fresh process each time:
- fidelity: IS, FID, KID, precision/recall and density/coverage of 359 naive Bayes samples on digits
  (the reference features cached beforehand);
- gan: a GAN's fit on digits at the smoke budget (a training-heavy cell).

The settings:
- torch: torch's defaults, as genbench ran before (torch imported first, so genbench sets nothing; one
  thread per core; libgomp's default spin, 300 000);
- spin only: genbench's OpenMP default (``genbench.threads.OPENMP_DEFAULTS``), the threads left alone:
  what a cell sees when the busy processes start while it runs (threads adapt only between cells);
- genbench: the OpenMP default and the threads fitted to the load average, as a run starts;
- --threads 1: the user's choice.

The busy processes multiply 800 × 800 matrices in a loop with torch's defaults, as another training job
would. Prints the median seconds of each setting and the ratios to the quiet torch-default figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PREAMBLE = """
import sys, time
mode = sys.argv[1]
if mode == "torch":
    import torch  # before genbench: genbench sets no OpenMP default, as before it did
import genbench, torch
from genbench import threads
if mode == "genbench":
    threads.adapt_threads(running=False)
elif mode == "one":
    threads.configure_threads(1)
data = genbench.load_dataset("digits")
"""
WORK = {
    "fidelity": PREAMBLE + """
from genbench.evaluation import eval_context, measure
from genbench.metrics.fidelity import Fidelity
model = genbench.make_model("naive-bayes").fit(data.train)
metric, context = Fidelity(), eval_context()
metric.prepare(data, context)
start = time.perf_counter()
measure(model, data, [metric], context)
print(time.perf_counter() - start)
""",
    "gan": PREAMBLE + """
model = genbench.make_model("gan", budget="smoke")
start = time.perf_counter()
model.fit(data.train, data.val, generator=torch.Generator().manual_seed(0))
print(time.perf_counter() - start)
""",
}
BUSY = "import torch\na = torch.randn(800, 800)\nwhile True:\n    a @ a\n"
SETTINGS = {"torch": "torch's defaults (before)", "spin": "spin only (busy mid-cell)",
            "genbench": "genbench's defaults (after)", "one": "--threads 1"}


def clean_environment() -> dict[str, str]:
    """This shell's environment without the OpenMP variables either side might set."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}


def seconds(work: str, mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", WORK[work], mode], capture_output=True, text=True, check=True,
                         env=clean_environment())
    return float(out.stdout.strip().splitlines()[-1])


def medians(work: str, repeats: int, modes: list[str]) -> dict[str, float]:
    """Each mode's median, the modes interleaved so that a drift in the machine touches them alike."""
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            times[mode].append(seconds(work, mode))
    return {mode: statistics.median(values) for mode, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", choices=tuple(WORK), default="fidelity")
    args = parser.parse_args()
    seconds(args.work, "torch")  # fills the caches (domain classifier, reference features)
    quiet = medians(args.work, args.repeats, ["torch", "genbench"])
    busy = [subprocess.Popen([sys.executable, "-c", BUSY], env=clean_environment()) for _ in range(2)]
    try:
        time.sleep(5)  # let them reach full speed
        crowded = medians(args.work, args.repeats, list(SETTINGS))
    finally:
        for process in busy:
            process.kill()
    base = quiet["torch"]
    print(f"{args.work}, median of {args.repeats} (seconds; ratio to the quiet machine with torch's defaults):")
    print("| setting | quiet | beside 2 busy processes |\n|---|---|---|")
    for mode, title in SETTINGS.items():
        shown = f"{quiet[mode]:.2f} ({quiet[mode] / base:.2f}×)" if mode in quiet else "–"
        print(f"| {title} | {shown} | {crowded[mode]:.2f} ({crowded[mode] / base:.1f}×) |")


if __name__ == "__main__":
    main()
