"""Wall time of a smoke sweep (two datasets, three models, two seeds: 16 cells) run three ways, side by side
in one run and in alternation, so that a change in the machine's load falls on all of them alike:

    --jobs 1            every cell in one process (torch's default threads)
    --jobs 2            two local worker processes, one thread each
    --executor ray      each cell a Ray task on a Ray started for the sweep (two CPUs, one per cell)

and Ray's own costs: starting and stopping a local Ray, and the round trip of an empty task.

    python tests/benchmarks/sweep_time.py [--repeats 3]

Prints each time, the medians and the ratios. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SWEEP = ["--dataset", "digits,rings", "--models", "naive-bayes,pca,gan", "--seeds", "0,1", "--budget", "smoke",
         "--metrics", "fidelity,log-likelihood:k=8", "--quiet"]
WAYS = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"], "--executor ray": ["--executor", "ray"]}


def sweep_seconds(extra: list[str], folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genbench", "run", *SWEEP, *extra, "--out", str(folder)], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def ray_costs(repeats: int) -> tuple[list[float], list[float], float]:
    """(seconds to start a local Ray with two CPUs, to stop it; the median empty task's round trip)."""
    import ray

    starts, stops, trips = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        starts.append(time.perf_counter() - start)

        @ray.remote(num_cpus=1)
        def empty() -> None:
            return None

        ray.get(empty.remote())  # the first starts a worker process
        for _ in range(50):
            start = time.perf_counter()
            ray.get(empty.remote())
            trips.append(time.perf_counter() - start)
        start = time.perf_counter()
        ray.shutdown()
        stops.append(time.perf_counter() - start)
    return starts, stops, statistics.median(trips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            for way, extra in WAYS.items():
                seconds = sweep_seconds(extra, Path(scratch) / f"{repeat}-{way.replace(' ', '')}")
                times[way].append(seconds)
                print(f"repeat {repeat + 1}: {way:<15} {seconds:6.1f} s", flush=True)
    medians = {way: statistics.median(t) for way, t in times.items()}
    print(f"\nsmoke sweep, 16 cells (median of {args.repeats}):")
    for way, median in medians.items():
        print(f"  {way:<15} {median:6.1f} s  (min {min(times[way]):.1f}, max {max(times[way]):.1f}); "
              f"{medians['--jobs 1'] / median:.2f}× the speed of --jobs 1")
    starts, stops, trip = ray_costs(args.repeats)
    print(f"\nRay on this machine: start {statistics.median(starts):.2f} s, stop {statistics.median(stops):.2f} s "
          f"(median of {args.repeats}); an empty task's round trip {trip * 1e3:.2f} ms (median of 50 per start)")
    per_cell = (medians["--executor ray"] - medians["--jobs 2"]) / 16
    print(f"Ray's cost over two local workers: {medians['--executor ray'] - medians['--jobs 2']:+.1f} s for the "
          f"sweep, {per_cell:+.2f} s per cell")


if __name__ == "__main__":
    main()
