"""digits trained data-parallel: DistributedDataParallel on gloo, one process per worker.

Each optimizer step, worker r trains on piece r of global batch s (``rank_rows``), DDP
averages the gradients, and every worker applies the same update. The epoch order is a
permutation seeded by (seed, epoch), so a resumed run replays exactly the steps it missed.
Same world size + same seed -> byte-identical weights; another world size gives other
(equally gated) weights, since the global batch and the number of steps change.
"""

from __future__ import annotations

import datetime
import gc
import io
import time
from collections.abc import Callable

import torch  # type: ignore[import-not-found,unused-ignore]  # absent in the typecheck env
import torch.distributed as dist  # type: ignore[import-not-found,unused-ignore]

from latte_models._common.data import Split
from latte_models.config import ModelConfig
from latte_models.digits._net import PIXEL_MAX, TrainedDigits, network, served
from latte_models.distributed import checkpoints
from latte_models.distributed._common import run_meta
from latte_models.distributed.world import Run, plan_steps, rank_rows
from latte_models.errors import ModelsError

__all__ = ["RendezvousError", "train_ddp"]

Say = Callable[[str], None]


class RendezvousError(ModelsError):
    """A worker could not reach the others in time."""

    exit_code = 5


def train_ddp(split: Split, config: ModelConfig, run: Run, say: Say) -> TrainedDigits | None:
    """Train with DDP; the chief gets the served model back, other workers None."""
    x, y = split.part("train")
    batch = int(config.train["batch_size"])
    steps_per_epoch = plan_steps(len(y), batch, run.world.size)
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    _join(run)
    try:
        body = network(int(config.train["hidden_units"]))
        model = torch.nn.parallel.DistributedDataParallel(body)
        optimizer = torch.optim.Adam(model.parameters(), lr=float(config.train["learning_rate"]))
        start = _resume(run, config, body, optimizer, say)
        features, labels = torch.from_numpy(x / PIXEL_MAX), torch.from_numpy(y)
        total = int(config.train["epochs"]) * steps_per_epoch
        for step in range(start, total):
            epoch, index = divmod(step, steps_per_epoch)
            order = torch.randperm(len(labels), generator=_epoch_generator(config.seed, epoch))
            lo, hi = rank_rows(index, run.world.rank, len(labels), batch, run.world.size)
            rows = order[lo:hi]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(features[rows]), labels[rows])
            loss.backward()  # type: ignore[no-untyped-call,unused-ignore]
            optimizer.step()
            if run.checkpoints is not None and (step + 1) % run.checkpoint_every == 0:
                _checkpoint(run, config, body, optimizer, step + 1, say)
        dist.barrier()
        del model  # the DDP reducer must not hold the last reference to the process group
    finally:
        _leave()
    return TrainedDigits(served(body), config) if run.world.is_chief else None


def _leave() -> None:
    """Destroy the process group without the deadlock seen here: gloo's worker thread takes
    the GIL to release the last work item's Python state while ~ProcessGroupGloo, run with the
    GIL held, joins that thread. Collect the DDP reducer and let the worker thread finish
    (sleep releases the GIL) before the group goes."""
    gc.collect()
    time.sleep(0.2)
    dist.destroy_process_group()
    gc.collect()


def _join(run: Run) -> None:
    """Meet the other workers at rank 0's store, waiting at most the rendezvous timeout."""
    host, _, port = run.world.rendezvous.rpartition(":")
    timeout = datetime.timedelta(seconds=run.rendezvous_timeout)
    try:
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://{host}:{port}",
            rank=run.world.rank,
            world_size=run.world.size,
            timeout=timeout,
        )
        dist.barrier()
    except (RuntimeError, ValueError) as exc:  # torch raises DistStoreError (a RuntimeError)
        raise RendezvousError(
            f"worker {run.world.rank} of {run.world.size} could not reach the rendezvous at "
            f"{run.world.rendezvous} within {run.rendezvous_timeout:g} s "
            f"({type(exc).__name__}); check that every worker started and MASTER_ADDR/PORT"
        ) from exc


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1000 + epoch)


def _resume(
    run: Run, config: ModelConfig, body: torch.nn.Module, optimizer: torch.optim.Optimizer,
    say: Say,
) -> int:  # fmt: skip
    """Load the newest checkpoint (the chief reads it and broadcasts it); the step to start at."""
    if run.checkpoints is None:
        return 0
    found: list[object] = [None]
    if run.world.is_chief:
        found[0] = _read_latest(run, config)
    dist.broadcast_object_list(found, src=0)
    if isinstance(found[0], BaseException):
        raise found[0]
    if found[0] is None:
        return 0
    assert isinstance(found[0], tuple)
    step, payload = int(found[0][0]), bytes(found[0][1])
    state = torch.load(io.BytesIO(payload), weights_only=True)
    body.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    say(f"[{config.name}] worker {run.world.rank}: resumed from step {step}")
    return step


def _read_latest(run: Run, config: ModelConfig) -> object:
    """(step, payload), None, or the refusal, so every worker fails the same way."""
    try:
        found = checkpoints.load_latest(run.checkpoints, run_meta(config, run.world.size))
    except checkpoints.CheckpointError as exc:
        return exc
    return None if found is None else (found[0].step, found[1])


def _checkpoint(
    run: Run, config: ModelConfig, body: torch.nn.Module, optimizer: torch.optim.Optimizer,
    step: int, say: Say,
) -> None:  # fmt: skip
    if not run.world.is_chief:
        return
    began = time.perf_counter()
    buffer = io.BytesIO()
    torch.save({"model": body.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    where = checkpoints.save(
        run.checkpoints, run_meta(config, run.world.size, step), buffer.getvalue()
    )
    say(f"[{config.name}] checkpoint step {step} -> {where} ({time.perf_counter() - began:.3f} s)")
