"""A shared CPU, side by side: the same work on a quiet machine and beside two busy torch processes, with
torch's defaults (as genbench ran before it fitted threads to the load) and with genbench's, in one run.

Run with:  .venv/bin/python tests/benchmarks/threads.py [--repeats 3] [--work fidelity|gan]
           .venv/bin/python tests/benchmarks/threads.py --mid   (busy processes that start as training starts)
           .venv/bin/python tests/benchmarks/threads.py --run   (the whole default run, quiet and busy)

The measured work, in a fresh process each time:
- fidelity: IS, FID, KID, precision/recall and density/coverage of 359 naive Bayes samples on digits
  (the reference features cached beforehand);
- gan: a GAN's fit on digits at the smoke budget (a training-heavy cell);
- ae (``--mid``): an autoencoder's fit on digits at the default budget (half a minute on a quiet machine),
  long enough for the load average to show busy processes that start with it;
- run (``--run``): the whole default ``genbench run`` (eight models on digits, every default metric), once quiet
  and once beside the busy processes, with genbench's defaults; it prints both times, their ratio and each
  cell's seconds.

The settings:
- before: torch's defaults with the thread count fixed (``OMP_NUM_THREADS`` = the cores: one thread per core,
  never adapted; libgomp's default spin), as genbench ran before;
- genbench: the threads fitted to the load average as a run starts and every 10 s of training
  (``genbench.infra.threads``);
- --threads 1: the user's choice.
``--mid`` compares the autoencoder's fit on a quiet machine with its fit beside two busy processes started
with it, genbench's start-of-run fitting left out (it saw a quiet machine): only the refits within training
defend it. The busy processes multiply 800 × 800 matrices in a loop with torch's defaults, as another
training job would. Prints the median seconds of each setting and the ratios to the quiet "before" figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREAMBLE = """
import sys, time
mode = sys.argv[1]
import genbench, torch
from genbench.infra import threads
if mode == "genbench":
    threads.fit_to_the_load(running=False)
data = genbench.load_dataset("digits")
"""
WORK = {
    "fidelity": PREAMBLE + """
from genbench.service.evaluation import eval_context, measure
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
    "ae": PREAMBLE + """
model = genbench.make_model("ae")
start = time.perf_counter()
model.fit(data.train, data.val, generator=torch.Generator().manual_seed(0))
print(time.perf_counter() - start)
""",
}
BUSY = "import torch\na = torch.randn(800, 800)\nwhile True:\n    a @ a\n"
SETTINGS = {"before": "torch's defaults, threads never adapted (before)", "genbench": "genbench (after)",
            "one": "--threads 1"}


def clean_environment(mode: str = "genbench") -> dict[str, str]:
    """This shell's environment without its OpenMP variables, plus the thread count ``mode`` fixes."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    fixed = {"before": str(len(os.sched_getaffinity(0))), "one": "1"}.get(mode)
    return environ if fixed is None else {**environ, "OMP_NUM_THREADS": fixed}


def seconds(work: str, mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", WORK[work], mode], capture_output=True, text=True, check=True,
                         env=clean_environment(mode))
    return float(out.stdout.strip().splitlines()[-1])


def start_busy() -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY], env=clean_environment("before")) for _ in range(2)]


def medians(work: str, repeats: int, modes: list[str]) -> dict[str, float]:
    """Each mode's median, the modes interleaved so that a drift in the machine touches them alike."""
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            times[mode].append(seconds(work, mode))
    return {mode: statistics.median(values) for mode, values in times.items()}


def mid_training() -> None:
    """The autoencoder's fit quiet, then beside busy processes started with it (genbench's start-of-run fit
    left out: mode "mid" is not "genbench"), each once."""
    quiet = seconds("ae", "mid")
    busy = start_busy()
    try:
        crowded = seconds("ae", "mid")
    finally:
        for process in busy:
            process.kill()
    print(f"ae fit, busy processes started with it: quiet {quiet:.1f} s, busy {crowded:.1f} s "
          f"({crowded / quiet:.1f}×)")


def wait_for_quiet(below: float = 0.5, longest: float = 300) -> None:
    """Wait until the 1-minute load average falls below ``below`` (a previous run's load fades in about a minute
    and a half), at most ``longest`` seconds."""
    deadline = time.monotonic() + longest
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(5)


def default_run(out: Path, python: str = sys.executable) -> tuple[float, dict[str, float]]:
    """The default ``genbench run`` into ``out`` by the genbench that ``python`` imports: its wall seconds and each
    cell's (fit + evaluation). It starts in a neutral folder: ``python -m`` puts the working folder first on the
    import path, so from a checkout's root any python would import that checkout's genbench."""
    out = out.resolve()
    start = time.perf_counter()
    subprocess.run([python, "-m", "genbench", "run", "--out", str(out), "--quiet"], check=True,
                   capture_output=True, env=clean_environment(), cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    timings = json.loads((out / "timings.json").read_text())
    return wall, {cell.split("/")[0]: sum(parts.values()) for cell, parts in timings.items()}


def whole_run() -> None:
    """The default run on a quiet machine, then beside two busy processes."""
    with tempfile.TemporaryDirectory() as scratch:
        wait_for_quiet()
        quiet, quiet_cells = default_run(Path(scratch) / "quiet")
        busy = start_busy()
        try:
            time.sleep(5)
            crowded, crowded_cells = default_run(Path(scratch) / "busy")
        finally:
            for process in busy:
                process.kill()
    print(f"the default run: quiet {quiet:.1f} s, beside 2 busy processes {crowded:.1f} s ({crowded / quiet:.2f}×)")
    print("| cell | quiet | busy | ratio |\n|---|---|---|---|")
    for cell, seconds_quiet in quiet_cells.items():
        seconds_busy = crowded_cells[cell]
        print(f"| {cell} | {seconds_quiet:.1f} s | {seconds_busy:.1f} s | {seconds_busy / seconds_quiet:.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", choices=("fidelity", "gan"), default="fidelity")
    parser.add_argument("--mid", action="store_true", help="busy processes that start as training starts")
    parser.add_argument("--run", action="store_true", help="the whole default run, quiet and busy")
    args = parser.parse_args()
    if args.mid:
        mid_training()
        return
    if args.run:
        whole_run()
        return
    seconds(args.work, "before")  # fills the caches (domain classifier, reference features)
    quiet = medians(args.work, args.repeats, ["before", "genbench"])
    busy = start_busy()
    try:
        time.sleep(5)  # let them reach full speed
        crowded = medians(args.work, args.repeats, list(SETTINGS))
    finally:
        for process in busy:
            process.kill()
    base = quiet["before"]
    print(f"{args.work}, median of {args.repeats} (seconds; ratio to the quiet machine before):")
    print("| setting | quiet | beside 2 busy processes |\n|---|---|---|")
    for mode, title in SETTINGS.items():
        shown = f"{quiet[mode]:.2f} ({quiet[mode] / base:.2f}×)" if mode in quiet else "–"
        print(f"| {title} | {shown} | {crowded[mode]:.2f} ({crowded[mode] / base:.1f}×) |")


if __name__ == "__main__":
    main()
