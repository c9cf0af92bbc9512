"""The metadata database: URL mapping, engine set-up, and programmatic Alembic migrations."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from latte.registry.errors import InvalidInputError, StoreError

if TYPE_CHECKING:
    from latte.config import Settings

__all__ = [
    "RECONNECT",
    "Reconnect",
    "alembic_config",
    "database_url",
    "make_engine",
    "migrate",
    "transaction",
    "translate_db_errors",
]

T = TypeVar("T")

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
    # pre_ping: a pooled connection to a server that restarted (or failed over) is replaced on
    # checkout instead of failing the first statement after it.
    return sa.create_engine(
        url, connect_args={"connect_timeout": 5}, pool_size=10, pool_pre_ping=True
    )


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


@dataclasses.dataclass(frozen=True)
class Reconnect:
    """How the registry rides out a lost PostgreSQL server (a CloudNativePG failover, a restart).

    A transaction that fails because the server went away runs again on a new connection,
    after ``first`` seconds, then twice as long each time up to ``longest`` (with jitter, so
    many writers do not come back in lockstep), for at most ``patience`` seconds after the
    first failure; then it fails with one line. CloudNativePG promotes a replica within
    seconds to tens of seconds, hence the 30 s default. SQLite has no server: never retried.
    """

    patience: float = 30.0
    first: float = 0.05
    longest: float = 2.0

    def waits(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
            delay = min(delay * 2, self.longest)


RECONNECT = Reconnect()  # the default: a registry rides out a failover of up to 30 s


def transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    reconnect: Reconnect,
    *,
    settle: Callable[[], T | None] | None = None,
    idempotent: bool = False,
) -> T:
    """``work`` in one transaction; run again on a new connection if the server went away.

    A failure before COMMIT leaves nothing behind (PostgreSQL aborts the transaction of a
    connection that died, and crash recovery discards uncommitted work), so ``work`` simply
    runs again. A failure *during* COMMIT leaves the outcome unknown: an ``idempotent`` work
    runs again; otherwise ``settle`` reads what the database holds and returns the committed
    result, or ``None`` when nothing was committed (run again); with neither, it fails saying
    so. Every other error, and a server still gone after ``reconnect.patience``, is raised as
    one line (:class:`StoreError` for an unavailable database).
    """
    give_up = time.monotonic() + reconnect.patience
    waits = reconnect.waits()
    while True:
        committing = False
        try:
            with engine.connect() as connection, connection.begin():
                result = work(connection)
                committing = True
            return result
        except DBAPIError as exc:
            lost = server_lost(engine, exc)
            if not lost or time.monotonic() >= give_up:
                with translate_db_errors(engine, retried=lost):
                    raise
        if committing and not idempotent:
            if settle is None:
                raise StoreError(_unknown_outcome(engine))
            settled = settle()
            if settled is not None:
                return settled
        time.sleep(next(waits))


def server_lost(engine: Engine, exc: DBAPIError) -> bool:
    """Whether ``exc`` means the PostgreSQL server went away (worth a new connection), not
    that the statement, the credentials or the database name are wrong."""
    if engine.dialect.name != "postgresql":
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    state: str | None = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        # 08: connection exception; 57P0x: the server is shutting down, crashed or is still
        # starting; 25006: a read-only transaction (a demoted primary after a failover).
        return state.startswith(("08", "57P0")) or state == "25006"
    # No SQLSTATE: libpq failed to connect or lost the connection. A server that answered
    # FATAL refused us for good (password, database name) unless it is starting or stopping.
    message = str(exc.orig)
    return "FATAL:" not in message or "the database system is" in message


def _unknown_outcome(engine: Engine) -> str:
    where = engine.url.render_as_string(hide_password=True)
    return (
        f"registry database {where} went away while committing: the change may or may not have "
        "been applied; check with 'latte registry audit' before repeating it"
    )


@contextmanager
def translate_db_errors(engine: Engine, *, retried: bool = False) -> Iterator[None]:
    """Turn driver-level failures (unreachable server, bad credentials) into one clear line."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        after = " (still, after reconnecting with backoff)" if retried else ""
        raise StoreError(
            f"registry database {where} is unavailable{after}: {reason}; check registry_url / "
            "LATTE_REGISTRY_URL, that the server runs and the credentials are right"
        ) from exc
