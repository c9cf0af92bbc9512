"""Alembic environment: run programmatically by latte.registry.db with a live connection."""

from __future__ import annotations

from alembic import context

from latte.registry.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
