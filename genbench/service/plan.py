"""The run service's first stage, plan: a request (the run's flags) → what it asks for, checked.

Takes a ``RunRequest``; gives a ``Planned``: one plan per dataset (``runner.plan``: the run's configuration, each
model's plan, the metrics), where the run is written, and for ``--resume`` the run directories it finishes, claimed
(``RunDir.claim``: a second writer is refused). Every usage error of a run is raised here or in ``prepare``, before a
run directory exists."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from genbench.errors import UsageError
from genbench.infra.rundir import CONFIG, RunDir, default_run_path
from genbench.service import runner, sweep
from genbench.service.request import RunRequest
from genbench.service.run_config import RunConfig, check_names, differences, from_flags, stored_run


@dataclasses.dataclass(frozen=True)
class Planned:
    """A request's plans, one per dataset, and where they are written (``out``: the run directory, or a sweep's
    root when ``sweep``); ``reopened``: the claimed run directories of a resumed run, one per plan."""

    request: RunRequest
    plans: list[runner.Plan]
    out: Path
    sweep: bool
    reopened: list[RunDir] | None = None


def plan(request: RunRequest) -> Planned:
    """The plans of a new run, or of the run (or sweep) in ``request.out`` that ``--resume`` finishes."""
    if request.resume:
        return resumed(request)
    runs = []
    for spec in sweep.dataset_list(request.dataset):
        config = from_flags(dataclasses.replace(request, dataset=spec and spec.label), RunConfig())
        check_names(config)
        runs.append(config)
    name = Path(runs[0].dataset.name).name if len(runs) == 1 else "sweep"
    out = request.out if request.out is not None else default_run_path(name)
    plans = [runner.plan(config) for config in runs]
    RunDir.refuse_existing(out)
    return Planned(request, plans, out, sweep=len(plans) > 1)


def resumed(request: RunRequest) -> Planned:
    """The stored plans of the run (or each dataset of the sweep) in ``request.out``, its directories claimed."""
    if request.out is None:
        raise UsageError("--resume needs --out DIR, the run directory to finish")
    datasets = sweep.folders_of(request.out)
    paths = [request.out] if datasets is None else [path for _, path in datasets]
    if datasets is not None and request.dataset is not None and request.dataset != ",".join(d for d, _ in datasets):
        raise UsageError(f"--resume finishes the sweep in {request.out} over {','.join(d for d, _ in datasets)}; "
                         f"drop --dataset {request.dataset}")
    for path in paths:
        refuse_changed_flags(request, path, with_dataset=datasets is None)
    reopened = [runner.reopen(path, device=request.device, inception_weights=request.inception_weights,
                              weights=request.weights) for path in paths]
    return Planned(request, [p for p, _ in reopened], request.out, sweep=datasets is not None,
                   reopened=[rundir for _, rundir in reopened])


def refuse_changed_flags(request: RunRequest, path: Path, *, with_dataset: bool) -> None:
    """``UsageError`` when a setting of a resumed run differs from the run directory's configuration."""
    base = stored_run(path)
    asked = request if with_dataset else dataclasses.replace(request, dataset=None)
    differ = differences(from_flags(asked, base), base)
    if differ:
        raise UsageError(f"--resume finishes the run as {path / CONFIG} describes it; these flags differ "
                         f"from it: {'; '.join(differ)} (drop them, or start a new run with another --out)")
