"""Schema migrations with Alembic, configured in code (no alembic.ini to keep in sync)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

from storage.db import private_sqlite_file, sync_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(async_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sync_url(async_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(async_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (synchronous: call it from a thread in async code)."""
    private_sqlite_file(async_url)  # often the first to open the file: it must be created private
    command.upgrade(alembic_config(async_url), revision)


def downgrade(async_url: str, revision: str) -> None:
    command.downgrade(alembic_config(async_url), revision)


def revision(async_url: str, message: str) -> None:
    """Autogenerate a migration from the models (a developer tool)."""
    command.revision(alembic_config(async_url), message=message, autogenerate=True)
