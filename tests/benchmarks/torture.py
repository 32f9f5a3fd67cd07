"""Kill a smoke run at seeded random moments, SIGKILL and SIGINT mixed, resume it after each kill, and check
that nothing was lost, redone or left half-written:

- the final metrics.csv equals an uninterrupted run's, timed rows aside (differing rows: 0);
- no cell was trained or measured twice: a finished cell's timings never change, and a cell whose
  checkpoint was saved before a kill is measured from it, not trained again (cells recomputed: 0);
- no temporary file of an atomic write is left in the run directory or the cache;
- every checkpoint loads (``weights_only=True``, its SHA-256 checked) and every cache entry's tensor file
  has the SHA-256 its entry records.

    python tests/benchmarks/torture.py [--kills 20] [--seed 0] [--out DIR]

``tests/test_torture.py`` runs three kill points of it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RUN = ["--dataset", "digits", "--models", "naive-bayes,vae,gan", "--seeds", "0,1", "--budget", "smoke",
       "--metrics", "fidelity,log-likelihood:k=8", "--quiet"]
SIGNALS = (signal.SIGKILL, signal.SIGINT)


@dataclasses.dataclass
class Report:
    kills: list[tuple[float, str, int]] = dataclasses.field(default_factory=list)
    """(seconds after the start, signal, cells finished after it) for each kill."""
    recomputed: list[str] = dataclasses.field(default_factory=list)
    differing_rows: int = 0
    leftovers: list[str] = dataclasses.field(default_factory=list)
    unloadable: list[str] = dataclasses.field(default_factory=list)
    reference_seconds: float = 0.0
    runs: int = 0
    orphans_removed: int = 0
    """Temporary files of writes a SIGKILL cut short, removed by the next --resume (from run.log)."""

    @property
    def clean(self) -> bool:
        return not (self.recomputed or self.differing_rows or self.leftovers or self.unloadable)


def genbench(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "genbench", "run", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def finished_cells(out: Path) -> dict[str, dict]:
    """The timings of every cell in metrics.csv, by ``label/seed=k``."""
    import pandas as pd

    if not (out / "metrics.csv").exists():
        return {}
    frame = pd.read_csv(out / "metrics.csv", keep_default_na=False)
    timings = read_json(out / "timings.json")
    return {f"{m}/seed={s}": timings.get(f"{m}/seed={s}") for m, s in set(zip(frame.model, frame.seed))}


def saved_checkpoints(out: Path) -> set[str]:
    """``label/seed=k`` of every complete checkpoint (its description written last)."""
    return {f"{p.stem.rsplit('-seed', 1)[0]}/seed={p.stem.rsplit('-seed', 1)[1]}"
            for p in (out / "checkpoints").glob("*-seed*.json")}


def untimed_metrics(out: Path):
    from genbench.infra.rundir import RunDir
    from genbench.records import untimed

    return untimed(RunDir(out).read_metrics(required=True))


def check_files(folder: Path, cache: Path, report: Report) -> None:
    """Temporary files left anywhere under ``folder``; checkpoints that do not load; cache entries whose
    tensor file's SHA-256 differs from their record."""
    from genbench.baselines.gan import GAN
    from genbench.baselines.naive_bayes import NaiveBayes
    from genbench.baselines.vae import VAE
    from genbench.checkpoint import load_checkpoint
    from genbench.errors import CheckpointError
    from genbench.infra.cache import file_sha256

    classes = {"naive-bayes": NaiveBayes, "vae": VAE, "gan": GAN}
    report.leftovers = [str(p) for p in folder.rglob(".*.tmp")]
    said = [line for log in folder.glob("*/run.log") for line in log.read_text().splitlines()
            if "partial file(s) a killed run left" in line]
    report.orphans_removed = sum(int(line.split("removed ")[1].split()[0]) for line in said)
    for description in folder.glob("*/checkpoints/*.json"):
        label = description.stem.rsplit("-seed", 1)[0]
        try:
            load_checkpoint(description, model_class=classes[label])
        except (CheckpointError, ValueError) as error:
            report.unloadable.append(f"{description}: {error}")
    for entry in cache.rglob("*.json"):
        tensors = entry.with_suffix(".pt")
        if tensors.exists() and read_json(entry).get("sha256") != file_sha256(tensors):
            report.unloadable.append(f"{tensors}: its SHA-256 differs from its entry's")


