"""tumor trained data-parallel: MultiWorkerMirroredStrategy with a custom training loop.

Keras 3's ``model.fit`` under MultiWorkerMirroredStrategy is broken (keras-team/keras#20585),
so each step runs ``strategy.run`` on the worker's piece of the global batch (``rank_rows``),
the loss is scaled by the global batch, and the optimizer all-reduces the gradients. TensorFlow
reads ``TF_CONFIG`` itself. Same world size + same seed -> byte-identical weights; the standard
scaler is fitted on the whole training split on every worker (it is a tiny, exact reduction).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from latte_models._common.data import Split
from latte_models.config import ModelConfig
from latte_models.distributed import checkpoints
from latte_models.distributed._common import run_meta
from latte_models.distributed.world import Run, plan_steps, rank_rows
from latte_models.tumor import MALIGNANT
from latte_models.tumor._net import TrainedTumor, _frameworks, _network, _served

__all__ = ["train_mwms"]

Say = Callable[[str], None]


def train_mwms(split: Split, config: ModelConfig, run: Run, say: Say) -> TrainedTumor | None:
    """Train as one worker; the chief gets the served model back, the others None."""
    tf, keras = _frameworks(config.seed)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING
        )
    )
    x, y = split.part("train")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    features = ((x - mean) / scale).astype(np.float32)
    target = (y == MALIGNANT).astype(np.float32)[:, None]
    batch = int(config.train["batch_size"])
    steps_per_epoch = plan_steps(len(y), batch, run.world.size)
    with strategy.scope():
        model = _network(keras, config, x.shape[1])
        optimizer = keras.optimizers.Adam(float(config.train["learning_rate"]))
        optimizer.build(model.trainable_variables)
    step_fn = _step_function(tf, keras, strategy, model, optimizer)
    start = _resume(run, config, model, optimizer, say)
    total = int(config.train["epochs"]) * steps_per_epoch
    for step in range(start, total):
        epoch, index = divmod(step, steps_per_epoch)
        order = np.random.default_rng([config.seed, epoch]).permutation(len(y))
        lo, hi = rank_rows(index, run.world.rank, len(y), batch, run.world.size)
        global_rows = min(batch * run.world.size, len(y) - index * batch * run.world.size)
        rows = order[lo:hi]
        step_fn(features[rows], target[rows], np.float32(global_rows))
        if run.checkpoints is not None and (step + 1) % run.checkpoint_every == 0:
            _checkpoint(run, config, model, optimizer, step + 1, say)
    if not run.world.is_chief:
        return None
    return TrainedTumor(_served(keras, config, model, mean, scale), config, tf)


def _step_function(tf: Any, keras: Any, strategy: Any, model: Any, optimizer: Any) -> Any:
    spec = (
        tf.TensorSpec([None, model.inputs[0].shape[1]], tf.float32),
        tf.TensorSpec([None, 1], tf.float32),
        tf.TensorSpec([], tf.float32),
    )

    @tf.function(input_signature=spec)  # type: ignore[untyped-decorator,unused-ignore]
    def step(x: Any, y: Any, global_rows: Any) -> Any:
        def replica(x: Any, y: Any) -> Any:
            with tf.GradientTape() as tape:
                losses = keras.losses.binary_crossentropy(y, model(x, training=True))
                loss = tf.reduce_sum(losses) / global_rows
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        return strategy.run(replica, args=(x, y))

    return step


def _resume(run: Run, config: ModelConfig, model: Any, optimizer: Any, say: Say) -> int:
    """Every worker reads the newest checkpoint itself (before its first step, so the chief
    cannot have written a newer one yet)."""
    if run.checkpoints is None:
        return 0
    found = checkpoints.load_latest(run.checkpoints, run_meta(config, run.world.size))
    if found is None:
        return 0
    meta, payload = found
    arrays = np.load(io.BytesIO(payload))
    weights = [arrays[f"w{i}"] for i in range(len(model.get_weights()))]
    model.set_weights(weights)
    for i, variable in enumerate(optimizer.variables):
        variable.assign(arrays[f"o{i}"])
    say(f"[{config.name}] worker {run.world.rank}: resumed from step {meta.step}")
    return meta.step


def _checkpoint(
    run: Run, config: ModelConfig, model: Any, optimizer: Any, step: int, say: Say
) -> None:
    if not run.world.is_chief:
        return
    began = time.perf_counter()
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    where = checkpoints.save(
        run.checkpoints, run_meta(config, run.world.size, step), buffer.getvalue()
    )
    say(f"[{config.name}] checkpoint step {step} -> {where} ({time.perf_counter() - began:.3f} s)")
