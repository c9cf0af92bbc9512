"""Real servers on 127.0.0.1 for integration tests, started and stopped by fixtures.

Registered as a pytest plugin by ``platform/tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from latte_contracts.ports import free_port  # re-exported: the tests import it from here


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API server (moto) on 127.0.0.1; yields ``host:port``. Any credentials work."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings_env(s3_endpoint: str) -> dict[str, str]:
    """LATTE_* variables that point latte at the test S3 server."""
    return {
        "LATTE_S3_ENDPOINT": s3_endpoint,
        "LATTE_S3_SECURE": "false",
        "LATTE_S3_ACCESS_KEY": "testing",
        "LATTE_S3_SECRET_KEY": "testing",
    }


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1; yields ``postgresql://postgres@127.0.0.1:PORT/postgres``.

    initdb/pg_ctl refuse to run as root: as root they run through ``runuser -u postgres`` on a
    folder owned by postgres (ARCHITECTURE.md). Durability is switched off: it is a test server.
    """
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL (initdb/pg_ctl) is not installed; CI installs it")
    # Not below pytest's tmp root: that is mode 700, and the postgres user must enter it.
    base = Path(tempfile.mkdtemp(prefix="latte-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*ctl, "-o", options, "-l", str(base / "server.log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Any]:
    """Start real Prometheus servers (Debian's binary) on 127.0.0.1 with 1 s scrape and rule
    intervals: ``start(scrape={job: "host:port"}, rule_files=[...], openmetrics=TEXT)``
    returns the base URL. ``openmetrics`` is backfilled into the TSDB first with
    ``promtool tsdb create-blocks-from openmetrics``, so tests have hours of history at once.
    Every server is stopped at teardown."""
    import time

    import httpx
    import yaml

    from latte.up.stack import stop_process

    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if binary is None or promtool is None:
        pytest.skip("prometheus/promtool not installed (Debian 'prometheus'; .ci/run installs it)")
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        scrape: dict[str, str] | None = None,
        rule_files: list[Path] | None = None,
        openmetrics: str | None = None,
        port: int | None = None,
    ) -> str:
        folder = Path(tempfile.mkdtemp(prefix="prometheus-", dir=tmp_path))
        if openmetrics is not None:
            source = folder / "backfill.om"
            source.write_text(openmetrics)
            subprocess.run(
                [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                 str(folder / "tsdb")],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files or ()],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in (scrape or {}).items()
            ],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = port or free_port()
        log = (folder / "prometheus.log").open("wb")
        process = subprocess.Popen(
            [binary, f"--config.file={folder / 'prometheus.yml'}",
             f"--storage.tsdb.path={folder / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(folder / 'prometheus.log').read_text()}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready within 60 s")

    try:
        yield start
    finally:
        for process in processes:
            stop_process(process)


def wait_for_query(
    url: str, expr: str, check: Any = bool, timeout: float = 60
) -> list[dict[str, Any]]:
    """Poll a Prometheus instant query at ``url`` until ``check(result)``; the last result
    on timeout (the caller's assertion then says what was missing)."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
        result: list[dict[str, Any]] = answer["data"]["result"]
        if check(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)
