"""The metadata database: URL mapping, engine set-up, and programmatic Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from latte.registry.errors import InvalidInputError, StoreError

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = [
    "alembic_config",
    "database_url",
    "make_engine",
    "migrate",
    "translate_db_errors",
]

_MIGRATIONS = "latte.registry:migrations"
# Any constant works; it only has to be the same for every latte process migrating this DB.
_MIGRATION_LOCK = 7_300_411
_SQLITE_BUSY_SECONDS = 30


def database_url(settings: Settings) -> sa.URL:
    """The SQLAlchemy URL for ``settings.registry_url``; postgresql:// uses psycopg 3."""
    raw = settings.registry_url
    try:
        url = sa.make_url(raw)
    except ArgumentError as exc:
        raise InvalidInputError(
            f"registry_url {raw!r} is not a database URL; use sqlite:///path/registry.db "
            "or postgresql://user@host:port/db"
        ) from exc
    if url.drivername in {"postgresql", "postgres"}:
        return url.set(drivername="postgresql+psycopg")
    if url.drivername == "sqlite" and url.database and url.database != ":memory:":
        path = settings.path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        return url.set(database=str(path))
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise InvalidInputError(
            f"registry_url {raw!r} names an unsupported database; use sqlite:/// or postgresql://"
        )
    return url


def make_engine(url: sa.URL) -> Engine:
    """An engine; SQLite transactions take the write lock up front so writers queue, not fail."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": _SQLITE_BUSY_SECONDS})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, connect_args={"connect_timeout": 5}, pool_size=10)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (pysqlite's own BEGIN is deferred and late).
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    # WAL: one fsync per commit instead of several, and readers never block the writer.
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (default: the newest shipped here)."""
    from alembic import command  # deferred: only opening a registry needs Alembic

    with translate_db_errors(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several processes may open a fresh database at once; migrate one at a time.
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        command.upgrade(alembic_config(connection), revision)


def alembic_config(connection: Connection) -> Any:
    """An Alembic config for the migrations inside this package, bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = connection
    return config


@contextmanager
def translate_db_errors(engine: Engine) -> Iterator[None]:
    """Turn driver-level failures (unreachable server, bad credentials) into one clear line."""
    try:
        yield
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StoreError(
            f"registry database {where} is unavailable: {reason}; check registry_url / "
            "LATTE_REGISTRY_URL, that the server runs and the credentials are right"
        ) from exc
