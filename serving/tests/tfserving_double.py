"""A TF Serving REST double: a real HTTP server on 127.0.0.1 with TF Serving's documented routes.

No registry this machine reaches ships ``tensorflow_model_server``, so the gateway's
translation is tested against this protocol-level stand-in: ``GET /v1/models/M[/versions/V]``
(model status), ``.../metadata`` (the ``serving_default`` signature_def, int64 sizes as JSON
strings), ``POST .../M[/versions/V]:predict`` (row ``instances`` or columnar ``inputs``;
a one-output signature answers without the output's name, as TF Serving does) and TF
Serving's ``{"error": ...}`` bodies. The numbers come from ``predict`` callables: numpy in
serving's tests, the real SavedModel run by TensorFlow in the models package's.

Imported by the models package's tests too (they put this folder on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

Arrays = dict[str, np.ndarray]
# tensor name -> (TF dtype enum name, shape with -1 for any size)
Signature = dict[str, tuple[str, list[int]]]

NUMPY_TYPES = {
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_BOOL": np.bool_,
}
_ROUTE = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?(/metadata|:predict)?")


@dataclasses.dataclass
class ServedModel:
    """One SavedModel version as TF Serving would load it."""

    inputs: Signature
    outputs: Signature
    predict: Callable[[Arrays], Arrays]
    state: str = "AVAILABLE"
    # extra signatures beside serving_default (or instead of it, with default=False)
    has_default: bool = True


class TfServingDouble:
    """``models[name][version]`` served over REST; ``override`` replaces predict answers.

    ``override(name, version, body)`` may return ``(status, body bytes)`` to answer instead
    of the model (bad bodies, error bodies); ``predicts`` counts the predict calls served.
    """

    def __init__(self, models: Mapping[str, Mapping[int, ServedModel]], port: int = 0) -> None:
        self.models = {name: dict(versions) for name, versions in models.items()}
        self.override: Callable[[str, int, bytes], tuple[int, bytes] | None] | None = None
        self.predicts = 0
        self.connections: set[socket.socket] = set()  # open keep-alive connections
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> TfServingDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop listening and drop kept-alive connections: as a TF Serving that went away."""
        self._server.shutdown()
        self._server.server_close()
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    # the routes, each returning (status, JSON-able body)
    def status(self, name: str, version: int | None) -> tuple[int, Any]:
        versions = self.models.get(name)
        if not versions:
            return 404, {"error": f"Could not find any versions of model {name}"}
        if version is not None and version not in versions:
            return 404, {"error": f"Could not find version {version} of model {name}"}
        chosen = [version] if version is not None else sorted(versions)
        entries = [
            {
                "version": str(v),
                "state": versions[v].state,
                "status": {"error_code": "OK", "error_message": ""},
            }
            for v in chosen
        ]
        return 200, {"model_version_status": entries}

    def metadata(self, name: str, version: int | None) -> tuple[int, Any]:
        found = self._find(name, version)
        if found is None:
            return 404, {"error": f"Servable not found for request: Specific({name}, {version})"}
        number, model = found
        signatures: dict[str, Any] = {
            "__saved_model_init_op": {
                "inputs": {},
                "outputs": {"__saved_model_init_op": _tensor_info("NoOp", "DT_INVALID", None)},
                "method_name": "",
            }
        }
        if model.has_default:
            signatures["serving_default"] = {
                "inputs": {
                    n: _tensor_info(f"serving_default_{n}:0", *t) for n, t in model.inputs.items()
                },
                "outputs": {
                    n: _tensor_info(f"StatefulPartitionedCall:{i}", *t)
                    for i, (n, t) in enumerate(model.outputs.items())
                },
                "method_name": "tensorflow/serving/predict",
            }
        return 200, {
            "model_spec": {"name": name, "signature_name": "", "version": str(number)},
            "metadata": {"signature_def": {"signature_def": signatures}},
        }

    def predict(self, name: str, version: int | None, body: bytes) -> tuple[int, Any]:
        found = self._find(name, version)
        if found is None:
            return 404, {"error": f"Servable not found for request: Specific({name}, {version})"}
        number, model = found
        self.predicts += 1
        if self.override is not None:
            answer = self.override(name, number, body)
            if answer is not None:
                return answer
        try:
            request = json.loads(body)
        except ValueError as exc:
            return 400, {"error": f"JSON Parse error: {exc}"}
        if (
            request.get("signature_name", "serving_default") != "serving_default"
            or not model.has_default
        ):
            return 400, {
                "error": 'Serving signature name: "serving_default" not found in signature def'
            }
        columnar = "inputs" in request
        raw = request.get("inputs", request.get("instances"))
        if raw is None:
            return 400, {"error": "Missing 'inputs' or 'instances' key"}
        if isinstance(raw, list) and raw and all(isinstance(row, dict) for row in raw):
            # row format with named inputs: a list of {name: value} objects, stacked per name
            raw = {n: [row.get(n) for row in raw] for n in model.inputs}
        elif not isinstance(raw, dict):  # a sole input may be given without its name
            raw = {next(iter(model.inputs)): raw} if len(model.inputs) == 1 else {}
        arrays: Arrays = {}
        for tensor, (dtype, shape) in model.inputs.items():
            if tensor not in raw:
                return 400, {"error": f"JSON object: does not have named input: {tensor}"}
            try:
                array = np.asarray(raw[tensor], dtype=NUMPY_TYPES[dtype])
            except (TypeError, ValueError) as exc:
                return 400, {"error": f"Failed to process input {tensor}: {exc}"}
            if array.ndim != len(shape) or any(
                w not in (-1, g) for w, g in zip(shape, array.shape, strict=True)
            ):
                return 400, {
                    "error": f"INVALID_ARGUMENT: input {tensor} has shape {list(array.shape)}, "
                    f"the signature takes {shape}"
                }
            arrays[tensor] = array
        outputs = {k: np.asarray(v).tolist() for k, v in model.predict(arrays).items()}
        if len(outputs) == 1:  # TF Serving leaves out the name of a sole output
            return 200, {"outputs" if columnar else "predictions": next(iter(outputs.values()))}
        return 200, {"outputs": outputs}

    def _find(self, name: str, version: int | None) -> tuple[int, ServedModel] | None:
        versions = self.models.get(name, {})
        available = sorted(v for v, m in versions.items() if m.state == "AVAILABLE")
        number = version if version is not None else (available[-1] if available else None)
        if number is None or number not in available:
            return None
        return number, versions[number]


