"""The run service's last stage, collect: a finished run directory read back as Python sees it.

Takes a run directory (or a sweep's root); gives a ``Run``: metrics.csv as ``records``, the comparison table as
``table``, and report.html. ``genbench.run`` and ``genbench.open_run`` hand it to the caller; the command line
prints the tables the execute stage wrote instead."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from genbench.errors import UsageError
from genbench.infra.rundir import METRICS, RunDir
from genbench.report import REPORT_HTML, TABLE_CSV
from genbench.service import sweep


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished run directory as Python sees it: ``records`` (metrics.csv, one row per model, seed and
    measurement), ``table`` (the comparison table, one row per property and model with its mark, text,
    value and uncertainty; a sweep's has a ``dataset`` column) and ``report`` (report.html)."""

    path: Path
    records: pd.DataFrame
    table: pd.DataFrame
    report: Path

    @property
    def failed(self) -> list[str]:
        """The cells that failed, as "model seed s" (on a sweep: "... on dataset")."""
        frame = self.records
        where = frame.dataset if "dataset" in frame and self.is_sweep else None
        return sorted({f"{m} seed {s}" + (f" on {where.iloc[i]}" if where is not None else "")
                       for i, (m, s, st) in enumerate(zip(frame.model, frame.seed, frame.status)) if st == "failed"})

    @property
    def is_sweep(self) -> bool:
        return sweep.folders_of(self.path) is not None

    def __repr__(self) -> str:
        models = ", ".join(dict.fromkeys(self.records.model)) if len(self.records) else "nothing measured"
        return f"Run({str(self.path)!r}: {models})"


def open_run(path: str | Path) -> Run:
    """A finished run directory (or a sweep's root) read back: ``UsageError`` when it is not one."""
    path = Path(path)
    datasets = sweep.folders_of(path) if path.is_dir() else None
    rundir = RunDir.existing(path) if datasets is None else RunDir(path)
    if not rundir.file(METRICS).is_file():
        raise UsageError(f"{path} has no {METRICS}: it is not a finished genbench run")
    if datasets is None:
        table = read_table(rundir.file(TABLE_CSV))
    else:
        table = pd.concat([read_table(folder / TABLE_CSV).assign(dataset=name) for name, folder in datasets],
                          ignore_index=True)
    return Run(path, rundir.read_metrics(required=True), table, rundir.file(REPORT_HTML))


def read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UsageError(f"{path} is missing: rebuild the tables with genbench report {path.parent}")
    return pd.read_csv(path, keep_default_na=False, na_values=[""])
