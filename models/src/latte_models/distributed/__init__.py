"""Data-parallel training on an existing engine: torchrun (digits) and TensorFlow's
MultiWorkerMirroredStrategy (tumor).

Nothing here launches processes. The engine does (``torchrun`` locally or Kubeflow Trainer's
torch runtime on a cluster; N processes with ``TF_CONFIG``), and a worker learns its place only
from what the engine sets, read once at the command line's edge into a :class:`World`.
"""

from __future__ import annotations

from latte_models.distributed.checkpoints import (
    CheckpointMeta,
    CheckpointStore,
    LocalCheckpoints,
    S3Checkpoints,
    open_checkpoints,
)
from latte_models.distributed.world import Run, World, plan_steps, rank_rows, world_from_env

__all__ = [
    "CheckpointMeta",
    "CheckpointStore",
    "LocalCheckpoints",
    "Run",
    "S3Checkpoints",
    "World",
    "open_checkpoints",
    "plan_steps",
    "rank_rows",
    "world_from_env",
]
