"""``genbench score``: measure a model known only by its samples (``genbench.service.scoring``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genbench import service
from genbench.cli.options import add_common, add_data_options, add_reference_option, positive_int, request
from genbench.cli.output import report_finished
from genbench.defaults import DEFAULT_DATASET
from genbench.service.request import ScoreRequest

EXAMPLES = """\
examples:
  genbench score gan-samples.npz --dataset digits           a new run directory: the samples beside real data
  genbench score samples/ --dataset cifar10 --data-dir ~/data
                                                            a folder of PNGs, in CIFAR-10's protocol
  genbench score flow.npy --into runs/digits-20261124-101500 --label my-flow
                                                            one more column in a finished run's table
  genbench score few.npz --dataset digits --n 200           fewer samples than the protocol's n

SAMPLES hold N examples in the dataset's shape: (N, C, H, W), (N, H, W) or (N, H, W, C) images as
uint8 (k/255) or floats in [0, 1], vectors (N, D) on continuous data. With --into, the run's dataset,
metrics and options are used, and the rows that need the model itself (likelihood, latent space,
sampling speed) say "samples only".
exit status: 0 measured, 1 a metric failed, 2 a usage error (a wrong shape or value range, too few samples).
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score", help="measure a model known only by its samples (a folder of images or an array file)",
        description="Measure samples of a model trained anywhere under a dataset's protocol (the extractor, n "
        "and reference split a genbench run on that dataset uses): IS, FID, KID, precision/recall, "
        "density/coverage, and modes on rings. Either a new run directory, or a new column in a finished run.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    score.add_argument("samples", type=Path, metavar="SAMPLES",
                       help="a folder of PNG/JPEG images, or a .npy, .npz or .pt file of samples (N, ...)")
    score.add_argument("--dataset", default=None, metavar="SPEC",
                       help=f"the dataset the samples imitate, with options, or a path (default: {DEFAULT_DATASET}; "
                       "with --into: the run's)")
    score.add_argument("--label", default=None, metavar="NAME",
                       help="the column's name (default: the samples file's or folder's name)")
    where = score.add_mutually_exclusive_group()
    where.add_argument("--out", default=None, type=Path, metavar="DIR",
                       help="a new run directory (default: runs/<dataset>-<label>-<time>)")
    where.add_argument("--into", default=None, type=Path, metavar="RUN_DIR",
                       help="add the column to this finished run's tables, figures and report")
    score.add_argument("--metrics", default=None, metavar="SPECS",
                       help="comma-separated metrics with options (default: those computed from samples alone: "
                       "fidelity, modes, memorisation; with --into: the run's)")
    score.add_argument("--n", default=None, type=positive_int, metavar="N",
                       help="samples compared (default: the protocol's, the reference split's size up to 10 000)")
    score.add_argument("--seed", default=None, type=int, metavar="S",
                       help="the evaluation seed (bootstrap, KID subsets; default 0, with --into the run's first)")
    add_data_options(score)
    add_reference_option(score)
    add_common(score)
    score.set_defaults(handler=command_score)


def command_score(args: argparse.Namespace) -> int:
    asked = request(ScoreRequest, args)
    return report_finished("score", args.quiet, lambda: service.score(asked))
