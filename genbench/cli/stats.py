"""``genbench stats``: save a dataset's reference statistics (``genbench.service.reference_stats``)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from genbench.cli.options import add_common, add_data_options, positive_int, request
from genbench.cli.output import EXIT_OK
from genbench.defaults import DEFAULT_DATASET
from genbench.infra.threads import configure_threads
from genbench.service.request import DataOptions
from genbench.specs import parse_dataset_spec


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatsRequest(DataOptions):
    """A ``genbench stats`` command line: every flag under its own name, the data options' in ``DataOptions``."""

    output: Path
    dataset: str | None = None
    extractor: str = "auto"
    n: int | None = None
    split: str = "test"
    no_features: bool = False


def add_parser(commands: argparse._SubParsersAction) -> None:
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
    stats.add_argument("--n", default=None, type=positive_int, metavar="N",
                       help="reference examples (default: the split's size, at most 10 000)")
    stats.add_argument("--split", default="test", choices=("train", "val", "test"), help="default: test")
    stats.add_argument("--no-features", action="store_true",
                       help="save mu and sigma only (FID; KID, precision/recall and density/coverage need features)")
    add_data_options(stats)
    add_common(stats)
    stats.set_defaults(handler=command_stats)


def command_stats(args: argparse.Namespace) -> int:
    from genbench.service import say_if_busy  # defers torch
    from genbench.service.reference_stats import write_statistics  # defers torch

    asked = request(StatsRequest, args)
    configure_threads(asked.threads)
    say_if_busy()
    provenance = write_statistics(parse_dataset_spec(asked.dataset or DEFAULT_DATASET), asked.output,
                                  extractor=asked.extractor, n=asked.n, split=asked.split,
                                  keep_features=not asked.no_features, device=asked.device or "auto",
                                  data_dir=asked.data_dir,
                                  download=asked.download, inception_weights=asked.inception_weights,
                                  weights=asked.weights)
    extractor, dataset = provenance["extractor"], provenance["dataset"]
    weights = f", weights {extractor['weights_sha256'][:12]}…" if extractor.get("weights_sha256") else ""
    print(f"wrote {asked.output}: {dataset['name']} {dataset['split']} split, n = {dataset['n']}, "
          f"{extractor['name']} features ({extractor['dim']}-d{weights})"
          + ("" if not asked.no_features else ", statistics only"))
    return EXIT_OK
