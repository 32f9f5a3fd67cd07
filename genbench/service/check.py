"""``genbench check``: compare a run with a reference in ``results/baselines/``, for CI.

A reference (``--update`` writes one from a run with two seeds or more) holds, per model and
metric, the mean over seeds, the seed-to-seed standard deviation σ and the number of seeds S_ref,
with the protocol it was measured under (dataset fingerprint, extractor, n, estimator).

A run with S seeds regresses on a metric when it is worse than the reference mean by more than

    z · σ · √(1/S + 1/S_ref)        (z = 3 by default, ``--sigmas``),

the spread the difference of two seed means has when nothing changed; σ is floored at 10⁻⁶·|mean|
so that a deterministic figure still gets a tolerance. A protocol that differs (dataset,
extractor or its weights, n, estimator, the run's budget, a model the reference checks but the run
lacks) cannot be compared: exit status 2, not a regression.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from genbench.errors import UsageError, first_sentence
from genbench.infra.atomic import write_json
from genbench.records import OK, TIMED
from genbench.report.summary import Summary

FORMAT = "genbench-baseline"
VERSION = 1
DEFAULT_METRICS = ("fid",)
DEFAULT_SIGMAS = 3.0
RELATIVE_FLOOR = 1e-6
PROTOCOL_FIELDS = ("unit", "extractor", "n", "estimator")


class ProtocolMismatch(UsageError):
    """The run and the reference were not measured the same way: they cannot be compared."""


@dataclasses.dataclass(frozen=True)
class Comparison:
    model: str
    metric: str
    reference: float
    run: float
    tolerance: float
    higher_is_better: bool

    @property
    def change(self) -> float:
        """Improvement is positive, whichever way the metric points."""
        return (self.run - self.reference) if self.higher_is_better else (self.reference - self.run)

    @property
    def regressed(self) -> bool:
        return self.change < -self.tolerance


def seed_statistics(frame: pd.DataFrame, metrics: tuple[str, ...]) -> dict[str, dict[str, dict[str, Any]]]:
    """{model: {metric: {mean, std, seeds, protocol}}} over the ok records of ``frame``."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    ok = frame[(frame.status == OK) & (frame.estimator != TIMED) & frame.metric.isin(metrics)]
    for (model, metric), group in ok.groupby(["model", "metric"], sort=False):
        values = group.value.astype(float)
        first = group.iloc[0]
        protocol = {f: (None if pd.isna(first[f]) else (int(first[f]) if f == "n" else str(first[f])))
                    for f in PROTOCOL_FIELDS}
        table.setdefault(model, {})[metric] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
            "seeds": sorted(int(s) for s in group.seed),
            "protocol": protocol,
            "extractor_weights": extractor_weights(first.details),
        }
    return table


def extractor_weights(details: str) -> str | None:
    """The SHA-256 of the feature extractor's weights recorded in a record's details, if any."""
    try:
        return json.loads(details).get("extractor", {}).get("weights_sha256") if details else None
    except (json.JSONDecodeError, AttributeError):
        return None


PROTOCOL_RUN_FIELDS = ("budget",)
"""Run settings that are part of the protocol: a smoke-budget reference says nothing of a default-budget run."""


def run_protocol(config: dict[str, Any]) -> dict[str, Any]:
    """The protocol's part of a run's config.json: its budget."""
    run = config.get("run", {}) if isinstance(config, dict) else {}
    return {field: run.get(field) for field in PROTOCOL_RUN_FIELDS}


def run_machine(environment: dict[str, Any]) -> dict[str, Any]:
    """What a run's environment.json says of the machine that moves figures: the device and the
    instruction set torch's CPU kernels dispatched to."""
    device = environment.get("device", {}) if isinstance(environment, dict) else {}
    cpu = device.get("cpu", device)
    return {"device": device.get("type"), "instruction_set": cpu.get("instruction_set"),
            "cpu": cpu.get("model"), "gpu": device.get("name") if device.get("type") == "cuda" else None}


def machine_difference(reference: dict[str, Any], machine: dict[str, Any]) -> str | None:
    """One sentence when the run and the baseline ran on a different device or instruction set (a warning:
    a GAN's training is chaotic in the last bits, so its figures move within their spread); None when the
    same, or when either does not say."""
    theirs = reference.get("machine") or {}
    differ = [f"{what} {machine.get(key)} here, {theirs.get(key)} in the baseline"
              for key, what in (("device", "device"), ("instruction_set", "instruction set"))
              if theirs.get(key) and machine.get(key) and theirs.get(key) != machine.get(key)]
    if not differ:
        return None
    return (f"the run and the baseline ran on different machines ({'; '.join(differ)}): figures of trained models "
            "move within their spread between them (ATEN_CPU_CAPABILITY forces an instruction set)")


def make_reference(frame: pd.DataFrame, dataset: dict[str, Any], metrics: tuple[str, ...],
                   run: dict[str, Any] | None = None, machine: dict[str, Any] | None = None) -> dict[str, Any]:
    """The reference document of a finished run (needs two seeds or more for a spread); ``run``: the
    run's protocol settings (``run_protocol``); ``machine``: where it ran (``run_machine``)."""
    stats = seed_statistics(frame, metrics)
    if not stats:
        raise UsageError(f"the run has no measured {', '.join(metrics)} to keep as a reference")
    few = sorted({f"{m}/{k}" for m, rows in stats.items() for k, r in rows.items() if len(r["seeds"]) < 2})
    if few:
        raise UsageError(f"a reference needs two seeds or more for its tolerance; {few[0]} has one "
                         "(run with --seeds 0,1,2)")
    document = {"format": FORMAT, "version": VERSION, "dataset": dataset, "metrics": list(metrics), "values": stats}
    if machine:
        document["machine"] = machine
    return {**document, "run": run} if run else document