def _tensor_info(name: str, dtype: str, shape: list[int] | None) -> dict[str, Any]:
    tensor_shape: dict[str, Any] = {"dim": [], "unknown_rank": shape is None}
    for size in shape or []:
        tensor_shape["dim"].append({"size": str(size), "name": ""})
    return {"dtype": dtype, "tensor_shape": tensor_shape, "name": name}


def _handler(double: TfServingDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as TF Serving's REST server
        # headers and body go out in two writes: without TCP_NODELAY each answer would wait
        # for the client's delayed ACK (~40 ms)
        disable_nagle_algorithm = True

        def handle(self) -> None:
            double.connections.add(self.connection)
            try:
                super().handle()
            finally:
                double.connections.discard(self.connection)

        def do_GET(self) -> None:
            match = _ROUTE.fullmatch(self.path)
            if match is None or match.group(3) == ":predict":
                return self._send(404, {"error": f"Malformed request: GET {self.path}"})
            name, version = match.group(1), _int(match.group(2))
            if match.group(3) == "/metadata":
                return self._send(*double.metadata(name, version))
            return self._send(*double.status(name, version))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = _ROUTE.fullmatch(self.path)
            if match is None or match.group(3) != ":predict":
                return self._send(404, {"error": f"Malformed request: POST {self.path}"})
            return self._send(*double.predict(match.group(1), _int(match.group(2)), body))

        def _send(self, status: int, body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read answers, not access logs."""

    return Handler


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None


def main(argv: list[str] | None = None) -> None:
    """``python tfserving_double.py PORT``: tiny v1 (x @ WEIGHTS) until killed, for benchmarks."""
    import sys

    from serving_models import WEIGHTS

    port = int((argv if argv is not None else sys.argv[1:])[0])
    tiny = ServedModel(
        {"INPUT__0": ("DT_FLOAT", [-1, 4])},
        {"OUTPUT__0": ("DT_FLOAT", [-1, 3])},
        lambda x: {"OUTPUT__0": x["INPUT__0"] @ WEIGHTS},
    )
    double = TfServingDouble({"tiny": {1: tiny}}, port=port)
    double._server.serve_forever()


if __name__ == "__main__":
    main()
