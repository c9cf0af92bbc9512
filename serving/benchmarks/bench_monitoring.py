"""What live monitoring costs on the infer path, and how fast feedback is taken in.

1. The same gateway (triton backend, real Triton, tiny classifier, binary tensors) with
   monitoring on and with ``--no-monitoring``, alternated in short rounds at concurrency 1
   and 8: throughput ratio, added p50, gateway CPU per request. "On" decodes each answer,
   counts its class and confidence, resolves the tenant and caches the prediction (every
   request gets a new id, so the cache fills and then evicts, as in production).
2. ``POST /v2/feedback`` throughput: batches of 100 labels, and one label per request.

    python serving/benchmarks/bench_monitoring.py [--seconds 10] [--out build/reports/...]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_gateway import Gateway, binary_body, compare, load, write_models

from latte_serving.triton import TritonProcess, shim_repository

INFER = "/v2/models/tiny/infer"


def feedback_rate(url: str, batch: int, seconds: float) -> dict[str, float]:
    """Labels per second for answers the gateway gave (ids fetched first, then labelled)."""
    host, port = url.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    body, headers = binary_body("INPUT__0", np.ones((1, 4), np.float32))
    ids = []
    for i in range(2000):
        connection.request("POST", INFER, body=body, headers={**headers, "x-request-id": f"b{i}"})
        connection.getresponse().read()
        ids.append(f"b{i}")
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        items = [{"id": ids[(sent + k) % len(ids)], "label": 1} for k in range(batch)]
        payload = json.dumps({"feedback": items} if batch > 1 else items[0]).encode()
        connection.request("POST", "/v2/feedback", body=payload,
                           headers={"content-type": "application/json"})  # fmt: skip
        connection.getresponse().read()  # repeats answer 409 (already labelled): same work
        sent += batch
    elapsed = time.perf_counter() - started
    connection.close()
    return {"labels_per_second": sent / elapsed, "batch": batch}


def run(seconds: float) -> dict[str, object]:
    results: dict[str, object] = {"cpus": os.cpu_count(), "seconds_per_point": seconds}
    body = binary_body("INPUT__0", np.ones((1, 4), np.float32))
    with tempfile.TemporaryDirectory() as work:
        repository, shimmed = Path(work) / "repo", Path(work) / "shim"
        write_models(repository)
        shim_repository(repository, shimmed)
        with (
            TritonProcess(shimmed) as triton,
            Gateway(repository, "--triton-url", triton.http_url) as on,
            Gateway(repository, "--triton-url", triton.http_url, "--no-monitoring") as off,
        ):
            targets = {"monitoring_on": on.url, "monitoring_off": off.url}
            for workers in (1, 8):
                for gateway in (on, off):
                    load(gateway.url, INFER, *body, workers, 1.0)  # warm up
                watch = {"gateway_on": on.process.pid, "gateway_off": off.process.pid}
                measured = compare(targets, INFER, *body, workers, seconds * 2, watch, rounds=10)
                for name, summary in measured.items():
                    results[f"{name}_c{workers}"] = summary
            results["rss_mb"] = {"on": on.rss_mb(), "off": off.rss_mb()}
            for batch in (100, 1):
                results[f"feedback_batch{batch}"] = feedback_rate(on.url, batch, seconds / 2)
    return results


def ratios(r: dict[str, object]) -> dict[str, float]:
    def get(key: str, field: str) -> float:
        return float(r[key][field])  # type: ignore[index]

    out = {}
    for c in (1, 8):
        on, off = f"monitoring_on_c{c}", f"monitoring_off_c{c}"
        out[f"c{c}_throughput_on_over_off"] = get(on, "throughput_rps") / get(off, "throughput_rps")
        out[f"c{c}_p50_added_ms"] = get(on, "p50_ms") - get(off, "p50_ms")
        out[f"c{c}_gateway_cpu_added_us"] = get(on, "gateway_on_cpu_us_per_request") - get(
            off, "gateway_off_cpu_us_per_request"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("build/reports/monitoring-bench.json"))
    args = parser.parse_args()
    results = run(args.seconds)
    results["ratios"] = ratios(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
