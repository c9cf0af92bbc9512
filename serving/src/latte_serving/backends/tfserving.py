"""The tfserving backend: Open Inference Protocol v2 in, TF Serving's REST predict API out.

TF Serving has no v2 endpoint, so each request is translated: its tensors (JSON ``data`` or
binary) become the columnar ``{"inputs": {name: nested list}}`` body of
``POST /v1/models/M/versions/V:predict`` (signature ``serving_default``), and the answer's
``outputs`` go back as v2 tensors, JSON or binary as the client asked. The tensors' names,
dtypes and shapes come from TF Serving itself (``GET /v1/models/M/versions/V/metadata``), so
nothing but the URL crosses from the release to the gateway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latte_serving._ints import ascii_int, shown
from latte_serving.backends._http import HttpPool, HttpResponse, host_port
from latte_serving.codec import DTYPES, EncodedResponse, InferRequest
from latte_serving.errors import BackendError, BackendRejectedError, ConfigFileError
from latte_serving.repository import ModelSpec, TensorSpec
from latte_serving.tensors import decode_inputs, encode_response

if TYPE_CHECKING:
    from latte_serving.settings import GatewaySettings

__all__ = ["SIGNATURE", "TfServingBackend", "spec_from_metadata"]

SIGNATURE = "serving_default"

# TensorFlow DataType enum names (as TF Serving's JSON spells them) -> v2 datatypes
_TF_TYPES = {
    "DT_BOOL": "BOOL",
    "DT_UINT8": "UINT8",
    "DT_UINT16": "UINT16",
    "DT_UINT32": "UINT32",
    "DT_UINT64": "UINT64",
    "DT_INT8": "INT8",
    "DT_INT16": "INT16",
    "DT_INT32": "INT32",
    "DT_INT64": "INT64",
    "DT_HALF": "FP16",
    "DT_FLOAT": "FP32",
    "DT_DOUBLE": "FP64",
}
# TF Serving has no max batch size: a leading -1 takes any count, and the gateway's element
# bound (max_request_elements) is what limits a request.
_ANY_BATCH = 2**31 - 1
# up to this many input elements (or answer bytes) the JSON work stays on the event loop
_INLINE_ELEMENTS = 64 * 1024
_INLINE_BYTES = 1024 * 1024


class TfServingBackend:
    """Translate v2 requests for ``models`` to one TF Serving's REST API and back."""

    name = "tfserving"
    discovery_hint = (
        "check that TF Serving runs with each model's SavedModel "
        "(--model_config_file or --model_name/--model_base_path)"
    )

    def __init__(
        self,
        url: str,
        models: Iterable[str],
        *,
        expected: Mapping[str, ModelSpec] | None = None,
        max_idle: int = 64,
    ) -> None:
        host, port = host_port(url, "TF Serving", "http://127.0.0.1:8501")
        self.url = f"http://{host}:{port}"
        self.models = tuple(models)
        # the repository's copy of a model, when it has one: the signature must match it
        self.expected = dict(expected or {})
        self.specs: dict[str, ModelSpec] = {}
        self._pool = HttpPool(host, port, max_idle=max_idle)

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        models: Mapping[str, ModelSpec],
        on_batch: Callable[..., Any],
    ) -> TfServingBackend:
        """For the models the settings map to tfserving; TF Serving batches on its own."""
        names = settings.tfserving_models()
        if not settings.tfserving_url:
            raise ConfigFileError(
                f"model(s) {', '.join(names)} run on tfserving (model_runtimes) but no TF "
                "Serving URL is set; set LATTE_SERVING_TFSERVING_URL, e.g. http://127.0.0.1:8501"
            )
        expected = {name: models[name] for name in names if name in models}
        # the gateway bounds each call by its request/canary timeouts
        return cls(settings.tfserving_url, names, expected=expected)

    def expect(self, specs: Mapping[str, ModelSpec]) -> None:
        """Check the signatures against these specs too (e.g. learned from Triton), where the
        repository gave none."""
        for name in self.models:
            if name in specs and name not in self.expected:
                self.expected[name] = specs[name]

    async def start(self) -> None:
        """Connections open on first use; the specs come from :meth:`discover`."""

    async def stop(self) -> None:
        await self._pool.close()

    async def discover(self) -> dict[str, ModelSpec]:
        """Each model's AVAILABLE versions and ``serving_default`` signature, or an error."""
        specs = {name: await self._discover(name) for name in self.models}
        self.specs = specs
        return dict(specs)

    async def _discover(self, model: str) -> ModelSpec:
        status = await self._get(f"/v1/models/{model}")
        if status.status != 200:
            raise BackendError(
                f"TF Serving at {self.url} does not serve model {model!r} "
                f"({status.status}: {_error_text(status.body)})",
                "discover",
            )
        versions = _available(json.loads(status.body))
        if not versions:
            raise BackendError(f"TF Serving has no AVAILABLE version of {model!r} yet", "discover")
        specs = []
        for version in versions:
            response = await self._get(f"/v1/models/{model}/versions/{version}/metadata")
            source = f"TF Serving {self.url} model {model} v{version}"
            if response.status != 200:
                raise BackendError(f"{source}: metadata refused ({response.status})", "discover")
            specs.append(spec_from_metadata(json.loads(response.body), model, versions, source))
        first = specs[0]
        for version, other in zip(versions[1:], specs[1:], strict=True):
            if (other.inputs, other.outputs) != (first.inputs, first.outputs):
                raise ConfigFileError(
                    f"versions {versions[0]} and {version} of {model!r} on TF Serving have "
                    f"different {SIGNATURE} signatures; the gateway checks one per model"
                )
        if model in self.expected:
            _check_expected(first, self.expected[model])
        return first

    async def ready(self, model: str, version: int) -> bool:
        try:
            response = await self._get(f"/v1/models/{model}/versions/{version}")
            return response.status == 200 and version in _available(json.loads(response.body))
        except (BackendError, ValueError):  # unreachable, or an answer that is not JSON
            return False

    async def infer(self, model: str, version: int, request: InferRequest) -> EncodedResponse:
        spec = self.specs.get(model)
        if spec is None:
            raise BackendError(
                f"model {model} was not discovered on TF Serving", "not_loaded", status_code=503
            )
        inputs = decode_inputs(spec, request)
        # JSON of a large tensor takes long enough to stall every other request on the loop
        large = sum(array.size for array in inputs.values()) > _INLINE_ELEMENTS
        body = await asyncio.to_thread(_predict_body, inputs) if large else _predict_body(inputs)
        path = f"/v1/models/{model}/versions/{version}:predict"
        headers = {"Content-Type": "application/json"}
        try:
            response = await self._pool.request("POST", path, body, headers)
        except (OSError, EOFError) as exc:
            raise _unreachable(self.url, exc) from exc
        if large or len(response.body) > _INLINE_BYTES:
            outputs = await asyncio.to_thread(_outputs, response, spec, version)
            return await asyncio.to_thread(encode_response, model, version, request, outputs)
        return encode_response(model, version, request, _outputs(response, spec, version))

    async def _get(self, path: str) -> HttpResponse:
        try:
            return await self._pool.request("GET", path)
        except (OSError, EOFError) as exc:
            raise _unreachable(self.url, exc) from exc