def read_reference(path: Path) -> dict[str, Any]:
    """The baseline at ``path``; ``UsageError`` (exit 2, one line) for a file that is missing, unreadable,
    not JSON, or not a genbench baseline."""
    try:
        reference = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no baseline at {path}; create one with genbench check RUN_DIR --baseline {path} "
                         "--update") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder; --baseline takes the baseline's JSON file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file; --baseline takes a JSON file written by --update") from None
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"cannot read the baseline {path}: {first_sentence(error)}") from None
    if not isinstance(reference, dict) or reference.get("format") != FORMAT or reference.get("version") != VERSION:
        raise UsageError(f"{path} is not a genbench baseline (format {FORMAT}, version {VERSION})")
    missing = [key for key in ("dataset", "metrics", "values") if not isinstance(reference.get(key), dict | list)]
    if missing:
        raise UsageError(f"{path} is a damaged genbench baseline: it has no {', '.join(missing)}; write it again "
                         "with --update")
    return reference


def compare(frame: pd.DataFrame, dataset: dict[str, Any], reference: dict[str, Any],
            metrics: tuple[str, ...] | None = None, sigmas: float = DEFAULT_SIGMAS,
            run: dict[str, Any] | None = None) -> list[Comparison]:
    """Every (model, metric) the reference holds, compared; ``ProtocolMismatch`` when incomparable.
    ``run``: the run's protocol settings (``run_protocol``), compared with the reference's where it has them."""
    metrics = tuple(metrics or reference["metrics"])
    for field, theirs in reference.get("run", {}).items():
        mine = (run or {}).get(field)
        if mine != theirs:
            raise ProtocolMismatch(f"the run's {field} is {mine!r}, the baseline's {theirs!r}: a baseline only gates "
                                   f"runs of its own {field} (rerun with --{field} {theirs}, or make a baseline for "
                                   f"{mine!r} with --update)")
    ref_data = reference["dataset"]
    if ref_data.get("name") != dataset.get("name"):
        raise ProtocolMismatch(f"the run is on {dataset.get('name')}, the baseline on {ref_data.get('name')}")
    if ref_data.get("fingerprint") != dataset.get("fingerprint"):
        raise ProtocolMismatch(f"the run's {dataset.get('name')} differs from the baseline's (content "
                               "fingerprints differ): options, splits or files changed")
    run = seed_statistics(frame, metrics)
    declared = Summary(frame)
    comparisons = []
    for model, by_metric in reference["values"].items():
        for metric, ref in by_metric.items():
            if metric not in metrics:
                continue
            mine = run.get(model, {}).get(metric)
            if mine is None:
                raise ProtocolMismatch(f"the baseline checks {metric} of {model}, which the run did not measure")
            for field in PROTOCOL_FIELDS:
                if mine["protocol"][field] != ref["protocol"][field]:
                    raise ProtocolMismatch(f"{model} {metric}: {field} is {mine['protocol'][field]!r} in the run "
                                           f"but {ref['protocol'][field]!r} in the baseline")
            direction = declared.output(metric).gated_higher
            if direction is None:
                raise UsageError(f"{metric} has no better direction; it cannot be gated")
            sigma = max(ref["std"], RELATIVE_FLOOR * abs(ref["mean"]))
            tolerance = sigmas * sigma * math.sqrt(1 / len(mine["seeds"]) + 1 / len(ref["seeds"]))
            weights = (mine.get("extractor_weights"), ref.get("extractor_weights"))
            if None not in weights and weights[0] != weights[1]:
                raise ProtocolMismatch(f"{model} {metric}: the feature extractor's weights differ from the baseline's "
                                       f"(SHA-256 {weights[0][:12]}… in the run, {weights[1][:12]}… in the baseline): "
                                       "figures in another feature space are not compared")
            comparisons.append(Comparison(model, metric, ref["mean"], mine["mean"], tolerance, direction))
    missing = [m for m in metrics if not any(c.metric == m for c in comparisons)]
    if missing:
        raise UsageError(f"the baseline holds no {', '.join(missing)}; valid: {', '.join(reference['metrics'])}")
    return comparisons


def report(comparisons: list[Comparison]) -> str:
    """A readable diff: one line per comparison, regressions marked."""
    lines = [f"{'model':<14} {'metric':<16} {'baseline':>12} {'run':>12} {'change':>10} {'tolerance':>10}  verdict"]
    for c in comparisons:
        verdict = "REGRESSED" if c.regressed else ("improved" if c.change > c.tolerance else "ok")
        lines.append(f"{c.model:<14} {c.metric:<16} {c.reference:>12.4g} {c.run:>12.4g} {c.change:>+10.3g} "
                     f"{c.tolerance:>10.3g}  {verdict}")
    return "\n".join(lines)


def update(path: Path, frame: pd.DataFrame, dataset: dict[str, Any], metrics: tuple[str, ...],
           run: dict[str, Any] | None = None, machine: dict[str, Any] | None = None) -> dict[str, Any]:
    reference = make_reference(frame, dataset, metrics, run, machine)
    write_json(Path(path), reference)
    return reference
