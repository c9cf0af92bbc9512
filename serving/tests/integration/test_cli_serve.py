"""`python -m latte_serving serve --start-triton` as a newcomer runs it (via `latte serve`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from latte_contracts.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

BODY = {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}


def _tritonservers(parent: int) -> set[int]:
    """tritonserver processes started by ``parent`` (other work on the machine may run more)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().split(b"\0")[0]
            with open(f"/proc/{pid}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"tritonserver" in command and ppid == parent:
            found.add(int(pid))
    return found


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if os.path.exists(f"/proc/{pid}")}


def test_serve_starts_triton_answers_and_stops_everything_on_sigterm(model_repository, tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
         str(model_repository), "--port", str(port), "--start-triton"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if client.get("/v2/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
            started = _tritonservers(process.pid)
            assert started, "no tritonserver was started"
            routing = client.get("/admin/routing").json()
            response = client.post("/v2/models/tiny/infer", json=BODY)
        assert routing["backend"] == "triton"
        assert response.status_code == 200
        assert response.json()["model_version"] == "4"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        log.close()
    deadline = time.monotonic() + 20
    while _alive(started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(started)
    assert "started tritonserver" in (tmp_path / "serve.log").read_text()
