"""What serves the requests, as the serving backend reports it.

The local stack's gateway runs models with ONNX Runtime on the execution providers its local
backend asks for (``latte_serving.backends.local.EXECUTION_PROVIDERS``): that, not the mere
presence of ``nvidia-smi``, decides the device. A remote Triton's GPUs come from its own
``nv_gpu_*`` metrics (``bench._remote_device``). The device enters the task runner's cache key
(``LATTE_BENCH_DEVICE``), so a result measured on one machine is never reused for another.
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


# ONNX Runtime providers that run on a GPU
_GPU_PROVIDERS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})


def detect_device(
    run: Run = subprocess.run,
    cpuinfo: Path = Path("/proc/cpuinfo"),
    providers: tuple[str, ...] | None = None,
) -> Device:
    """The device the local gateway serves on: its ONNX Runtime providers decide.

    A GPU provider names the GPU (model and driver from nvidia-smi, when it answers); the CPU
    provider names this machine's CPU even when a GPU sits idle beside it.
    """
    if providers is None:
        from latte_serving.backends.local import EXECUTION_PROVIDERS

        providers = EXECUTION_PROVIDERS
    source = "onnxruntime " + ",".join(providers)
    if _GPU_PROVIDERS.intersection(providers):
        gpu = gpu_from_nvidia_smi(run)
        name = gpu.name if gpu else "GPU (nvidia-smi did not answer)"
        return Device("gpu", name, gpu.driver if gpu else "", gpu.count if gpu else 1, source)
    return Device("cpu", cpu_model(cpuinfo), count=os.cpu_count() or 1, source=source)
