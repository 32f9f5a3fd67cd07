"""The ``genbench`` command: run, score, stats, check, report, list, one module each. Owns the screen and
the exit status; the run service (``genbench.service``) does the work, and library code only logs.

Each command's module adds its subparser (``add_parser``) with a ``handler``, which reads the parsed
command line into a request and prints what the service returns; ``main`` calls the handler and turns
errors into one line and an exit status (``genbench.cli.output``)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

from genbench.cli import check, listing, report, run, score, stats
from genbench.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, configure_logging
from genbench.errors import GenbenchError, UsageError

COMMANDS = (run, score, stats, check, report, listing)
"""The commands' modules, in the order ``genbench --help`` lists them."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> Parser:
    parser = Parser(prog="genbench", description="Train generative models on the same data and "
                    "measure them with the same metrics.",
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def _version() -> str:
    try:
        return version("genbench")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args)
    try:
        return args.handler(args)
    except UsageError as error:
        sys.stderr.write(f"genbench {args.command}: error: {error}\n")
        return EXIT_USAGE
    except GenbenchError as error:
        sys.stderr.write(f"genbench {args.command}: {error}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("genbench: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader (| head) went away: stop quietly, as a Unix tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:  # a full disk, a read-only folder: the system's words, not a traceback
        from genbench.service import os_error_text  # defers torch

        sys.stderr.write(f"genbench {args.command}: {os_error_text(error)}\n")
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - the last line of defence against a traceback
        if args.debug:
            raise
        sys.stderr.write(f"genbench {args.command}: internal error: {type(error).__name__}: {error} "
                         "(rerun with --debug for the traceback)\n")
        return EXIT_FAILED


def entry() -> NoReturn:
    """The ``genbench`` command and ``python -m genbench``: ``main``'s status as the process's exit status.

    What is left is frozen out of the garbage collector first: the interpreter's last collections would walk every
    object torch, pandas and matplotlib made, about a second on 2 CPU cores, and nothing is left to free."""
    status = main()
    gc.freeze()
    sys.exit(status)
