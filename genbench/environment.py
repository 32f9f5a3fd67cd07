"""What a run ran on: versions, device, source commit. Written to environment.json."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

PACKAGES = ("genbench", "torch", "torchvision", "torch-fidelity", "numpy", "scipy", "pandas",
            "scikit-learn", "matplotlib", "seaborn")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(where: Path | None = None) -> dict[str, Any] | None:
    """The commit (and whether the tree is dirty) of the git checkout holding genbench's source."""
    where = where or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def device_description(device: torch.device) -> dict[str, Any]:
    if device.type == "cuda":
        index = device.index or 0
        props = torch.cuda.get_device_properties(index)
        return {"type": "cuda", "name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                "capability": f"{props.major}.{props.minor}", "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version()}
    from genbench.threads import available_cores, load_average

    return {"type": device.type, "name": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(), "cores_available": available_cores(),
            "load_average_at_start": None if load_average() is None else round(load_average(), 2)}


def environment(device: torch.device) -> dict[str, Any]:
    return {
        "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
        "device": device_description(device),
        "git": git_commit(),
    }
