"""What serves the requests: GPU model and driver when a GPU serves, else the CPU model.

The device enters the task runner's cache key (``LATTE_BENCH_DEVICE``), so a result measured
on one machine is never reused for another.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Device", "cpu_model", "detect_device", "gpu_from_nvidia_smi"]

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclasses.dataclass(frozen=True)
class Device:
    kind: str  # "gpu" or "cpu"
    name: str
    driver: str = ""
    count: int = 1
    source: str = ""

    def key(self) -> str:
        """One line naming the device: what ``LATTE_BENCH_DEVICE`` holds."""
        driver = f" driver {self.driver}" if self.driver else ""
        count = f"{self.count}x " if self.count else ""
        return f"{self.kind}:{count}{self.name}{driver}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"key": self.key()}


def gpu_from_nvidia_smi(run: Run = subprocess.run) -> Device | None:
    """The first GPU and its driver, when nvidia-smi exists and answers."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        done = run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        return None
    name, _, driver = lines[0].partition(",")
    return Device("gpu", name.strip(), driver.strip(), len(lines), "nvidia-smi")


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown cpu"


def detect_device(run: Run = subprocess.run, cpuinfo: Path = Path("/proc/cpuinfo")) -> Device:
    """The local serving device: a GPU if nvidia-smi sees one, else this machine's CPU."""
    gpu = gpu_from_nvidia_smi(run)
    if gpu is not None:
        return gpu
    return Device("cpu", cpu_model(cpuinfo), count=os.cpu_count() or 1, source="/proc/cpuinfo")
