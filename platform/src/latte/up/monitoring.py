"""``latte up <env> --monitoring``: a real Prometheus beside the local stack, with the rules
the env's chart renders into its PrometheusRule (the same groups the cluster evaluates).

It scrapes the gateway and Triton's metrics port, as the chart's ServiceMonitors do, every
second, and evaluates the rules every second (the cluster's interval is the ServiceMonitor's
``monitoring.serviceMonitor.interval``, 30 s by default); its TSDB lives in the run's folder.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from latte.gitops.manifests import Manifest
from latte.up.errors import UpError
from latte.up.stack import Extra, Stack, stop_process

__all__ = ["prometheus", "rule_groups"]

_INTERVAL = "1s"


def rule_groups(manifests: Iterable[Manifest]) -> list[Mapping[str, Any]]:
    """The rule groups of the rendered PrometheusRule(s)."""
    groups: list[Mapping[str, Any]] = []
    for manifest in manifests:
        if manifest.kind == "PrometheusRule":
            groups.extend(manifest.doc.get("spec", {}).get("groups", ()))
    if not groups:
        raise UpError(
            "the rendered chart has no PrometheusRule; set monitoring.prometheusRule.enabled"
        )
    return groups


def prometheus(groups: list[Mapping[str, Any]], *, startup_timeout_s: float = 60.0) -> Extra:
    """An ``up`` extra: Prometheus on a free 127.0.0.1 port, stopped with the stack."""

    def start(stack: Stack) -> contextlib.AbstractContextManager[object]:
        return _running(stack, groups, startup_timeout_s)

    return start


@contextlib.contextmanager
def _running(
    stack: Stack, groups: list[Mapping[str, Any]], timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise UpError(
            "--monitoring needs the prometheus binary (Debian: apt-get install prometheus)"
        )
    folder = stack.work / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config = _write_config(folder, stack, groups)
    port = _free_port()
    log = (stack.work / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, timeout, stack.work / "prometheus.log")
        stack.watch["prometheus"] = process.poll
        stack.services["prometheus"] = url
        yield process
    finally:
        stop_process(process)


def _write_config(folder: Path, stack: Stack, groups: list[Mapping[str, Any]]) -> Path:
    rules = folder / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    targets = {
        "gateway": stack.gateway_url.removeprefix("http://"),
        "triton": stack.triton_metrics_url.removeprefix("http://").removesuffix("/metrics"),
    }
    labels = {"namespace": f"latte-{stack.env}"}  # what the ServiceMonitor's targets carry
    config = {
        "global": {"scrape_interval": _INTERVAL, "evaluation_interval": _INTERVAL},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target], "labels": labels}]}
            for job, target in targets.items()
        ],
    }
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise UpError(f"prometheus exited with {process.returncode}: {' '.join(tail)}")
        with contextlib.suppress(OSError):
            host, _, port = url.removeprefix("http://").partition(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=1.0)
            connection.request("GET", "/-/ready")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise UpError(f"prometheus was not ready within {timeout:.0f}s; read {log}")


def _free_port() -> int:
    from latte_contracts.ports import free_port

    return free_port()
