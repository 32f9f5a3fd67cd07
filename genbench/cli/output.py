"""What the command line shows: exit statuses, logging on the screen, and the lines that close a run."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from genbench.infra.rundir import LOG, METRICS
from genbench.report.sweep import REPORT_HTML

if TYPE_CHECKING:
    from genbench.service import Finished

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def configure_logging(args: argparse.Namespace) -> None:
    from genbench.infra import progress  # defers tqdm

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("genbench: %(message)s"))
    root = logging.getLogger("genbench")
    root.handlers[:] = [handler]
    handler.setLevel(logging.ERROR if args.quiet else logging.INFO)  # --quiet: errors and the final paths only
    root.setLevel(logging.INFO)  # run.log is complete either way
    root.propagate = False
    if not args.debug:
        # Tracebacks of isolated failures go to the run's log file, not the screen.
        handler.addFilter(_without_traceback)
    if args.quiet:
        progress.set_enabled(False)


def _without_traceback(record: logging.LogRecord) -> bool:
    record.exc_info = None
    record.exc_text = None
    return True


def report_finished(command: str, quiet: bool, work: Callable[[], Finished]) -> int:
    """Run ``work`` (the service's ``Finished``); print the comparison tables (unless ``quiet``) and where the
    run directory is. The exit status says whether a cell failed."""
    from genbench.service import RunInterrupted  # defers torch

    try:
        finished = work()
    except RunInterrupted as error:
        sys.stderr.write(f"genbench {command}: {error}\n")
        return EXIT_INTERRUPTED
    if not quiet:
        for outcome in finished.outcomes:
            print(f"{outcome.path.name}:\n{outcome.summary_text}" if finished.several else outcome.summary_text,
                  end="")
    if finished.several:
        print(f"sweep report: {finished.path / REPORT_HTML}")
    print(f"run directory: {finished.path}")
    failed = finished.failed_cells
    if failed:
        sys.stderr.write(f"genbench {command}: {len(failed)} cell(s) failed: {', '.join(failed)} "
                         f"(reasons in {METRICS} and {LOG})\n")
        return EXIT_FAILED
    return EXIT_OK
