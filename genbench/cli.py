"""The ``genbench`` command: run, score, stats, check, report, list. Owns the screen and the exit status;
the run service (``genbench.service``) does the work, and library code only logs."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from genbench.catalog import METRICS, MODELS
from genbench.defaults import BUDGETS, DEFAULT_DATASET, DEFAULT_SEEDS
from genbench.errors import GenbenchError, UsageError
from genbench.executors import EXECUTORS, LOCAL
from genbench.threads import configure_threads

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

RUN_EXAMPLES = """\
examples:
  genbench run                                   every default model on digits, every metric (no download)
  genbench run --models vae,gan --seeds 0,1,2    two models, three seeds
  genbench run --dataset rings                   2-D ring of Gaussians with its true density
  genbench run --dataset mnist --data-dir ~/data MNIST from ~/data/MNIST/raw (--download fetches it)
  genbench run --dataset ~/faces --resize 32     your own images (class subfolders become labels)
  genbench run --dataset x.npz:value_type=binary your own arrays, value type overridden
  genbench run --models vae:latent_dim=8,vae:latent_dim=32
                                                 one model twice, with different options
  genbench run --models gan,vae:checkpoint=cluster/vae.pt
                                                 train a GAN, measure a VAE trained elsewhere
  genbench run --checkpoints runs/digits-…/checkpoints --metrics fidelity:extractor=inception
                                                 measure a finished run's models again, in other features
  genbench run --models mypkg.models:MyFlow:hidden=128,vae
                                                 your own model class beside genbench's
  genbench run --resume --out runs/digits-…      finish an interrupted run
  genbench run --metrics fidelity:extractor=inception:n=10000 --inception-weights weights-inception.pth
                                                 FID, IS, KID, precision/recall in Inception features