def _predict_body(inputs: Mapping[str, np.ndarray[Any, Any]]) -> bytes:
    """TF Serving's columnar predict request for the ``serving_default`` signature."""
    columns = {name: array.tolist() for name, array in inputs.items()}
    return json.dumps(
        {"signature_name": SIGNATURE, "inputs": columns}, separators=(",", ":")
    ).encode()


def _unreachable(url: str, exc: BaseException) -> BackendError:
    return BackendError(
        f"TF Serving at {url} is unreachable ({exc.__class__.__name__}: {exc}); check "
        "LATTE_SERVING_TFSERVING_URL and that the server runs",
        reason="unavailable",
        status_code=503,
    )


def _available(status: Any) -> tuple[int, ...]:
    """The AVAILABLE versions in a ``GET /v1/models/M`` answer, ascending."""
    entries = status.get("model_version_status") if isinstance(status, dict) else None
    found = set()
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("state") == "AVAILABLE":
            number = ascii_int(str(entry.get("version", "")))
            if number is not None:
                found.add(number)
    return tuple(sorted(found))


def spec_from_metadata(
    metadata: Any, model: str, versions: tuple[int, ...], source: str
) -> ModelSpec:
    """A spec from ``GET /v1/models/M/metadata``: the ``serving_default`` signature's tensors.

    The model batches (``max_batch_size`` > 0) when every tensor's first dimension is -1;
    dims then exclude it, as in a Triton config.
    """
    try:
        signatures = metadata["metadata"]["signature_def"]["signature_def"]
    except (KeyError, TypeError):
        raise ConfigFileError(f"{source}: metadata has no signature_def") from None
    signature = signatures.get(SIGNATURE) if isinstance(signatures, dict) else None
    if not isinstance(signature, dict):
        names = ", ".join(sorted(signatures)) if isinstance(signatures, dict) else "none"
        raise ConfigFileError(
            f"{source}: the SavedModel has no {SIGNATURE!r} signature (it has: {names}); "
            f"export it with signatures={{'{SIGNATURE}': ...}}"
        )
    inputs = _signature_tensors(signature, "inputs", source)
    outputs = _signature_tensors(signature, "outputs", source)
    batched = all(shape and shape[0] == -1 for _, _, shape in (*inputs, *outputs))

    def specs(items: list[tuple[str, str, list[int]]]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(n, t, tuple(s[1:] if batched else s)) for n, t, s in items)

    return ModelSpec(
        name=model,
        path=Path(source),
        versions=versions,
        inputs=specs(inputs),
        outputs=specs(outputs),
        max_batch_size=_ANY_BATCH if batched else 0,
        platform="tensorflow_savedmodel",
        backend="tfserving",
    )


