"""The TensorFlow/Keras side of tumor: train, export ONNX and a TF Serving SavedModel.

Imported lazily (by :class:`TumorFamily.train`) because importing tensorflow is slow.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from latte_models._common.data import Split
from latte_models._common.family import Extra
from latte_models._common.onnx_io import rename_io
from latte_models.config import ModelConfig
from latte_models.tumor import MALIGNANT
from latte_models.tumor._savedmodel import write_saved_model

__all__ = ["TrainedTumor", "train"]


def train(split: Split, config: ModelConfig) -> TrainedTumor:
    """Seeded, deterministic ops, one thread; every layer is named so that a second build in
    the same process produces the same graph."""
    tf, keras = _frameworks(config.seed)
    x, y = split.part("train")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    model = _network(keras, config, x.shape[1])
    model.compile(
        optimizer=keras.optimizers.Adam(float(config.train["learning_rate"])),
        loss="binary_crossentropy",
    )
    model.fit(
        (x - mean) / scale,
        (y == MALIGNANT).astype(np.float32),  # the output is P(malignant)
        epochs=int(config.train["epochs"]),
        batch_size=int(config.train["batch_size"]),
        shuffle=True,
        verbose=0,
    )
    return TrainedTumor(_served(keras, config, model, mean, scale), config, tf)


def _network(keras: Any, config: ModelConfig, width: int) -> Any:
    inputs = keras.Input(shape=(width,), name=config.input_name)
    hidden = keras.layers.Dense(
        int(config.train["hidden_units"]), activation="relu", name="hidden"
    )(inputs)
    output = keras.layers.Dense(1, activation="sigmoid", name="malignant")(hidden)
    return keras.Model(inputs, output, name=config.name)


def _served(
    keras: Any, config: ModelConfig, trained: Any, mean: NDArray[np.float32],
    scale: NDArray[np.float32],
) -> Any:  # fmt: skip
    """The served model takes the raw measurements: standardisation is folded into the first
    layer (W / scale, b - (mean / scale) W), so the graph holds only weights -- Keras'
    Normalization layer would export its statistics as extra ONNX inputs."""
    served = _network(keras, config, len(mean))
    kernel, bias = trained.get_layer("hidden").get_weights()
    folded_kernel = kernel / scale[:, None]
    folded_bias = bias - (mean / scale) @ kernel
    served.get_layer("hidden").set_weights([folded_kernel, folded_bias])
    served.get_layer("malignant").set_weights(trained.get_layer("malignant").get_weights())
    return served


def _frameworks(seed: int) -> tuple[Any, Any]:
    import keras
    import tensorflow as tf

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    # thread pools can only be sized before TF's runtime starts; later calls raise
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    return tf, keras


class TrainedTumor:
    """The Keras model plus the config naming its tensors."""

    def __init__(self, model: Any, config: ModelConfig, tf: Any) -> None:
        self.model = model
        self.config = config
        self._tf = tf

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(self.model(x, training=False), dtype=np.float32)

    def export_onnx(self, path: Path) -> None:
        """Keras 3's own ONNX export (tf2onnx underneath), then stable tensor names."""
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            self.model.export(str(path), format="onnx", verbose=False)
        import onnx

        produced = onnx.load(str(path)).graph
        rename_io(
            path,
            inputs={produced.input[0].name: self.config.input_name},
            outputs={produced.output[0].name: self.config.output_name},
        )

    def export_extras(self, staging: Path, x_check: NDArray[np.float32]) -> list[Extra]:
        """A SavedModel in TF Serving's layout: tf-serving/<name>/<version>/saved_model.pb."""
        folder = staging / "tf-serving" / self.config.name
        version = folder / "1"
        folder.mkdir(parents=True)
        version.mkdir()
        write_saved_model(
            self._tf, self.model, self.config.input_name, self.config.output_name, version
        )
        served = self._tf.saved_model.load(str(version)).signatures["serving_default"]
        outputs = served(**{self.config.input_name: self._tf.constant(x_check)})
        got = np.asarray(outputs[self.config.output_name])
        diff = float(np.max(np.abs(got - self.predict(x_check))))
        return [Extra("saved_model", f"tf-serving/{self.config.name}", diff)]
