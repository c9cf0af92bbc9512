"""``latte up <env> --monitoring``: a real Prometheus beside the local stack, with the rules the
env's chart renders into its PrometheusRule (the same groups the cluster evaluates).

It scrapes the gateway and Triton's metrics port, as the chart's ServiceMonitors do, every
second, and evaluates the rules every second (the cluster's interval is the ServiceMonitor's
``monitoring.serviceMonitor.interval``, 30 s by default); its TSDB lives in the run's folder.
That is the local profile, which also divides every rule's ``for:`` by :data:`FOR_DIVISOR` (30
s -> 5 s, 5 min -> 50 s; the chart's own durations hold in the cluster) so a planted fault
pages within seconds while symptoms still wait longer than causes. With an Alertmanager extra
started before it (``stack.services["alertmanager"]``) it sends alerts there, with the external
label ``env`` that grouping and inhibition use.
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

__all__ = [
    "FOR_DIVISOR",
    "add_target",
    "daemon",
    "free_port",
    "local_profile",
    "prometheus",
    "rule_groups",
]

_INTERVAL = "1s"
FOR_DIVISOR = 6
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


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


def local_profile(groups: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``groups`` with every ``for:`` divided by :data:`FOR_DIVISOR` (nothing else changes)."""
    out: list[Mapping[str, Any]] = []
    for group in groups:
        rules = [
            {**rule, "for": f"{round(_seconds(str(rule['for'])) * 1000 / FOR_DIVISOR)}ms"}
            if "for" in rule
            else rule
            for rule in group.get("rules", ())
        ]
        out.append({**group, "rules": rules})
    return out


def _seconds(duration: str) -> float:
    """A Prometheus duration (``1h30m``, ``30s``) in seconds."""
    import re

    parts = re.findall(r"(\d+)(ms|[smhdwy])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise UpError(f"the rendered rules hold a duration Prometheus would refuse: {duration!r}")
    return sum(int(n) * _SECONDS[u] for n, u in parts)


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
    port = free_port()
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    with daemon(stack, "prometheus", argv, f"http://127.0.0.1:{port}", timeout) as process:
        yield process


@contextlib.contextmanager
def daemon(
    stack: Stack, name: str, argv: list[str], url: str, timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (logging to ``<work>/<name>.log``) until its ``/-/ready`` answers, watch it
    as a part of the stack and publish ``url`` as ``stack.services[name]``; stop it on exit."""
    log = (stack.work / f"{name}.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        _wait_ready(name, url, process, timeout, stack.work / f"{name}.log")
        stack.watch[name] = process.poll
        stack.services[name] = url
        yield process
    finally:
        stop_process(process)


def _write_config(folder: Path, stack: Stack, groups: list[Mapping[str, Any]]) -> Path:
    rules = folder / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": local_profile(groups)}, sort_keys=False))
    targets = {
        "gateway": stack.gateway_url.removeprefix("http://"),
        "triton": stack.triton_metrics_url.removeprefix("http://").removesuffix("/metrics"),
    }
    labels = {"namespace": f"latte-{stack.env}"}  # what the ServiceMonitor's targets carry
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": _INTERVAL,
            "evaluation_interval": _INTERVAL,
            "external_labels": {"env": stack.env},
        },
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target], "labels": labels}]}
            for job, target in targets.items()
        ],
    }
    if "alertmanager" in stack.services:
        target = stack.services["alertmanager"].removeprefix("http://")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    # exporters started after Prometheus (e.g. `latte anomalies serve`): see add_target
    (folder / "targets").mkdir(exist_ok=True)
    config["scrape_configs"].append(
        {"job_name": "extra", "file_sd_configs": [
            {"files": [str(folder / "targets" / "*.json")], "refresh_interval": _INTERVAL}]}
    )  # fmt: skip
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def add_target(stack: Stack, job: str, url: str) -> None:
    """Have the running Prometheus scrape ``url`` (host:port/metrics) as job ``job``, with the
    ServiceMonitor's namespace label; it reads the target within a second."""
    import json

    folder = stack.work / "prometheus" / "targets"
    folder.mkdir(parents=True, exist_ok=True)
    labels = {"job": job, "namespace": f"latte-{stack.env}"}
    entry = [{"targets": [url.removeprefix("http://")], "labels": labels}]
    temporary = folder / f".{job}.tmp"
    temporary.write_text(json.dumps(entry))
    temporary.replace(folder / f"{job}.json")  # Prometheus never reads half a file


def _wait_ready(
    name: str, url: str, process: subprocess.Popen[bytes], timeout: float, log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise UpError(f"{name} exited with {process.returncode}: {' '.join(tail)}")
        with contextlib.suppress(OSError):
            host, _, port = url.removeprefix("http://").partition(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=1.0)
            connection.request("GET", "/-/ready")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.2)
    raise UpError(f"{name} was not ready within {timeout:.0f}s; read {log}")


def free_port() -> int:
    from latte_contracts.ports import free_port

    return free_port()
