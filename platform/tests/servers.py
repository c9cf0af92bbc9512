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


class PostgresServer:
    """A throwaway PostgreSQL on 127.0.0.1 that a test may also crash and start again.

    initdb/pg_ctl refuse to run as root: as root they run through ``runuser -u postgres`` on a
    folder owned by postgres (ARCHITECTURE.md). Durability is switched off: it is a test server.
    """

    def __init__(self, bin_dir: Path) -> None:
        # Not below pytest's tmp root: that is mode 700, and the postgres user must enter it.
        self.base = Path(tempfile.mkdtemp(prefix="latte-pg-"))
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self._prefix = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self._bin = bin_dir
        self._data = self.base / "data"
        self._run(
            "initdb",
            "-D",
            str(self._data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start (again, on the same port and data: crash recovery runs after a kill)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.base} -c fsync=off -c full_page_writes=off"
        log = str(self.base / "server.log")
        self._run("pg_ctl", "-D", str(self._data), "-o", options, "-l", log, "-w", "start")

    def kill(self) -> None:
        """Crash the server: immediate shutdown (every backend quits at once, no checkpoint)."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop", check=False)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        command = [*self._prefix, str(self._bin / tool), *args]
        subprocess.run(command, check=check, capture_output=True)


def _start_postgres() -> PostgresServer:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL (initdb/pg_ctl) is not installed; CI installs it")
    return PostgresServer(bin_dir)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL shared by the session; yields ``postgresql://postgres@127.0.0.1:PORT/postgres``."""
    server = _start_postgres()
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture
def postgres_crashable() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, so it can kill and restart it (failover tests)."""
    server = _start_postgres()
    try:
        yield server
    finally:
        server.remove()
