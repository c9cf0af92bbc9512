"""Real servers on 127.0.0.1 for integration tests, started and stopped by fixtures.

Registered as a pytest plugin by ``platform/tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from latte_contracts.ports import free_port  # noqa: F401  (re-exported: tests import it here)


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
