"""SQL the registry runs, as small functions over a connection (SQLAlchemy Core)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from latte.registry.schema import aliases, audit, lineage, metrics, models, versions
from latte.registry.values import AuditEntry, ModelVersion, utc

__all__ = [
    "add_audit",
    "ensure_model",
    "insert_version",
    "load_audit",
    "load_versions",
    "model_id",
    "next_version",
    "upsert",
]

_VERSION_COLUMNS = (
    versions.c.id,
    models.c.name,
    versions.c.version,
    versions.c.digest,
    versions.c.created_at,
    versions.c.created_by,
    versions.c.blocked_reason,
)


def upsert(connection: Connection, table: sa.Table) -> Any:
    """A dialect-specific INSERT offering ``on_conflict_do_*`` (PostgreSQL and SQLite)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def ensure_model(connection: Connection, name: str, now: datetime) -> None:
    statement = upsert(connection, models).values(name=name, last_version=0, created_at=now)
    connection.execute(statement.on_conflict_do_nothing(index_elements=["name"]))


def model_id(connection: Connection, name: str) -> int | None:
    found = connection.execute(sa.select(models.c.id).where(models.c.name == name)).scalar()
    return None if found is None else int(found)


def next_version(connection: Connection, name: str) -> tuple[int, int]:
    """Take the model's row lock and the next version number: (model id, version).

    The counter lives in the model row, so concurrent registrations queue on that lock and a
    rolled-back one gives its number back: versions come out distinct and gap-free.
    """
    statement = (
        models.update()
        .where(models.c.name == name)
        .values(last_version=models.c.last_version + 1)
        .returning(models.c.id, models.c.last_version)
    )
    row = connection.execute(statement).one()
    return int(row.id), int(row.last_version)


def insert_version(
    connection: Connection, model: int, version: int, values: Mapping[str, Any]
) -> int:
    statement = versions.insert().values(model_id=model, version=version, **values)
    return int(connection.execute(statement.returning(versions.c.id)).scalar_one())


def lock_version(connection: Connection, name: str, version: int) -> tuple[int, str | None]:
    """Lock one version row for this transaction: (model id, blocked reason or None)."""
    query = (
        sa.select(versions.c.model_id, versions.c.blocked_reason)
        .select_from(versions.join(models, versions.c.model_id == models.c.id))
        .where(models.c.name == name, versions.c.version == version)
        .with_for_update(of=versions)
    )
    model, reason = connection.execute(query).one()
    return int(model), reason


def set_blocked(
    connection: Connection, model: int, version: int, reason: str, now: datetime
) -> None:
    connection.execute(
        versions.update()
        .where(versions.c.model_id == model, versions.c.version == version)
        .values(blocked_reason=reason, blocked_at=now)
    )


def move_alias(
    connection: Connection, model: int, environment: str, alias: str, version: int, now: datetime
) -> int | None:
    """Point an alias at ``version``; returns the version it pointed at before, if any."""
    key = (aliases.c.model_id == model, aliases.c.environment == environment)
    previous = connection.execute(
        sa.select(aliases.c.version).where(*key, aliases.c.alias == alias)
    ).scalar()
    row = {"model_id": model, "environment": environment, "alias": alias}
    statement = upsert(connection, aliases).values(**row, version=version, updated_at=now)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["model_id", "environment", "alias"],
            set_={"version": version, "updated_at": statement.excluded.updated_at},
        )
    )
    return None if previous is None else int(previous)


def insert_details(
    connection: Connection,
    version_id: int,
    metric_map: Mapping[str, float],
    lineage_map: Mapping[str, str],
) -> None:
    if metric_map:
        rows = [{"version_id": version_id, "key": k, "value": v} for k, v in metric_map.items()]
        connection.execute(metrics.insert(), rows)
    if lineage_map:
        rows = [{"version_id": version_id, "key": k, "value": v} for k, v in lineage_map.items()]
        connection.execute(lineage.insert(), rows)


def load_versions(connection: Connection, condition: sa.ColumnElement[bool]) -> list[ModelVersion]:
    """Versions matching ``condition`` (over models/versions), with metrics and lineage.

    Three queries whatever the count (no per-version round trips), ordered by name, version.
    """
    joined = versions.join(models, versions.c.model_id == models.c.id)
    query = sa.select(*_VERSION_COLUMNS).select_from(joined).where(condition)
    rows = connection.execute(query.order_by(models.c.name, versions.c.version)).all()
    if not rows:
        return []
    details = {
        "metrics": _details(connection, metrics, joined, condition),
        "lineage": _details(connection, lineage, joined, condition),
    }
    # Plain tuple unpacking: attribute access on 10,000s of Rows is the listing's hot spot.
    return [
        ModelVersion(
            name=name,
            version=version,
            digest=digest,
            created=utc(created),
            metrics=details["metrics"].get(row_id, {}),
            lineage=details["lineage"].get(row_id, {}),
            blocked_reason=blocked,
            created_by=created_by,
        )
        for row_id, name, version, digest, created, created_by, blocked in rows
    ]


def _details(
    connection: Connection, table: sa.Table, joined: sa.Join, condition: sa.ColumnElement[bool]
) -> dict[int, dict[str, Any]]:
    query = (
        sa.select(table.c.version_id, table.c.key, table.c.value)
        .select_from(table.join(joined, table.c.version_id == versions.c.id))
        .where(condition)
        .order_by(table.c.version_id, table.c.key)
    )
    found: dict[int, dict[str, Any]] = {}
    for version_id, key, value in connection.execute(query).all():
        if version_id in found:
            found[version_id][key] = value
        else:
            found[version_id] = {key: value}
    return found


def add_audit(
    connection: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    model: str,
    version: int | None,
    detail: Mapping[str, Any],
) -> None:
    connection.execute(
        audit.insert().values(
            at=at,
            actor=actor,
            action=action,
            model=model,
            version=version,
            detail=json.dumps(dict(detail), sort_keys=True),
        )
    )


def load_audit(connection: Connection, model: str | None) -> list[AuditEntry]:
    query = sa.select(audit).order_by(audit.c.id)
    if model is not None:
        query = query.where(audit.c.model == model)
    return [
        AuditEntry(
            id=int(row.id),
            at=utc(row.at),
            actor=row.actor,
            action=row.action,
            model=row.model,
            version=row.version,
            detail=json.loads(row.detail),
        )
        for row in connection.execute(query)
    ]


def load_aliases(connection: Connection, name: str | None) -> list[dict[str, Any]]:
    """Alias rows as dicts: model, alias ("env:name" or "name"), version, updated_at."""
    query = sa.select(models.c.name, aliases).select_from(
        aliases.join(models, aliases.c.model_id == models.c.id)
    )
    if name is not None:
        query = query.where(models.c.name == name)
    query = query.order_by(models.c.name, aliases.c.environment, aliases.c.alias)
    return [
        {
            "model": row.name,
            "alias": f"{row.environment}:{row.alias}" if row.environment else row.alias,
            "version": int(row.version),
            "updated_at": utc(row.updated_at),
        }
        for row in connection.execute(query)
    ]
