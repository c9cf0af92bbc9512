"""Registered versions are immutable in the database: digest, number and model never change.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MESSAGE = "a registered version is immutable: register a new one instead"
_SQLITE = (
    "CREATE TRIGGER versions_immutable BEFORE UPDATE OF model_id, version, digest ON versions "
    f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
)
_POSTGRES = [
    "CREATE FUNCTION versions_immutable() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$",
    "CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions FOR EACH ROW "
    "WHEN (OLD.model_id IS DISTINCT FROM NEW.model_id OR OLD.version IS DISTINCT FROM "
    "NEW.version OR OLD.digest IS DISTINCT FROM NEW.digest) "
    "EXECUTE FUNCTION versions_immutable()",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES if postgres else [_SQLITE]:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER versions_immutable ON versions")
        op.execute("DROP FUNCTION versions_immutable()")
    else:
        op.execute("DROP TRIGGER versions_immutable")
