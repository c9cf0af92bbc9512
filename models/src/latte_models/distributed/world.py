"""Where a worker stands in a data-parallel run, read from what the engine sets.

torch: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` (torchrun sets them; on a
cluster torchrun builds them from Trainer's ``PET_*`` variables). TensorFlow: ``TF_CONFIG``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from latte_models.errors import ConfigError

__all__ = ["Run", "World", "plan_steps", "rank_rows", "world_from_env"]

_TORCH_KEYS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclasses.dataclass(frozen=True)
class World:
    """One worker's rank among ``size`` and how the workers meet.

    ``rendezvous`` is ``host:port`` of rank 0's store (torch) or the worker list (TF);
    ``tf_config`` is the raw ``TF_CONFIG`` TensorFlow reads itself.
    """

    rank: int
    size: int
    backend: str
    rendezvous: str
    tf_config: str = ""

    @property
    def is_chief(self) -> bool:
        return self.rank == 0


@dataclasses.dataclass(frozen=True)
class Run:
    """How one distributed training run behaves: its world, where checkpoints go, how often,
    and how long a worker waits for the others before giving up."""

    world: World
    checkpoints: Any  # a CheckpointStore, or None for no checkpoints
    checkpoint_every: int
    rendezvous_timeout: float


def world_from_env(framework: str, environ: Mapping[str, str]) -> World:
    """The :class:`World` of this worker for ``framework`` ("pytorch" or "tensorflow")."""
    if framework == "tensorflow":
        return _tf_world(environ)
    missing = [key for key in _TORCH_KEYS if not environ.get(key)]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not set: run this under torchrun (latte train starts it) "
            "or a Kubeflow Trainer torch runtime"
        )
    rank, size = _integer(environ, "RANK"), _integer(environ, "WORLD_SIZE")
    _check_rank(rank, size)
    address = f"{environ['MASTER_ADDR']}:{environ['MASTER_PORT']}"
    return World(rank=rank, size=size, backend="gloo", rendezvous=address)


def _tf_world(environ: Mapping[str, str]) -> World:
    raw = environ.get("TF_CONFIG", "")
    try:
        config = json.loads(raw)
        workers = list(config["cluster"]["worker"])
        index = int(config["task"]["index"])
        kind = str(config["task"]["type"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"TF_CONFIG is missing or malformed ({raw[:80]!r}); it must be JSON with "
            'cluster.worker [host:port, ...] and task {"type": "worker", "index": i}'
        ) from exc
    if kind != "worker":
        raise ConfigError(f"TF_CONFIG task type {kind!r} is not supported; use 'worker'")
    _check_rank(index, len(workers))
    return World(
        rank=index,
        size=len(workers),
        backend="ring",
        rendezvous=",".join(workers),
        tf_config=raw,
    )


def _integer(environ: Mapping[str, str], key: str) -> int:
    try:
        return int(environ[key])
    except ValueError:
        raise ConfigError(f"{key}={environ[key]!r} is not an integer") from None


def _check_rank(rank: int, size: int) -> None:
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"rank {rank} of world size {size} is impossible; check the launcher")


def plan_steps(rows: int, batch_size: int, workers: int) -> int:
    """Optimizer steps per epoch when ``workers`` each take a batch of ``batch_size`` rows per
    step (a global batch of workers x batch_size). Refuses a world the data cannot feed."""
    if workers < 1:
        raise ConfigError(f"--workers {workers}: at least one worker is needed")
    batches = math.ceil(rows / batch_size)
    if workers > batches:
        raise ConfigError(
            f"--workers {workers} is more than the {batches} batches of {batch_size} rows the "
            f"{rows} training rows make; use --workers {batches} or fewer"
        )
    full, rest = divmod(rows, batch_size * workers)
    # a last global batch with fewer rows than workers would leave a worker empty: dropped
    return full + (1 if rest >= workers else 0)


def rank_rows(step: int, rank: int, rows: int, batch_size: int, workers: int) -> tuple[int, int]:
    """[start, stop) in this epoch's shuffled order of the rows worker ``rank`` trains on at
    ``step``: global batch ``step`` split into ``workers`` contiguous, near-equal pieces."""
    begin = step * batch_size * workers
    size = min(batch_size * workers, rows - begin)
    base, extra = divmod(size, workers)
    start = begin + rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)
