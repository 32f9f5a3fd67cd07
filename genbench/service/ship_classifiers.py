"""Regenerate the domain classifiers shipped with genbench (``genbench.features.shipped``):

    python -m genbench.service.ship_classifiers digits shapes

Each registered dataset's classifier is trained afresh (on one CPU thread) and written to
``genbench/features/shipped/`` with its key and SHA-256. Run it on a quiet machine, and commit the files with the
baselines in ``results/`` that depend on them (their extractor weight hashes change).
"""

from __future__ import annotations

import argparse

import torch

import genbench
from genbench.features.domain import domain_key, train_domain_entry
from genbench.features.shipped import write_shipped
from genbench.infra.cache import file_sha256


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate the domain classifiers shipped with genbench.")
    parser.add_argument("datasets", nargs="+", help="registered dataset names, e.g. digits shapes")
    for name in parser.parse_args().datasets:
        data = genbench.load_dataset(name)
        state, meta = train_domain_entry(data, torch.device("cpu"))
        weights = write_shipped(name, domain_key(data), state, meta)
        print(f"{weights}: sha256 {file_sha256(weights)}")  # noqa: T201 - a command-line tool


if __name__ == "__main__":
    main()
