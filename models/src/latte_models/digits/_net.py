"""The PyTorch side of digits: train an MLP, export ONNX and TorchScript.

Imported lazily (by :class:`DigitsFamily.train`) because importing torch takes seconds.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch  # type: ignore[import-not-found,unused-ignore]  # absent in the typecheck env
from numpy.typing import NDArray

from latte_models._common.data import Split
from latte_models._common.family import Extra
from latte_models._common.torchscript import normalize_torchscript
from latte_models._common.triton import render_config
from latte_models.config import ModelConfig

__all__ = ["PIXEL_MAX", "TrainedDigits", "network", "served", "train"]

PIXEL_MAX = 16.0  # load_digits intensities are 0..16
_OPSET = 17


def train(split: Split, config: ModelConfig) -> TrainedDigits:
    """Train deterministically: fixed seed, deterministic kernels, one thread."""
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    body = network(int(config.train["hidden_units"]))
    x, y = split.part("train")
    features = torch.from_numpy(x / PIXEL_MAX)
    labels = torch.from_numpy(y)
    optimizer = torch.optim.Adam(body.parameters(), lr=float(config.train["learning_rate"]))
    order = torch.Generator().manual_seed(config.seed)
    batch = int(config.train["batch_size"])
    for _ in range(int(config.train["epochs"])):
        permutation = torch.randperm(len(labels), generator=order)
        for start in range(0, len(labels), batch):
            rows = permutation[start : start + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(body(features[rows]), labels[rows])
            loss.backward()  # type: ignore[no-untyped-call,unused-ignore]
            optimizer.step()
    return TrainedDigits(served(body), config)


def network(hidden: int) -> torch.nn.Sequential:
    """The trained network (scaled pixels in, logits out)."""
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )


def served(body: torch.nn.Sequential) -> torch.nn.Sequential:
    """The served network takes raw 0..16 pixels and returns probabilities. Dividing the
    first layer's weights by 16 (a power of two, so exact) replaces a scaling step."""
    out = copy.deepcopy(body)
    first = out[0]
    assert isinstance(first, torch.nn.Linear)
    with torch.no_grad():
        first.weight.div_(PIXEL_MAX)
    out.append(torch.nn.Softmax(dim=1))
    return out.eval()


class TrainedDigits:
    """The served network plus the config naming its tensors."""

    def __init__(self, network: torch.nn.Sequential, config: ModelConfig) -> None:
        self.network = network
        self.config = config

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        with torch.no_grad():
            return np.asarray(self.network(torch.from_numpy(x)).numpy(), dtype=np.float32)

    def export_onnx(self, path: Path) -> None:
        # the TorchScript-based exporter: no onnxscript needed, byte-stable output
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                self.network,
                (torch.zeros(1, 64),),
                str(path),
                input_names=[self.config.input_name],
                output_names=[self.config.output_name],
                dynamic_axes={
                    self.config.input_name: {0: "batch"},
                    self.config.output_name: {0: "batch"},
                },
                opset_version=_OPSET,
                dynamo=False,
            )

    def export_extras(self, staging: Path, x_check: NDArray[np.float32]) -> list[Extra]:
        """TorchScript for Triton's libtorch backend, in its own model folder."""
        from latte_models._common.onnx_io import TensorSpec

        name = f"{self.config.name}_torchscript"
        folder = staging / "model-repository" / name
        (folder / "1").mkdir(parents=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(  # type: ignore[no-untyped-call,unused-ignore]
                self.network, torch.zeros(1, 64)
            )
            traced.save(str(folder / "1" / "model.pt"))
        normalize_torchscript(folder / "1" / "model.pt")
        inputs = [TensorSpec("INPUT__0", "TYPE_FP32", (-1, 64))]
        outputs = [TensorSpec("OUTPUT__0", "TYPE_FP32", (-1, 10))]
        text = render_config(name, "pytorch_libtorch", inputs, outputs, self.config.triton)
        (folder / "config.pbtxt").write_text(text, encoding="utf-8")
        loaded = torch.jit.load(  # type: ignore[no-untyped-call,unused-ignore]
            str(folder / "1" / "model.pt")
        )
        with torch.no_grad():
            got = loaded(torch.from_numpy(x_check)).numpy()
        diff = float(np.max(np.abs(got - self.predict(x_check))))
        return [Extra("torchscript", f"model-repository/{name}", diff)]
