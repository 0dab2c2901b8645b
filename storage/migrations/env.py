"""Alembic environment: runs migrations over a synchronous connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import storage.models  # noqa: F401  (registers every table)
from storage.base import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _migrate(connectable)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        _migrate(connection)


def _include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    # APScheduler owns its job table; it is not part of our schema.
    return not (type_ == "table" and name == "apscheduler_jobs")


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        include_object=_include,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
