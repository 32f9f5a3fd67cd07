"""What a run ran on: versions, device, source commit. Written to environment.json."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from genbench.infra.memory import allocator_settings
from genbench.infra.threads import available_cores, load_average, openmp_settings

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


def cpu_model() -> str:
    """The CPU's marketing name ("AMD EPYC 9654", "Intel(R) Xeon(R) Platinum 8481C"), from /proc/cpuinfo on
    Linux, else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str | None]:
    """The MKL and oneDNN releases this torch was built with (torch.__config__.show() names them)."""
    shown = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([\w.\-]+)", shown)
    onednn = re.search(r"MKL-DNN v([\w.]+)", shown)
    return {"mkl": mkl.group(1) if mkl else None, "onednn": onednn.group(1) if onednn else None}


def cpu_description() -> dict[str, Any]:
    """What decides a CPU's figures: its model, the instruction set torch's kernels dispatch to (set by
    ``ATEN_CPU_CAPABILITY``, at most what the CPU has), the BLAS and oneDNN releases, the threads and the
    OpenMP settings in force (``genbench.infra.threads``), and how the allocator keeps freed memory
    (``genbench.infra.memory``)."""
    load = load_average()
    return {"model": cpu_model(), "instruction_set": torch.backends.cpu.get_cpu_capability(),
            **library_versions(), "threads": torch.get_num_threads(), "cores_available": available_cores(),
            "openmp": openmp_settings(), "malloc": allocator_settings(),
            "load_average_at_start": None if load is None else round(load, 2)}


def gpu_driver() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def device_description(device: torch.device) -> dict[str, Any]:
    """The device the cells ran on; the CPU's description either way (data loading, metrics on CPU)."""
    if device.type == "cuda":
        index = device.index or 0
        props = torch.cuda.get_device_properties(index)
        return {"type": "cuda", "name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                "capability": f"{props.major}.{props.minor}", "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(), "driver": gpu_driver(), "cpu": cpu_description()}
    return {"type": device.type, "name": cpu_model(), **cpu_description()}


def machine_summary(device: torch.device) -> dict[str, Any]:
    """The few facts a figure in metrics.csv carries with it: the device, the instruction set and the threads
    (what moves a trained model's last digits between machines)."""
    summary: dict[str, Any] = {"device": device.type, "instruction_set": torch.backends.cpu.get_cpu_capability(),
                               "threads": torch.get_num_threads()}
    if device.type == "cuda":
        summary["gpu"] = torch.cuda.get_device_name(device.index or 0)
    return summary


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