model, dataset and metric options follow the name: NAME:key=value:key=value.
every model also takes label=NAME (its column's name) and checkpoint=PATH (measure it, don't train it;
{seed} in PATH picks one per seed).
`genbench list` shows every model, dataset and metric with its options.
exit status: 0 all cells measured, 1 a cell failed, 2 a usage error.
"""


SCORE_EXAMPLES = """\
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

    run = commands.add_parser("run", help="train and measure models, write a run directory",
                              description="Train every model on one dataset for every seed, measure "
                              "them, and write a run directory (config, environment, metrics.csv, tables).",
                              epilog=RUN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--models", default=None, metavar="SPECS",
                     help=f"comma-separated models with options (default: {','.join(MODELS.defaults())})")
    run.add_argument("--dataset", default=None, metavar="SPEC",
                     help="dataset with options, or the path of your own data: a folder of PNG/JPEG images "
                     f"or a .npy, .npz or .pt file (default: {DEFAULT_DATASET})")
    run.add_argument("--metrics", default=None, metavar="SPECS",
                     help=f"comma-separated metrics with options (default: {','.join(METRICS.defaults())})")
    run.add_argument("--seeds", default=None, metavar="LIST",
                     help=f"comma-separated seeds (default: {','.join(map(str, DEFAULT_SEEDS))})")
    run.add_argument("--budget", default=None, choices=BUDGETS,
                     help="training budget: smoke (seconds), default (minutes on CPU), paper (hours: on 28×28 "
                     "images about 8 h of training on 2 CPU cores, under 1 h on a GPU; see the benchmarks page)")
    run.add_argument("--epochs", default=None, type=_positive_int, metavar="N",
                     help="train every model for N epochs (overrides --budget)")
    run.add_argument("--out", default=None, type=Path, metavar="DIR",
                     help="run directory (default: runs/<dataset>-<time>); never overwritten")
    run.add_argument("--resize", default=None, metavar="SIZE",
                     help="resize the images of a folder dataset to SIZE (32) or HEIGHTxWIDTH (28x28)")
    _add_data_options(run)
    _add_reference_option(run)
    run.add_argument("--checkpoints", default=None, type=Path, metavar="DIR",
                     help="measure every model saved in DIR (a run's checkpoints/ folder, or files written by "
                     "model.save) without training it; <label>-seed<k> files give seeds (default --seeds: those found)")
    run.add_argument("--resume", action="store_true",
                     help="finish the run in --out, skipping the cells already in its metrics.csv (a cell whose "
                     "worker died runs again)")
    _add_sweep_options(run)
    _add_common(run)
    run.set_defaults(handler=command_run)

    score = commands.add_parser(
        "score", help="measure a model known only by its samples (a folder of images or an array file)",
        description="Measure samples of a model trained anywhere under a dataset's protocol (the extractor, n "
        "and reference split a genbench run on that dataset uses): IS, FID, KID, precision/recall, "
        "density/coverage, and modes on rings. Either a new run directory, or a new column in a finished run.",
        epilog=SCORE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    score.add_argument("--n", default=None, type=_positive_int, metavar="N",
                       help="samples compared (default: the protocol's, the reference split's size up to 10 000)")
    score.add_argument("--seed", default=None, type=int, metavar="S",
                       help="the evaluation seed (bootstrap, KID subsets; default 0, with --into the run's first)")
    _add_data_options(score)
    _add_reference_option(score)
    _add_common(score)
    score.set_defaults(handler=command_score)

    stats = commands.add_parser(
        "stats", help="save a dataset's reference statistics (features, mean, covariance) with their provenance",
        description="Compute the reference features of a dataset's split under the fidelity protocol (extractor, "
        "n) and save them with their Gaussian statistics to an .npz file (mu and sigma under pytorch-fid's names), "
        "with the extractor's weight hash, n, split, dataset fingerprint and package versions. Pass the file to "
        "genbench run or score with --reference.",
        epilog="examples:\n"
        "  genbench stats --dataset digits -o digits-test.npz\n"
        "  genbench stats --dataset cifar10 --extractor inception --n 10000 -o cifar10-inception.npz\n"
        "  genbench run --models vae,gan --reference digits-test.npz\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    stats.add_argument("--dataset", default=None, metavar="SPEC",
                       help=f"dataset with options, or a path (default: {DEFAULT_DATASET})")
    stats.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="the .npz file to write")
    stats.add_argument("--extractor", default="auto", metavar="NAME",
                       help="feature extractor (default: auto, the one genbench run uses on the dataset)")
    stats.add_argument("--n", default=None, type=_positive_int, metavar="N",
                       help="reference examples (default: the split's size, at most 10 000)")
    stats.add_argument("--split", default="test", choices=("train", "val", "test"), help="default: test")
    stats.add_argument("--no-features", action="store_true",
                       help="save mu and sigma only (FID; KID, precision/recall and density/coverage need features)")
    _add_data_options(stats)
    _add_common(stats)
    stats.set_defaults(handler=command_stats)

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
    _add_common(check)
    check.set_defaults(handler=command_check)

    report = commands.add_parser(
        "report", help="rebuild every table and figure of a run from its metrics.csv",
        description="Rebuild table.md/.csv/.tex/.html, measurements.md, figures/ and report.html of a run "
        "directory from its metrics.csv alone (after editing or merging metrics, or with a newer genbench).")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory")
    _add_common(report)
    report.set_defaults(handler=command_report)

    listing = commands.add_parser("list", help="show registered models, datasets, metrics and extractors",
                                  description="Show the registered models, datasets, metrics and feature "
                                  "extractors with their options.")
    listing.add_argument("what", nargs="?", choices=("models", "datasets", "metrics", "extractors"),
                         help="only this registry")
    _add_common(listing)
    listing.set_defaults(handler=command_list)
    return parser


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    """Where data and weights come from, and the device: the same flags on run, score and stats."""
    parser.add_argument("--device", default=None, metavar="DEVICE",
                        help="auto (CUDA when present), cpu or cuda (default: auto)")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help="where dataset files are read from "
                        "(default: $GENBENCH_DATA_DIR, else ~/.cache/genbench/data)")
    parser.add_argument("--download", action="store_true", help="download missing dataset files")
    parser.add_argument("--inception-weights", default=None, metavar="PATH",
                        help="torch-fidelity's Inception state dict (weights-inception-2015-12-05-6726825d.pth), for "
                        "the inception extractor; with it, image sets are measured in Inception features")
    parser.add_argument("--threads", default=None, type=_positive_int, metavar="N",
                        help="CPU threads torch computes with (default: one per core this process may use, or "
                        "$OMP_NUM_THREADS); use fewer beside other busy processes")


