"""Schema migrations with Alembic, configured in code (no alembic.ini to keep in sync)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import private_sqlite_file, sync_url

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def script_heads() -> set[str]:
    """The head revisions of the migration scripts, read without importing Alembic: Alembic (with
    Mako and Pygments) costs about 10 MiB resident for the whole life of ``lianzu run``, and a
    start on an up-to-date database needs none of it. A head is a revision no other names as its
    ``down_revision``, as Alembic has it."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target, value = ((node.targets[0], node.value) if isinstance(node, ast.Assign) and len(node.targets) == 1
                             else (node.target, node.value) if isinstance(node, ast.AnnAssign) else (None, None))
            if not isinstance(target, ast.Name) or value is None:
                continue
            if target.id == "revision":
                revisions.add(ast.literal_eval(value))
            elif target.id == "down_revision":
                down = ast.literal_eval(value)
                downs.update((down,) if isinstance(down, str) else down or ())
    return revisions - downs


async def at_head(engine: AsyncEngine) -> bool:
    """Whether the database's schema is exactly at the scripts' heads (no Alembic needed)."""
    try:
        async with engine.connect() as conn:
            current = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    except Exception:  # no version table yet (an empty database): Alembic decides
        return False
    return current == script_heads()


def alembic_config(async_url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sync_url(async_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(async_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (synchronous: call it from a thread in async code)."""
    from alembic import command

    private_sqlite_file(async_url)  # often the first to open the file: it must be created private
    command.upgrade(alembic_config(async_url), revision)


def downgrade(async_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(async_url), revision)


def revision(async_url: str, message: str) -> None:
    """Autogenerate a migration from the models (a developer tool)."""
    from alembic import command

    command.revision(alembic_config(async_url), message=message, autogenerate=True)
