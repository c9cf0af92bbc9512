"""Will the env's Triton be able to load what the release pins?

The instance kind (KIND_CPU/KIND_GPU) no longer comes from the build: the delivery step
(`latte registry fetch --instance-kind`) writes it from the env's ``triton.gpu.enabled``. What a
CPU env still cannot run is a model whose backend exists only on GPUs (a TensorRT plan, or an
ONNX Runtime TensorRT/CUDA accelerator); such a release is refused before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latte.release.errors import ReleaseError

__all__ = ["check_devices", "env_setting", "gpu_enabled", "gpu_only_reason"]

# config.pbtxt settings that only a GPU can honour, with what they mean in a message.
_GPU_ONLY = (
    (re.compile(r'^\s*platform\s*:\s*"tensorrt_plan"', re.M), 'platform "tensorrt_plan"'),
    (re.compile(r'^\s*backend\s*:\s*"tensorrt"', re.M), 'backend "tensorrt"'),
    (re.compile(r"\bgpu_execution_accelerator\b"), "a gpu_execution_accelerator"),
)
CHART_VALUES = "gitops/charts/latte-inference/values.yaml"


def gpu_only_reason(config: str) -> str:
    """What makes a ``config.pbtxt`` GPU-only ("" when it can run on CPU instances)."""
    return next((what for pattern, what in _GPU_ONLY if pattern.search(config)), "")


def gpu_enabled(root: Path, env: str) -> tuple[bool, str]:
    """The env's ``triton.gpu.enabled`` (chart default, then the env's values.yaml) and the
    file that set it."""
    found, where = env_setting(root, env, ("triton", "gpu", "enabled"), True)
    return bool(found), where


def env_setting(root: Path, env: str, keys: tuple[str, ...], default: Any) -> tuple[Any, str]:
    """One setting as the env's chart sees it (chart default, then the env's values.yaml)
    and the file that set it."""
    from latte.gitops.errors import GitopsError  # deferred: only releases need the gitops code
    from latte.gitops.values import load_values

    found, where = default, CHART_VALUES
    for label in (CHART_VALUES, f"gitops/envs/{env}/values.yaml"):
        try:
            data = load_values(root / label) if (root / label).is_file() else {}
        except GitopsError as exc:
            raise ReleaseError(str(exc)) from exc
        value = _dig(data, keys)
        if value is not None:
            found, where = value, label
    return found, where


def check_devices(env_values: str, gpu: bool, configs: Mapping[tuple[str, int], str]) -> None:
    """Refuse a GPU-only config (``configs``: (model, version) -> config.pbtxt) in a CPU env."""
    if gpu:
        return
    for (name, version), text in sorted(configs.items()):
        reason = gpu_only_reason(text)
        if reason:
            raise ReleaseError(
                f"{env_values}: triton.gpu.enabled: false, but {name} version {version}'s "
                f"config.pbtxt uses {reason} (GPU only); release it to a GPU environment or "
                "export it for ONNX Runtime on CPU"
            )


def _dig(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data
