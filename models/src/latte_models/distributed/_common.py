"""What both frameworks' distributed loops share: the checkpoint identity of a run."""

from __future__ import annotations

import hashlib
import json

from latte_models.config import ModelConfig
from latte_models.distributed.checkpoints import CheckpointMeta

__all__ = ["run_meta"]


def run_meta(config: ModelConfig, world_size: int, step: int = 0) -> CheckpointMeta:
    """The header a checkpoint of this run carries: model, world size and a digest of what
    shapes the weights (seed, split and hyper-parameters)."""
    shaping = {
        "seed": config.seed,
        "split": [config.validation_fraction, config.test_fraction],
        "train": dict(config.train),
    }
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]
    return CheckpointMeta(model=config.name, world_size=world_size, config_digest=digest, step=step)
