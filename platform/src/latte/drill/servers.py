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

__all__ = ["postgres_available", "postgres_server", "s3_server"]


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


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields ``postgresql://postgres@127.0.0.1:PORT/postgres`` (trust auth, local only)."""
    bin_dir = _postgres_bin()
    # Not below a mode-700 temp root: the postgres user must enter it.
    base = Path(tempfile.mkdtemp(prefix="latte-drill-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
    try:
        subprocess.run(
            [*prefix, *initdb, "--no-sync", "-E", "UTF8"], check=True, capture_output=True
        )
        subprocess.run(
            [*ctl, "-o", options, "-l", str(base / "server.log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise DrillError(f"could not start PostgreSQL: {exc.stderr.decode()[-200:]}") from exc
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


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
