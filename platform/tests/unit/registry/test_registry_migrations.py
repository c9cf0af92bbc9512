"""The Alembic chain: an older schema with data upgrades in place; downgrade undoes it all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from latte.registry.db import alembic_config, make_engine, migrate
from latte.registry.schema import models, versions


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(sa.make_url(f"sqlite:///{tmp_path}/registry.db"))
    yield engine
    engine.dispose()


def _revision(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()


def test_a_version_one_database_with_data_upgrades_to_head(engine):
    migrate(engine, "0001")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(models.insert().values(id=1, name="m", last_version=1, created_at=now))
        connection.execute(
            versions.insert().values(
                model_id=1, version=1, digest="sha256:" + "a" * 64, created_at=now, created_by="t"
            )
        )
    migrate(engine)
    assert _revision(engine) == "0002"
    with pytest.raises(sa.exc.DBAPIError, match="immutable"), engine.begin() as connection:
        connection.execute(sa.text("UPDATE versions SET version = 2"))
    migrate(engine)  # already at head: nothing to do
    assert _revision(engine) == "0002"


def test_downgrade_removes_every_table(engine):
    migrate(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