def _add_sweep_options(parser: argparse.ArgumentParser) -> None:
    """Where the cells run: this process, local workers, or Ray."""
    group = parser.add_argument_group(
        "running cells in parallel", "each (model, dataset, seed) cell is a unit of work; its results do not depend "
        "on where it runs (at the same torch thread count)")
    group.add_argument("--jobs", default=None, type=_positive_int, metavar="N",
                       help="run N cells at once in N local worker processes, each on cores/N torch threads "
                       "(default: 1, every cell in this process)")
    group.add_argument("--devices", default=None, metavar="LIST",
                       help="one local worker per GPU: cuda:0,cuda:1 or auto (every visible GPU)")
    group.add_argument("--executor", default=LOCAL, choices=EXECUTORS,
                       help="local (worker processes here) or ray (each cell a Ray task; pip install "
                       "'genbench[ray]'); default: local")
    group.add_argument("--ray-address", default=None, metavar="ADDR",
                       help="the Ray cluster to use (HOST:6379 as `ray start --head` prints, or ray://HOST:10001); "
                       "default: start Ray on this machine for the sweep")
    group.add_argument("--cell-cpus", default=1, type=_positive_int, metavar="N",
                       help="with --executor ray: CPUs (and torch threads) per cell (default: 1)")
    group.add_argument("--cell-gpus", default=0.0, type=float, metavar="G",
                       help="with --executor ray: GPUs per cell; a fraction shares one (default: 0)")


def _add_reference_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", default=None, type=Path, metavar="FILE",
                        help="reference statistics (genbench stats, or pytorch-fid's mu/sigma .npz) for the fidelity "
                        "metric to compare with; refused when its extractor, n, split or dataset differ from the run's")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="print only errors and the final paths (no progress, "
                        "warnings or tables)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genbench")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args)
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
        from genbench.service import os_error_text

        sys.stderr.write(f"genbench {args.command}: {os_error_text(error)}\n")
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - the last line of defence against a traceback
        if args.debug:
            raise
        sys.stderr.write(f"genbench {args.command}: internal error: {type(error).__name__}: {error} "
                         "(rerun with --debug for the traceback)\n")
        return EXIT_FAILED


def _configure_logging(args: argparse.Namespace) -> None:
    from genbench import progress

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


def command_run(args: argparse.Namespace) -> int:
    from genbench import service

    return _report_finished("run", args.quiet, lambda: service.run(service.RunRequest.from_args(args)))


def _report_finished(command: str, quiet: bool, work) -> int:
    """Run ``work`` (the service's ``Finished``); print the comparison tables (unless ``quiet``) and where the
    run directory is. The exit status says whether a cell failed."""
    from genbench.rundir import LOG, METRICS
    from genbench.service import RunInterrupted

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
        from genbench.report.sweep import REPORT_HTML

        print(f"sweep report: {finished.path / REPORT_HTML}")
    print(f"run directory: {finished.path}")
    failed = finished.failed_cells
    if failed:
        sys.stderr.write(f"genbench {command}: {len(failed)} cell(s) failed: {', '.join(failed)} "
                         f"(reasons in {METRICS} and {LOG})\n")
        return EXIT_FAILED
    return EXIT_OK


