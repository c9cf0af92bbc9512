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
