"""A real Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1 with 1 s scrape and rule
intervals and its own TSDB folder, read back through its HTTP API."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from latte_contracts.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "gitops/charts/latte-inference/monitoring/rules"
# the Triton 2.x series the rules and the dashboard read
TRITON_METRICS = frozenset(
    {"nv_inference_request_success", "nv_inference_queue_duration_us",
     "nv_inference_compute_infer_duration_us"}
)  # fmt: skip


class PrometheusProcess:
    def __init__(self, folder: Path, targets: dict[str, str], rule_files: list[Path]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise FileNotFoundError("prometheus")
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = (folder / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

    def __enter__(self) -> PrometheusProcess:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: see {self.log.name}")
            try:
                if self.client.get("/-/ready").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready")

    def __exit__(self, *exc_info: Any) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.client.get("/api/v1/query", params={"query": expr}).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_for(self, expr: str, check=lambda result: bool(result), timeout: float = 60) -> Any:
        """Poll ``expr`` until ``check(result)`` holds; the last result on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if check(result) or time.monotonic() > deadline:
                return result
            time.sleep(0.5)