def command_score(args: argparse.Namespace) -> int:
    from genbench import scoring
    from genbench.rundir import default_run_path
    from genbench.specs import parse_dataset_spec, parse_specs

    samples = args.samples.expanduser()
    label = args.label or (samples.stem if samples.is_file() else samples.name)
    dataset = parse_dataset_spec(args.dataset) if args.dataset else None
    if args.into is not None:
        given = [flag for flag, value in (("--metrics", args.metrics), ("--n", args.n), ("--data-dir", args.data_dir),
                                          ("--reference", args.reference)) if value is not None]
        if given:
            raise UsageError(f"--into measures under the run's own protocol; drop {', '.join(given)}")
        prepared = scoring.prepare_into(args.samples, args.into, label, args.seed, dataset, args.device,
                                        args.inception_weights, lambda: configure_threads(args.threads))
        return _score(prepared, args.quiet)
    run = scoring.score_run_config(
        dataset or parse_dataset_spec(DEFAULT_DATASET),
        tuple(parse_specs(args.metrics, "metric")) if args.metrics is not None else None, args.n,
        args.seed if args.seed is not None else 0, device=args.device or "auto", data_dir=args.data_dir,
        download=args.download, inception_weights=args.inception_weights)
    if args.reference is not None:
        from genbench.reference_stats import with_reference

        run = dataclasses.replace(run, metrics=with_reference(run.metrics, args.reference))
    out = args.out if args.out is not None else default_run_path(f"{Path(run.dataset.name).name}-{label}")
    prepared = scoring.prepare_new(args.samples, run, label, out, args.n is not None,
                                   lambda: configure_threads(args.threads))
    return _score(prepared, args.quiet)


def _score(prepared, quiet: bool) -> int:
    """Measure a samples column (``scoring.Prepared``) in this process, as a run's cells are."""
    from genbench import service

    plan, rundir, data, cell = prepared
    return _report_finished("score", quiet, lambda: service.execute([(plan, rundir, data)], None, None,
                                                                    command="score", extra_cells=(cell,)))


def command_stats(args: argparse.Namespace) -> int:
    from genbench.reference_stats import write_statistics
    from genbench.service import say_if_busy
    from genbench.specs import parse_dataset_spec

    configure_threads(args.threads)
    say_if_busy()
    provenance = write_statistics(parse_dataset_spec(args.dataset or DEFAULT_DATASET), args.output,
                                  extractor=args.extractor, n=args.n, split=args.split,
                                  keep_features=not args.no_features, device=args.device or "auto",
                                  data_dir=args.data_dir,
                                  download=args.download, inception_weights=args.inception_weights)
    extractor, dataset = provenance["extractor"], provenance["dataset"]
    weights = f", weights {extractor['weights_sha256'][:12]}…" if extractor.get("weights_sha256") else ""
    print(f"wrote {args.output}: {dataset['name']} {dataset['split']} split, n = {dataset['n']}, "
          f"{extractor['name']} features ({extractor['dim']}-d{weights})"
          + ("" if not args.no_features else ", statistics only"))
    return EXIT_OK


def command_report(args: argparse.Namespace) -> int:
    from genbench.report import REPORT_HTML, write_report
    from genbench.report.terminal import compact_table
    from genbench.rundir import METRICS, RunDir

    if not args.run_dir.is_dir():
        raise UsageError(f"{args.run_dir} does not exist" if not args.run_dir.exists() else
                         f"{args.run_dir} is a file; genbench report takes a run directory")
    rundir = RunDir(args.run_dir)
    if not rundir.file(METRICS).is_file():
        raise UsageError(f"{args.run_dir} has no {METRICS} to build a report from")
    table = write_report(rundir, rundir.read_metrics(required=True))
    if not args.quiet:
        print(compact_table(table, rundir.path), end="")
    print(f"report: {rundir.file(REPORT_HTML)}")
    return EXIT_OK