def _signature_tensors(
    signature: Mapping[str, Any], field: str, source: str
) -> list[tuple[str, str, list[int]]]:
    tensors = signature.get(field)
    if not isinstance(tensors, dict) or not tensors:
        raise ConfigFileError(f"{source}: signature {SIGNATURE!r} declares no {field}")
    found = []
    for name, info in sorted(tensors.items()):
        dtype = info.get("dtype") if isinstance(info, dict) else None
        if dtype not in _TF_TYPES:
            raise ConfigFileError(
                f"{source}: tensor {name!r} has dtype {shown(dtype)}; the tfserving backend "
                f"takes {', '.join(_TF_TYPES)}"
            )
        shape = info.get("tensor_shape") or {}
        dims = shape.get("dim") if isinstance(shape, dict) else None
        if not isinstance(dims, list) or shape.get("unknown_rank"):
            raise ConfigFileError(f"{source}: tensor {name!r} has no known rank")
        sizes = [_size(d, name, source) for d in dims]
        found.append((str(name), _TF_TYPES[dtype], sizes))
    return found


def _size(dim: Any, name: str, source: str) -> int:
    # int64 fields are JSON strings in TF Serving's answers (proto3 JSON mapping)
    raw = str(dim.get("size", "")) if isinstance(dim, dict) else ""
    number = -1 if raw == "-1" else ascii_int(raw)
    if number is None:
        raise ConfigFileError(f"{source}: tensor {name!r} has a dimension {shown(dim)}")
    return number


def _check_expected(served: ModelSpec, expected: ModelSpec) -> None:
    """TF Serving's signature must offer what the repository declares, so clients need no
    change when a model moves from Triton to TF Serving."""
    for kind, have, want in (
        ("input", served.inputs, expected.inputs),
        ("output", served.outputs, expected.outputs),
    ):
        by_name = {t.name: t for t in have}
        for tensor in want:
            got = by_name.get(tensor.name)
            if got is None:
                raise ConfigFileError(
                    f"TF Serving's {SIGNATURE} signature of {served.name!r} has no {kind} "
                    f"{tensor.name!r} (it has {', '.join(by_name)}), which "
                    f"its Triton config ({_config_source(expected)}) declares; re-export the "
                    "SavedModel"
                )
            if got.datatype != tensor.datatype:
                raise ConfigFileError(
                    f"TF Serving's {kind} {tensor.name!r} of {served.name!r} is "
                    f"{got.datatype}; its Triton config ({_config_source(expected)}) declares "
                    f"{tensor.datatype}"
                )


def _config_source(spec: ModelSpec) -> str:
    """Where a Triton spec came from: a repository folder's config.pbtxt, or Triton itself."""
    config = spec.path / "config.pbtxt"
    return str(config) if config.is_file() else str(spec.path)


def _outputs(
    response: HttpResponse, spec: ModelSpec, version: int
) -> dict[str, np.ndarray[Any, Any]]:
    where = f"{spec.name} v{version}"
    if response.status != 200:
        message = _error_text(response.body)
        if response.status == 404:  # the version is not loaded: a backend failure, not the client's
            raise BackendError(
                f"TF Serving does not serve {where}: {message}", "not_loaded", status_code=503
            )
        if 400 <= response.status < 500:
            raise BackendRejectedError(
                f"TF Serving rejected the request for {where}: {message}", response.status
            )
        raise BackendError(
            f"TF Serving failed on {where} with {response.status}: {message}",
            reason=f"backend_{response.status}",
        )
    try:
        answer = json.loads(response.body)
    except ValueError:
        raise BackendError(f"TF Serving sent {where} a body that is not JSON", "protocol") from None
    outputs = answer.get("outputs") if isinstance(answer, dict) else None
    if not isinstance(outputs, dict):
        # columnar answers of a one-output signature carry the value without its name
        if outputs is None or len(spec.outputs) != 1:
            raise BackendError(f"TF Serving's answer for {where} has no 'outputs'", "protocol")
        outputs = {spec.outputs[0].name: outputs}
    arrays = {}
    for tensor in spec.outputs:
        arrays[tensor.name] = _array(outputs.get(tensor.name), tensor, spec, where)
    return arrays


def _array(value: Any, tensor: TensorSpec, spec: ModelSpec, where: str) -> np.ndarray[Any, Any]:
    if value is None:
        raise BackendError(
            f"TF Serving's answer for {where} lacks output {tensor.name!r}", "protocol"
        )
    try:
        array = np.asarray(value, dtype=DTYPES[tensor.datatype])
    except (TypeError, ValueError, OverflowError) as exc:
        raise BackendError(
            f"TF Serving's output {tensor.name!r} for {where} is not a {tensor.datatype} "
            f"tensor: {shown(str(exc), 120)}",
            "protocol",
        ) from None
    expected = tensor.shape(spec.batched)
    if array.ndim != len(expected) or any(
        want not in (-1, got) for want, got in zip(expected, array.shape, strict=True)
    ):
        raise BackendError(
            f"TF Serving's output {tensor.name!r} for {where} has shape {list(array.shape)}; "
            f"the signature says {expected}",
            "protocol",
        )
    return array


def _error_text(body: bytes) -> str:
    """TF Serving's ``{"error": ...}`` message (or the start of whatever else it sent)."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = body.decode(errors="replace")
    text = str(answer["error"] if isinstance(answer, dict) and "error" in answer else answer)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"
