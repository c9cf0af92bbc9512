"""Real servers on 127.0.0.1 for integration tests, started and stopped by fixtures.

Registered as a pytest plugin by ``platform/tests/conftest.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from latte_contracts.ports import free_port

if TYPE_CHECKING:
    from latte.drill.servers import PostgresServer


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 API server (moto) on 127.0.0.1; yields ``host:port``. Any credentials work."""
    from latte.drill.servers import s3_server

    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_settings_env(s3_endpoint: str) -> dict[str, str]:
    """LATTE_* variables that point latte at the test S3 server."""
    return {
        "LATTE_S3_ENDPOINT": s3_endpoint,
        "LATTE_S3_SECURE": "false",
        "LATTE_S3_ACCESS_KEY": "testing",
        "LATTE_S3_SECRET_KEY": "testing",
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1; yields ``postgresql://postgres@127.0.0.1:PORT/postgres``
    (the drill's launcher: as root through ``runuser -u postgres``, durability off)."""
    from latte.drill.servers import postgres_available, postgres_server

    if not postgres_available():
        pytest.skip("PostgreSQL (initdb/pg_ctl) is not installed; CI installs it")
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_crashable() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, so it can kill and restart it (failover tests)."""
    from latte.drill.servers import PostgresServer, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL (initdb/pg_ctl) is not installed; CI installs it")
    server = PostgresServer()
    try:
        yield server
    finally:
        server.remove()


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
