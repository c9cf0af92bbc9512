"""The cost of the tfserving translation: requests/s through the gateway vs straight to TF Serving.

Both run in the same process, in alternating 1-second rounds, against the same TF Serving
REST double (a separate process, tests/tfserving_double.py, numpy answers for tiny: batch
1 x 4 FP32): "direct"
posts TF Serving's own predict JSON to it, "gateway" posts the v2 request (binary tensor
extension, as tritonclient sends) to a gateway process mapping tiny to tfserving. The load
generator is plain threads, one keep-alive connection each, bounded by ``--seconds``.

    python serving/benchmarks/bench_tfserving.py [--seconds 5] [--threads 1 4]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from bench_gateway import _measure, binary_body, summarize  # the same load generator

from latte_contracts.ports import free_port

_TESTS = Path(__file__).resolve().parents[1] / "tests"
_ROW = np.arange(4, dtype=np.float32) / 4


def _direct_request() -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(
        {"signature_name": "serving_default", "inputs": {"INPUT__0": [_ROW.tolist()]}}
    )
    return "/v1/models/tiny/versions/1:predict", body.encode(), {"Content-Type": "application/json"}


def _gateway_request() -> tuple[str, bytes, dict[str, str]]:
    body, headers = binary_body("INPUT__0", _ROW.reshape(1, 4))  # as tritonclient sends it
    return "/v2/models/tiny/versions/1/infer", body, headers


def _alternating(urls: dict[str, str], threads: int, seconds: float) -> dict[str, dict[str, float]]:
    """1-second rounds, direct and gateway in turn, so the machine's drifting load hits both."""
    requests = {"direct": _direct_request(), "gateway": _gateway_request()}
    runs: dict[str, list[tuple[list[float], int, float, float]]] = {name: [] for name in requests}
    for _ in range(max(1, round(seconds))):
        for name, (path, body, headers) in requests.items():
            runs[name].append(_measure(urls[name], path, body, headers, threads, 1.0))
    return {name: summarize(found) for name, found in runs.items()}


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
            if answer.status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer in {timeout}s")
        time.sleep(0.2)


@contextlib.contextmanager
def _process(args: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    double_port, gateway_port = free_port(), free_port()
    double = [sys.executable, str(_TESTS / "tfserving_double.py"), str(double_port)]
    with tempfile.TemporaryDirectory() as work, _process(double):
        _wait(f"http://127.0.0.1:{double_port}/v1/models/tiny")
        gateway = [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
                   str(Path(work) / "none"), "--tfserving-url", f"http://127.0.0.1:{double_port}",
                   "--model-runtime", "tiny=tfserving", "--port", str(gateway_port),
                   "--no-monitoring", "--log-level", "warning"]  # fmt: skip
        with _process(gateway):
            _wait(f"http://127.0.0.1:{gateway_port}/v2/health/ready")
            rows = []
            urls = {"direct": f"127.0.0.1:{double_port}", "gateway": f"127.0.0.1:{gateway_port}"}
            for threads in args.threads:
                _alternating(urls, threads, 1.0)  # warm-up
                result = _alternating(urls, threads, args.seconds)
                rows.append((threads, result["direct"], result["gateway"]))
    print("threads  direct req/s  gateway req/s  ratio  direct p50 ms  gateway p50 ms  failures")
    for threads, direct, through in rows:
        ratio = through["throughput_rps"] / direct["throughput_rps"]
        print(
            f"{threads:7d}  {direct['throughput_rps']:12.0f}  {through['throughput_rps']:13.0f}"
            f"  {ratio:5.2f}  {direct['p50_ms']:13.2f}  {through['p50_ms']:14.2f}"
            f"  {direct['errors'] + through['errors']:8.0f}"
        )


if __name__ == "__main__":
    main()
