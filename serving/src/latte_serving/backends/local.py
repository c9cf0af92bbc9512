"""The local backend: ONNX Runtime in process, one session per model version.

Models whose config has ``dynamic_batching`` (and ``max_batch_size`` > 0) go through a
:class:`DynamicBatcher` with the config's max batch size and queue delay; others run one
request at a time in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort

from latte_serving.backends.batcher import Batch, DynamicBatcher
from latte_serving.codec import EncodedResponse, InferRequest
from latte_serving.errors import BackendError, ConfigFileError, InvalidRequestError
from latte_serving.repository import ModelSpec
from latte_serving.tensors import decode_inputs, encode_response

if TYPE_CHECKING:
    from latte_serving.settings import GatewaySettings

__all__ = ["LocalBackend", "onnx_models"]

# What the local backend runs models on; benchmarks record it as the serving device.
EXECUTION_PROVIDERS = ("CPUExecutionProvider",)

logger = logging.getLogger("latte_serving.local")

Arrays = dict[str, np.ndarray[Any, Any]]
BatchObserver = Callable[[str, int, Batch], None]


class LocalBackend:
    """Serve a model repository with ONNX Runtime inside the gateway process."""

    name = "local"

    def __init__(
        self,
        models: Mapping[str, ModelSpec],
        *,
        dynamic_batching: bool = True,
        threads: int = 1,
        on_batch: BatchObserver = lambda model, version, batch: None,
    ) -> None:
        self.models = dict(models)
        self.dynamic_batching = dynamic_batching
        self.threads = threads
        self._on_batch = on_batch
        self._sessions: dict[tuple[str, int], ort.InferenceSession] = {}
        self._batchers: dict[tuple[str, int], DynamicBatcher] = {}

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        models: Mapping[str, ModelSpec],
        on_batch: BatchObserver,
    ) -> LocalBackend:
        return cls(
            models,
            dynamic_batching=settings.local_dynamic_batching,
            threads=settings.local_threads,
            on_batch=on_batch,
        )

    async def start(self) -> None:
        for spec in self.models.values():
            for version in spec.versions:
                session = await asyncio.to_thread(self._load, spec, version)
                self._sessions[spec.name, version] = session
                if self.dynamic_batching and spec.batched and spec.batching is not None:
                    self._batchers[spec.name, version] = self._batcher(spec, version, session)

    async def stop(self) -> None:
        for batcher in self._batchers.values():
            await batcher.stop()
        self._batchers.clear()
        self._sessions.clear()

    async def ready(self, model: str, version: int) -> bool:
        return (model, version) in self._sessions

    async def infer(self, model: str, version: int, request: InferRequest) -> EncodedResponse:
        session = self._sessions.get((model, version))
        if session is None:
            raise BackendError(
                f"model {model} version {version} is not loaded by the local backend",
                reason="not_loaded",
                status_code=503,
            )
        inputs = decode_inputs(self.models[model], request)
        batcher = self._batchers.get((model, version))
        try:
            if batcher is not None:
                outputs = await batcher.submit(inputs)
            else:
                outputs = await asyncio.to_thread(_run, session, inputs)
        except InvalidRequestError:
            raise
        except Exception as exc:
            raise BackendError(
                f"onnxruntime failed on {model} v{version}: {exc}", reason="runtime"
            ) from exc
        return encode_response(model, version, request, outputs)

    def _load(self, spec: ModelSpec, version: int) -> ort.InferenceSession:
        path = spec.model_file(version)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        try:
            return ort.InferenceSession(str(path), options, providers=list(EXECUTION_PROVIDERS))
        except Exception as exc:
            raise ConfigFileError(
                f"onnxruntime cannot load {path}: {exc}; re-export model {spec.name!r}"
            ) from exc

    def _batcher(
        self, spec: ModelSpec, version: int, session: ort.InferenceSession
    ) -> DynamicBatcher:
        assert spec.batching is not None
        batcher = DynamicBatcher(
            lambda inputs: _run(session, inputs),
            max_batch_size=spec.max_batch_size,
            max_queue_delay_s=spec.batching.max_queue_delay_us / 1e6,
            instances=spec.instances,
            on_batch=lambda batch: self._on_batch(spec.name, version, batch),
        )
        batcher.start()
        return batcher


def onnx_models(models: Mapping[str, ModelSpec]) -> dict[str, ModelSpec]:
    """The models ONNX Runtime can serve: every version has a model.onnx.

    The build also exports formats for other Triton backends (TorchScript); those are left
    out with a warning instead of failing the gateway.
    """
    servable = {}
    for name, spec in models.items():
        if spec.versions and all(spec.model_file(v).is_file() for v in spec.versions):
            servable[name] = spec
        else:
            logger.warning("local backend skips %s: a version has no model.onnx", name)
    if not servable:
        raise ConfigFileError(
            f"no model in the repository has a model.onnx for every version "
            f"({', '.join(sorted(models))}); export them to ONNX or use --backend triton"
        )
    return servable


def _run(session: ort.InferenceSession, inputs: Arrays) -> Arrays:
    names = [output.name for output in session.get_outputs()]
    results = session.run(names, inputs)
    return {name: np.asarray(result) for name, result in zip(names, results, strict=True)}
