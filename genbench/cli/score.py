"""``genbench score``: measure a model known only by its samples (``genbench.service.scoring``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from genbench.cli.options import DataOptions, add_common, add_data_options, add_reference_option, positive_int, request
from genbench.cli.output import report_finished
from genbench.defaults import DEFAULT_DATASET
from genbench.errors import UsageError
from genbench.infra.threads import configure_threads

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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScoreRequest(DataOptions):
    """A ``genbench score`` command line: every flag under its own name, the data options' in ``DataOptions``."""

    samples: Path
    dataset: str | None = None
    label: str | None = None
    out: Path | None = None
    into: Path | None = None
    metrics: str | None = None
    n: int | None = None
    seed: int | None = None
    reference: Path | None = None


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
    from genbench.infra.rundir import default_run_path
    from genbench.service import scoring
    from genbench.specs import parse_dataset_spec, parse_specs

    asked = request(ScoreRequest, args)
    samples = asked.samples.expanduser()
    label = asked.label or (samples.stem if samples.is_file() else samples.name)
    dataset = parse_dataset_spec(asked.dataset) if asked.dataset else None
    if asked.into is not None:
        given = [flag for flag, value in (("--metrics", asked.metrics), ("--n", asked.n),
                                          ("--data-dir", asked.data_dir), ("--reference", asked.reference))
                 if value is not None]
        if given:
            raise UsageError(f"--into measures under the run's own protocol; drop {', '.join(given)}")
        prepared = scoring.prepare_into(asked.samples, asked.into, label, asked.seed, dataset, asked.device,
                                        asked.inception_weights, asked.weights,
                                        lambda: configure_threads(asked.threads))
        return _score(prepared, args.quiet)
    run = scoring.score_run_config(
        dataset or parse_dataset_spec(DEFAULT_DATASET),
        tuple(parse_specs(asked.metrics, "metric")) if asked.metrics is not None else None, asked.n,
        asked.seed if asked.seed is not None else 0, device=asked.device or "auto", data_dir=asked.data_dir,
        download=asked.download, inception_weights=asked.inception_weights, weights=asked.weights)
    if asked.reference is not None:
        from genbench.service.reference_stats import with_reference

        run = dataclasses.replace(run, metrics=with_reference(run.metrics, asked.reference))
    out = asked.out if asked.out is not None else default_run_path(f"{Path(run.dataset.name).name}-{label}")
    prepared = scoring.prepare_new(asked.samples, run, label, out, asked.n is not None,
                                   lambda: configure_threads(asked.threads))
    return _score(prepared, args.quiet)


def _score(prepared, quiet: bool) -> int:
    """Measure a samples column (``scoring.Prepared``) in this process, as a run's cells are."""
    from genbench import service

    plan, rundir, data, cell = prepared
    return report_finished("score", quiet, lambda: service.execute([(plan, rundir, data)], None, None,
                                                                   command="score", extra_cells=(cell,)))
