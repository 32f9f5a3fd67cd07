"""``genbench report``: rebuild a run's tables and figures from its metrics.csv (``genbench.report``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from genbench.cli.options import add_common, request
from genbench.cli.output import EXIT_OK
from genbench.errors import UsageError
from genbench.infra.rundir import METRICS, RunDir
from genbench.report import REPORT_HTML, write_report
from genbench.report.terminal import compact_table


@dataclasses.dataclass(frozen=True)
class ReportRequest:
    """A ``genbench report`` command line."""

    run_dir: Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="rebuild every table and figure of a run from its metrics.csv",
        description="Rebuild table.md/.csv/.tex/.html, measurements.md, figures/ and report.html of a run "
        "directory from its metrics.csv alone (after editing or merging metrics, or with a newer genbench).")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory")
    add_common(report)
    report.set_defaults(handler=command_report)


def command_report(args: argparse.Namespace) -> int:
    run_dir = request(ReportRequest, args).run_dir
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} does not exist" if not run_dir.exists() else
                         f"{run_dir} is a file; genbench report takes a run directory")
    rundir = RunDir(run_dir)
    if not rundir.file(METRICS).is_file():
        raise UsageError(f"{run_dir} has no {METRICS} to build a report from")
    table = write_report(rundir, rundir.read_metrics(required=True))
    if not args.quiet:
        print(compact_table(table, rundir.path), end="")
    print(f"report: {rundir.file(REPORT_HTML)}")
    return EXIT_OK
