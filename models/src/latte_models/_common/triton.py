"""Write a Triton ``config.pbtxt`` whose tensors match the exported graph exactly."""

from __future__ import annotations

from collections.abc import Sequence

from latte_models._common.onnx_io import TensorSpec
from latte_models.config import TritonConfig

__all__ = ["render_config"]


def render_config(
    name: str,
    platform: str,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    triton: TritonConfig,
) -> str:
    """The config text. With ``max_batch_size > 0`` Triton adds the batch axis itself, so the
    graph's leading dynamic axis is left out of ``dims``.

    ``instance_group`` says KIND_GPU for the GPU nodes; a CPU-only server needs KIND_CPU
    (``--instance-kind cpu`` at build time, or the serving shim rewrites it)."""
    lines = [
        f'name: "{name}"',
        f'platform: "{platform}"',
        f"max_batch_size: {triton.max_batch_size}",
        *_tensors("input", inputs, batched=triton.max_batch_size > 0),
        *_tensors("output", outputs, batched=triton.max_batch_size > 0),
        "dynamic_batching {",
        *[f"  preferred_batch_size: {size}" for size in triton.preferred_batch_sizes],
        f"  max_queue_delay_microseconds: {triton.max_queue_delay_microseconds}",
        "}",
        "instance_group [",
        "  {",
        f"    count: {triton.instance_count}",
        f"    kind: {triton.instance_kind}",
        "  }",
        "]",
    ]
    return "\n".join(lines) + "\n"


def _tensors(kind: str, specs: Sequence[TensorSpec], *, batched: bool) -> list[str]:
    lines = [f"{kind} ["]
    for index, spec in enumerate(specs):
        dims = spec.dims[1:] if batched else spec.dims
        lines += [
            "  {",
            f'    name: "{spec.name}"',
            f"    data_type: {spec.data_type}",
            f"    dims: [ {', '.join(str(d) for d in dims)} ]",
            "  }" + ("," if index < len(specs) - 1 else ""),
        ]
    return [*lines, "]"]
