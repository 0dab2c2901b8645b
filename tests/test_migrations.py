"""The migrated schema is exactly what the models say, on this run's database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import storage.models  # noqa: F401
from storage import migrate
from storage.base import Base
from storage.db import sync_url


def test_migrated_schema_equals_models(db_url: str) -> None:
    engine = create_engine(sync_url(db_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    engine = create_engine(sync_url(db_url))
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(db_url)
    engine = create_engine(sync_url(db_url))
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