def torture(kills: int, seed: int, folder: Path, say: Callable[[str], None] = print) -> Report:
    """Run the reference, then kill and resume runs until ``kills`` kill points are spent (a run that
    completes is checked, and the next kill starts a new one); return what the checks found."""
    cache = folder / "cache"
    env = {**os.environ, "GENBENCH_CACHE_DIR": str(cache)}
    report = Report()
    start = time.perf_counter()
    assert genbench([*RUN, "--out", str(folder / "reference")], env).wait() == 0, "the reference run failed"
    report.reference_seconds = time.perf_counter() - start
    total = len(finished_cells(folder / "reference"))
    say(f"uninterrupted run: {report.reference_seconds:.1f} s, {total} cells")
    rng, round_ = random.Random(seed), 0
    while len(report.kills) < kills:
        round_ += 1
        out = folder / f"tortured-{round_}"
        seen: dict[str, dict] = {}
        checkpointed_before: set[str] = set()
        while len(report.kills) < kills and len(finished_cells(out)) < total:
            if out.exists() and not (out / "config.json").exists():
                shutil.rmtree(out)  # killed before its run directory was written: start it again
            fresh = not out.exists()
            process = genbench([*RUN, "--out", str(out)] if fresh else ["--resume", "--out", str(out)], env)
            moment, chosen = rng.uniform(0.5, report.reference_seconds), rng.choice(SIGNALS)
            try:
                process.wait(timeout=moment)
                what = "finished first"
            except subprocess.TimeoutExpired:
                process.send_signal(chosen)
                process.wait()
                what = chosen.name
            cells = finished_cells(out)
            for cell, timing in cells.items():
                if seen.setdefault(cell, timing) != timing:
                    report.recomputed.append(f"{cell} (run {round_}, kill {len(report.kills) + 1})")
            checkpointed_before |= saved_checkpoints(out) - set(cells)
            report.kills.append((moment, what, len(cells)))
            say(f"run {round_}, kill {len(report.kills):2d}: {what:<14} at {moment:5.1f} s; {len(cells)} of {total} "
                "cells finished")
        finish_and_check(out, folder / "reference", env, seen, checkpointed_before, report)
        report.runs = round_
    check_files(folder, cache, report)
    return report


def finish_and_check(out: Path, reference: Path, env: dict[str, str], seen: dict[str, dict],
                     checkpointed_before: set[str], report: Report) -> None:
    """Resume ``out`` to the end, then count its recomputed cells and the rows that differ from ``reference``."""
    if out.exists() and not (out / "config.json").exists():
        shutil.rmtree(out)
    final = genbench(["--resume", "--out", str(out)] if out.exists() else [*RUN, "--out", str(out)], env).wait()
    assert final == 0, f"the final run of {out} exited {final}"
    timings = read_json(out / "timings.json")
    for cell, timing in finished_cells(out).items():
        if seen.setdefault(cell, timing) != timing:
            report.recomputed.append(f"{cell} ({out.name}, at the end)")
        if cell in checkpointed_before and "fit_seconds" in (timings.get(cell) or {}):
            report.recomputed.append(f"{cell} ({out.name}) trained again although its checkpoint was saved")
    expected, got = untimed_metrics(reference), untimed_metrics(out)
    if expected.shape != got.shape:
        report.differing_rows += max(len(expected), len(got))
    else:
        same = (expected == got) | (expected.isna() & got.isna())
        report.differing_rows += int((~same.all(axis=1)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        report = torture(args.kills, args.seed, folder)
    signals = {name: sum(1 for _, what, _ in report.kills if what == name) for name in ("SIGKILL", "SIGINT")}
    print(f"\nkill points: {len(report.kills)} ({signals['SIGKILL']} SIGKILL, {signals['SIGINT']} SIGINT, "
          f"{len(report.kills) - sum(signals.values())} after the run had finished), over {report.runs} run(s), "
          f"each resumed after every kill and to its end")
    recomputed = ": " + ", ".join(report.recomputed) if report.recomputed else ""
    print(f"cells recomputed: {len(report.recomputed)}{recomputed}")
    print(f"differing rows: {report.differing_rows}")
    print(f"temporary files left: {len(report.leftovers)} ({report.orphans_removed} removed by a --resume after "
          "a SIGKILL cut their write short); unloadable checkpoints or cache entries: "
          f"{len(report.unloadable)}")
    sys.exit(0 if report.clean else 1)


if __name__ == "__main__":
    main()
