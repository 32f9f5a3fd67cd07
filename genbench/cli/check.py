"""``genbench check``: compare a run with a reference kept in the repository (``genbench.service.check``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from genbench.cli.options import add_common, request
from genbench.cli.output import EXIT_FAILED, EXIT_OK
from genbench.errors import UsageError
from genbench.infra.rundir import CONFIG, DATASET, ENVIRONMENT, RunDir
from genbench.service import check


@dataclasses.dataclass(frozen=True)
class CheckRequest:
    """A ``genbench check`` command line: every flag under its own name."""

    run_dir: Path
    baseline: Path
    metrics: str | None = None
    sigmas: float = 3.0
    update: bool = False


def add_parser(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check", help="compare a run with a reference (CI regression gate)",
        description="Compare a run's FID (and any other metric named) with a reference kept in the repository. "
        "The tolerance comes from the seed-to-seed spread stored in the reference.",
        epilog="exit status: 0 no regression, 1 a regression, 2 the protocol differs (dataset, extractor, n) "
        "or a usage error.\n\nexamples:\n"
        "  genbench check runs/ci --baseline results/baselines/digits-smoke.json\n"
        "  genbench check runs/ci --baseline results/baselines/digits-smoke.json --metrics fid,coverage\n"
        "  genbench check runs/ci --baseline results/baselines/digits-smoke.json --update",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run directory")
    check.add_argument("--baseline", required=True, type=Path, metavar="PATH", help="the reference JSON")
    check.add_argument("--metrics", default=None, metavar="LIST",
                       help="comma-separated metric names of metrics.csv (default: those in the baseline, "
                            "also with --update; fid for a new baseline)")
    check.add_argument("--sigmas", default=3.0, type=float, metavar="Z",
                       help="tolerance in seed-to-seed standard deviations of the difference (default: 3)")
    check.add_argument("--update", action="store_true", help="write the run as the new reference")
    add_common(check)
    check.set_defaults(handler=command_check)


def command_check(args: argparse.Namespace) -> int:
    asked = request(CheckRequest, args)
    rundir = RunDir.existing(asked.run_dir)
    if not rundir.file(DATASET).exists():
        raise UsageError(f"{rundir.path} has no {DATASET}; it was written by an older genbench, rerun it")
    frame, dataset = rundir.read_metrics(required=True), rundir.read_json(DATASET)
    run = check.run_protocol(rundir.read_json(CONFIG))
    machine = check.run_machine(rundir.read_json(ENVIRONMENT)) if rundir.file(ENVIRONMENT).exists() else {}
    metrics = tuple(m for m in asked.metrics.split(",") if m) if asked.metrics else None
    if asked.update:
        if metrics is None:  # keep what the baseline guards; a new one guards FID
            metrics = (tuple(check.read_reference(asked.baseline)["metrics"]) if asked.baseline.exists()
                       else check.DEFAULT_METRICS)
        reference = check.update(asked.baseline, frame, dataset, metrics, run, machine)
        models = ", ".join(reference["values"])
        print(f"wrote {asked.baseline}: {', '.join(reference['metrics'])} of {models}")
        return EXIT_OK
    if asked.sigmas <= 0:
        raise UsageError(f"--sigmas must be positive, got {asked.sigmas}")
    reference = check.read_reference(asked.baseline)
    comparisons = check.compare(frame, dataset, reference, metrics, asked.sigmas, run)
    different = check.machine_difference(reference, machine)
    if different:
        sys.stderr.write(f"genbench check: warning: {different}\n")
    print(check.report(comparisons))
    regressions = [c for c in comparisons if c.regressed]
    if regressions:
        sys.stderr.write(f"genbench check: {len(regressions)} regression(s) against {asked.baseline}: "
                         + ", ".join(f"{c.model} {c.metric}" for c in regressions) + "\n")
        return EXIT_FAILED
    return EXIT_OK