def command_check(args: argparse.Namespace) -> int:
    from genbench import check
    from genbench.rundir import CONFIG, DATASET, ENVIRONMENT, RunDir

    rundir = RunDir.existing(args.run_dir)
    if not rundir.file(DATASET).exists():
        raise UsageError(f"{rundir.path} has no {DATASET}; it was written by an older genbench, rerun it")
    frame, dataset = rundir.read_metrics(required=True), rundir.read_json(DATASET)
    run = check.run_protocol(rundir.read_json(CONFIG))
    machine = check.run_machine(rundir.read_json(ENVIRONMENT)) if rundir.file(ENVIRONMENT).exists() else {}
    metrics = tuple(m for m in args.metrics.split(",") if m) if args.metrics else None
    if args.update:
        if metrics is None:  # keep what the baseline guards; a new one guards FID
            metrics = (tuple(check.read_reference(args.baseline)["metrics"]) if args.baseline.exists()
                       else check.DEFAULT_METRICS)
        reference = check.update(args.baseline, frame, dataset, metrics, run, machine)
        models = ", ".join(reference["values"])
        print(f"wrote {args.baseline}: {', '.join(reference['metrics'])} of {models}")
        return EXIT_OK
    if args.sigmas <= 0:
        raise UsageError(f"--sigmas must be positive, got {args.sigmas}")
    reference = check.read_reference(args.baseline)
    comparisons = check.compare(frame, dataset, reference, metrics, args.sigmas, run)
    different = check.machine_difference(reference, machine)
    if different:
        sys.stderr.write(f"genbench check: warning: {different}\n")
    print(check.report(comparisons))
    regressions = [c for c in comparisons if c.regressed]
    if regressions:
        sys.stderr.write(f"genbench check: {len(regressions)} regression(s) against {args.baseline}: "
                         + ", ".join(f"{c.model} {c.metric}" for c in regressions) + "\n")
        return EXIT_FAILED
    return EXIT_OK


def command_list(args: argparse.Namespace) -> int:
    from genbench import catalog
    from genbench.registry import BUILT_IN

    registries = {"models": catalog.MODELS, "datasets": catalog.DATASETS, "metrics": catalog.METRICS,
                  "extractors": catalog.EXTRACTORS}
    width = max(len(name) for registry in registries.values() for name in registry.names()) + 1
    for title, registry in registries.items():
        if args.what and args.what != title:
            continue
        print(f"{title}:")
        for name in registry.names():
            try:
                entry = registry.entry(name)
            except UsageError as error:  # a broken plugin is shown, not fatal to the listing
                print(f"  {name:<{width}} unusable: {error}")
                continue
            origin = "" if entry.origin == BUILT_IN else f" [{entry.origin}]"
            print(f"  {entry.name:<{width}} {entry.summary}{origin}")
            options = _options_text(entry.target.config_class)
            if options:
                print(f"  {'':<{width}} options: {options}")
        if title == "datasets":
            _list_path_dataset(width)
        if title == "models":
            print(f"  {'PKG.MOD:CLASS':<{width}} your own GenerativeModel subclass, imported from its package "
                  f"(installed packages may name theirs in the entry-point group {catalog.MODEL_ENTRY_POINTS})")
        print()
    return EXIT_OK


def _options_text(config_class: type) -> str:
    """``key=default`` for every option, written as the command line takes it."""
    from genbench.config import option_text

    return ", ".join(f"{k}={option_text(getattr(config_class(), k))}" for k in config_class.field_names())


def _list_path_dataset(width: int) -> None:
    import dataclasses

    from genbench.config import option_text
    from genbench.data.from_path import PathDataset

    fields = [f for f in dataclasses.fields(PathDataset.config_class) if f.name != "path"]
    options = ", ".join(f"{f.name}={option_text(f.default)}" for f in fields)
    print(f"  {'PATH':<{width}} {PathDataset.__doc__.splitlines()[0]}")
    print(f"  {'':<{width}} options: {options}")


if __name__ == "__main__":
    sys.exit(main())
