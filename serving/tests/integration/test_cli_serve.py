"""`python -m latte_serving serve --start-triton` as a newcomer runs it (via `latte serve`)."""

from __future__ import annotations

import os
import shutil
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
    """The pids still running (a zombie waiting to be reaped has ended)."""
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.add(pid)
    return alive


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


def _descendants(root: int) -> set[int]:
    """Every live process whose parent chain (or process group) leads to ``root``."""
    found: set[int] = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == root:  # process group = the tritonserver's own pid
            found.add(int(pid))
    return found


def _wait(predicate, seconds: float, process=None) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        assert process is None or process.poll() is None or predicate(), "the gateway exited"
        time.sleep(0.3)


def _status(client: httpx.Client, path: str) -> int:
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0


def test_a_dead_triton_is_restarted_then_the_gateway_exits(model_repository, tmp_path):
    """kill -9 Triton: live goes false, Triton restarts; after the last restart, exit 1."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "LATTE_SERVING_TRITON_MAX_RESTARTS": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
             str(model_repository), "--port", str(port), "--start-triton"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                _wait(lambda: _status(client, "/v2/health/ready") == 200, 120, process)
                first = _tritonservers(process.pid)
                assert len(first) == 1
                (triton,) = first
                group = _descendants(triton)
                assert len(group) > 1  # the server and its python stubs
                os.kill(triton, signal.SIGKILL)
                _wait(lambda: _status(client, "/v2/health/live") == 503, 10, process)
                _wait(lambda: _status(client, "/v2/health/ready") == 200, 120, process)
                _wait(lambda: _status(client, "/v2/health/live") == 200, 10, process)
                _wait(lambda: not _alive(group), 20, process)  # no stub left behind
                (second,) = _tritonservers(process.pid)
                assert second != triton
                group = _descendants(second)
                os.kill(second, signal.SIGKILL)
                assert process.wait(timeout=60) == 1
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    _wait(lambda: not _alive(group), 20)  # the last server's stubs are gone too
    text = log_path.read_text()
    assert "did not come back after 1 restarts" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("config", "routing", "message"),
    [
        ("max_batch_size: 1e999\n", None, "batch size must be a non-negative integer"),
        ("max_batch_size: 8\ninput [ { name: \"INPUT__0\" data_type: TYPE_FP32 dims: [ x ] } ]\n",
         None, "dims must be an integer"),
        (None, "models:\n  tiny: {stable: 1, weights: {1: .nan}}\n", "must be >= 0 and finite"),
        (None, "models:\n  tiny: {stable: 1, canary_timeout_ms: .inf}\n", "canary_timeout_ms"),
        (None, "models:\n  tiny: {stable: 77}\n", "version 77 is not loaded"),
        (None, "models: [\n", "cannot read routing file"),
    ],
    ids=["huge batch size", "dims not numbers", "NaN weight", "inf timeout", "unknown version",
         "not YAML"],
)  # fmt: skip
def test_bad_config_or_routing_refuses_to_start_with_one_line(
    model_repository, tmp_path, config, routing, message
):
    repository = tmp_path / "repository"
    shutil.copytree(model_repository, repository)
    if config is not None:
        path = repository / "tiny" / "config.pbtxt"
        text = path.read_text().replace("max_batch_size: 8\n", config)
        if "input [" in config:  # replace the original input line by the broken one
            text = text.replace(
                'input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]\n', "", 1
            )
        path.write_text(text)
    args = [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
            str(repository), "--backend", "local", "--port", str(free_port())]  # fmt: skip
    if routing is not None:
        (tmp_path / "routing.yaml").write_text(routing)
        args += ["--routing", str(tmp_path / "routing.yaml")]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_a_misconfigured_key_hash_is_never_echoed(model_repository):
    secret = "my-very-secret-api-key-pasted-by-mistake"
    result = subprocess.run(
        [sys.executable, "-m", "latte_serving", "serve", "--model-repository",
         str(model_repository), "--backend", "local", "--api-key-hash", secret],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "is not a sha256 hex digest" in result.stderr
    assert secret[:4] not in result.stderr
