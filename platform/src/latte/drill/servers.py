"""Throwaway servers on 127.0.0.1 for a drill that is given none: PostgreSQL and moto's S3.

initdb/pg_ctl refuse to run as root: as root they run through ``runuser -u postgres`` on a
folder owned by postgres (ARCHITECTURE.md). Durability is off: the data is thrown away.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from latte.drill.errors import DrillError
from latte_contracts.ports import free_port

__all__ = ["PostgresServer", "postgres_available", "postgres_server", "s3_server"]


def _find_postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


def postgres_available() -> bool:
    return _find_postgres_bin() is not None


def _postgres_bin() -> Path:
    found = _find_postgres_bin()
    if found is None:
        raise DrillError(
            "latte drill needs PostgreSQL (initdb/pg_ctl) to start a throwaway server; "
            "install it or pass --postgres-url"
        )
    return found


class PostgresServer:
    """A throwaway PostgreSQL on 127.0.0.1 that its owner may also crash and start again
    (same port and data: crash recovery runs on the next start)."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        bin_dir = bin_dir or _postgres_bin()
        # Not below a mode-700 temp root: the postgres user must enter it.
        self.base = Path(tempfile.mkdtemp(prefix="latte-pg-"))
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self._prefix = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self._bin = bin_dir
        self._data = self.base / "data"
        try:
            self._run("initdb", "-D", str(self._data), "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8")  # fmt: skip
            self.start()
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(self.base, ignore_errors=True)
            raise DrillError(f"could not start PostgreSQL: {exc.stderr.decode()[-200:]}") from exc

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server (again, after :meth:`kill`)."""
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


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields ``postgresql://postgres@127.0.0.1:PORT/postgres`` (trust auth, local only)."""
    server = PostgresServer()
    try:
        yield server.url
    finally:
        server.remove()


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 API server in this process; yields ``host:port``. Any credentials work."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise DrillError(
            "latte drill starts moto's S3 server when no --s3-endpoint is given: install "
            "'latte-platform[test]' (moto[server]) or pass --s3-endpoint"
        ) from exc
    # werkzeug logs every request at INFO: thousands of lines would bury the drill's report
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()
