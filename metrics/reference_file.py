"""Reference statistics in a file: what FID (and, with the features, KID, precision/recall and
density/coverage) compares samples with, saved once (``genbench stats``) and read back
(``--reference ref.npz``) instead of being computed from the dataset's split.

The file is an ``.npz`` readable without pickle. Its arrays:

- ``mu`` (D,) and ``sigma`` (D, D), float64: the Gaussian statistics of the reference features, under
  the names pytorch-fid's ``.npz`` files use, so that pytorch-fid reads a genbench file and genbench
  reads pytorch-fid's; in a space whose Fréchet distance averages P blocks (``wavelet``), ``sigma`` holds only
  the P diagonal blocks, (P, D/P, D/P), as pytorchfwd keeps its per-packet covariances;
- ``features`` (N, D), float32, unless left out: the reference features themselves;
- ``provenance``: a JSON string: the format and version, the dataset (name, content fingerprint,
  split, n), the extractor (name, layer, dimension, weights SHA-256, resize) and the versions of the
  packages that computed it.

A file without ``provenance`` (pytorch-fid's) holds only ``mu`` and ``sigma``: it gives FID, and
nothing about how it was made can be checked.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genbench.errors import DataFormatError, DataMissingError
from genbench.infra.atomic import write_bytes
from genbench.infra.cache import file_sha256

FORMAT = "genbench-reference-statistics"
VERSION = 1
MEAN, COV, FEATURES, PROVENANCE = "mu", "sigma", "features", "provenance"


@dataclasses.dataclass(frozen=True)
class ReferenceFile:
    """A reference statistics file as read: statistics (float64), features (or None), provenance (or
    None for a pytorch-fid file), and the file's path and SHA-256."""

    mean: torch.Tensor
    cov: torch.Tensor
    features: torch.Tensor | None
    provenance: dict[str, Any] | None
    path: Path
    sha256: str

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    @property
    def blocks(self) -> int:
        """1 for a full covariance, P for P diagonal blocks (a space whose Fréchet distance averages blocks)."""
        return 1 if self.cov.ndim == 2 else self.cov.shape[0]

    def describe(self) -> dict[str, Any]:
        """The file's part of a record's reference details."""
        kind = "genbench stats" if self.provenance is not None else "pytorch-fid (mu, sigma only)"
        return {"file": str(self.path), "file_sha256": self.sha256, "file_format": kind}


def write_reference_file(path: Path, mean: torch.Tensor, cov: torch.Tensor, features: torch.Tensor | None,
                         provenance: dict[str, Any]) -> None:
    """Write the file atomically (see the module docstring for its arrays)."""
    arrays = {MEAN: mean.double().cpu().numpy(), COV: cov.double().cpu().numpy(),
              PROVENANCE: np.array(json.dumps({"format": FORMAT, "version": VERSION, **provenance}, sort_keys=True))}
    if features is not None:
        arrays[FEATURES] = features.float().cpu().numpy()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(Path(path), buffer.getvalue())


def read_reference_file(path: Path) -> ReferenceFile:
    """Read and check the file; ``DataMissingError`` or ``DataFormatError`` (one line) when unusable."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataMissingError(f"no reference statistics file at {path} (write one with genbench stats)")
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive")
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataFormatError(f"cannot read the reference statistics {path}: {error}") from None
    if MEAN not in arrays or COV not in arrays:
        raise DataFormatError(f"{path} holds {', '.join(sorted(arrays)) or 'nothing'}; reference statistics need "
                              f"{MEAN} and {COV} (pytorch-fid's names), as genbench stats writes them")
    mean, cov = arrays[MEAN], arrays[COV]
    blocked = cov.ndim == 3 and cov.shape[0] > 1 and cov.shape[1:] == (len(mean) // cov.shape[0],) * 2 \
        and cov.shape[0] * cov.shape[1] == len(mean)
    if mean.ndim != 1 or not (cov.shape == (len(mean), len(mean)) or blocked):
        raise DataFormatError(f"{path}: {MEAN} has shape {mean.shape} and {COV} {cov.shape}; expected (D,) and (D, D), "
                              "or (P, D/P, D/P) for a space of P blocks")
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise DataFormatError(f"{path}: {MEAN} or {COV} holds NaN or infinite values")
    provenance = None
    if PROVENANCE in arrays:
        try:
            provenance = json.loads(str(arrays[PROVENANCE]))
        except json.JSONDecodeError as error:
            raise DataFormatError(f"{path}: its provenance is not JSON: {error}") from None
        if provenance.get("format") != FORMAT or provenance.get("version") != VERSION:
            raise DataFormatError(f"{path} is not a genbench reference statistics file of version {VERSION}")
    features = arrays.get(FEATURES)
    if features is not None and (features.ndim != 2 or features.shape[1] != len(mean)):
        raise DataFormatError(f"{path}: {FEATURES} has shape {features.shape}; expected (N, {len(mean)})")
    return ReferenceFile(torch.from_numpy(mean.astype(np.float64)), torch.from_numpy(cov.astype(np.float64)),
                         None if features is None else torch.from_numpy(features.astype(np.float32)),
                         provenance, path.resolve(), file_sha256(path))
