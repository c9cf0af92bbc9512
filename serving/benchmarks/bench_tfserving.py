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
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from latte_contracts.ports import free_port

_TESTS = Path(__file__).resolve().parents[1] / "tests"
_ROW = np.arange(4, dtype=np.float32) / 4


def _direct_request() -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(
        {"signature_name": "serving_default", "inputs": {"INPUT__0": [_ROW.tolist()]}}
    )
    return "/v1/models/tiny/versions/1:predict", body.encode(), {"Content-Type": "application/json"}


def _gateway_request() -> tuple[str, bytes, dict[str, str]]:
    raw = _ROW.tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT__0",
                    "datatype": "FP32",
                    "shape": [1, 4],
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "outputs": [{"name": "OUTPUT__0", "parameters": {"binary_data": True}}],
        }
    ).encode()
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }
    return "/v2/models/tiny/versions/1/infer", header + raw, headers


def _load(port: int, request: tuple[str, bytes, dict[str, str]], threads: int, seconds: float):
    """(requests, seconds, latencies, failures) of ``threads`` keep-alive clients."""
    path, body, headers = request
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures[index] += 1
            latencies[index].append(time.perf_counter() - started)
        connection.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    began = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    flat = [x for part in latencies for x in part]
    return len(flat), time.monotonic() - began, flat, sum(failures)


def _alternating(
    ports: dict[str, int], threads: int, seconds: float
) -> dict[str, dict[str, float]]:
    """1-second rounds, direct and gateway in turn, so the machine's drifting load hits both."""
    requests = {"direct": _direct_request(), "gateway": _gateway_request()}
    totals = {name: [0, 0.0, [], 0] for name in requests}
    for _ in range(max(1, round(seconds))):
        for name, request in requests.items():
            count, elapsed, latencies, failures = _load(ports[name], request, threads, 1.0)
            total = totals[name]
            total[0] += count
            total[1] += elapsed
            total[2].extend(latencies)
            total[3] += failures
    summary = {}
    for name, (count, elapsed, latencies, failures) in totals.items():
        ordered = sorted(latencies)
        summary[name] = {
            "requests_per_s": count / elapsed,
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
            "failures": failures,
        }
    return summary


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
            ports = {"direct": double_port, "gateway": gateway_port}
            for threads in args.threads:
                _load(gateway_port, _gateway_request(), threads, 1.0)  # warm-up
                result = _alternating(ports, threads, args.seconds)
                rows.append((threads, result["direct"], result["gateway"]))
    print("threads  direct req/s  gateway req/s  ratio  direct p50 ms  gateway p50 ms  failures")
    for threads, direct, through in rows:
        ratio = through["requests_per_s"] / direct["requests_per_s"]
        print(
            f"{threads:7d}  {direct['requests_per_s']:12.0f}  {through['requests_per_s']:13.0f}"
            f"  {ratio:5.2f}  {direct['p50_ms']:13.2f}  {through['p50_ms']:14.2f}"
            f"  {direct['failures'] + through['failures']:8d}"
        )


if __name__ == "__main__":
    main()
