"""``genbench stats``: a dataset's reference statistics under a protocol, saved with full provenance
(``genbench.metrics.reference_file`` describes the file), for ``--reference`` on later runs and scores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from genbench import catalog
from genbench.data.resolve import dataset_source
from genbench.errors import UsageError
from genbench.infra.devices import resolve_device
from genbench.infra.environment import package_versions
from genbench.metrics.fidelity import Fidelity
from genbench.metrics.reference_file import write_reference_file
from genbench.service.evaluation import eval_context
from genbench.specs import Spec, weight_files

VERSIONED = ("genbench", "torch", "torchvision", "torch-fidelity", "numpy")


def with_reference(metrics: tuple[Spec, ...], path: Path) -> tuple[Spec, ...]:
    """The metric specs with ``reference=PATH`` set on fidelity (``--reference``); refused without it."""
    if not any(spec.name == Fidelity.name for spec in metrics):
        raise UsageError(f"--reference gives the fidelity metric its reference statistics; add {Fidelity.name} to "
                         "--metrics")
    if not Path(path).expanduser().is_file():
        raise UsageError(f"no reference statistics file at {path} (write one with genbench stats)")
    resolved = str(Path(path).expanduser().resolve())
    return tuple(spec.with_defaults(reference=resolved) if spec.name == Fidelity.name else spec for spec in metrics)


def write_statistics(dataset: Spec, output: Path, *, extractor: str = "auto", n: int | None = None,
                     split: str = "test", keep_features: bool = True, device: str = "auto",
                     data_dir: str | None = None, download: bool = False,
                     inception_weights: str | None = None, weights: str | None = None) -> dict[str, Any]:
    """Compute the reference features of ``dataset``'s ``split`` under the fidelity protocol (the
    extractor, n) and write their statistics to ``output``; return the provenance written."""
    fidelity = Fidelity(extractor=extractor, n=n, split=split)
    source = dataset_source(dataset.name, dataset.option_dict(), catalog.DATASETS)
    folder = Path(data_dir) if data_dir else None
    source.check_available(data_dir=folder, download=download)
    data = source.load(data_dir=folder, download=download)
    context = eval_context(device=resolve_device(device),
                          weights=weight_files(weights, inception=inception_weights))
    reference = fidelity.reference(data, context)
    if reference is None:
        raise UsageError(fidelity.extractor_for(data, context)[1] or f"no feature space for {data.name}")
    provenance = {
        "dataset": {"name": data.name, "spec": dataset.label, "fingerprint": data.fingerprint, "split": split,
                    "n": reference.n},
        "extractor": reference.extractor.describe(),
        "fidelity_options": fidelity.config.to_dict(),
        "versions": package_versions(VERSIONED),
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    features = reference.real.features if keep_features and reference.real is not None else None
    write_reference_file(output, reference.real_stats.mean, reference.real_stats.cov, features, provenance)
    return provenance
