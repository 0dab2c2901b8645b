"""Engines and sessions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable only by its owner (or tighten an existing one).
    SQLite gives the -wal, -shm and -journal files the mode of the main file; existing ones are
    tightened here too. Other backends: nothing to do."""
    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:" \
            or u.database.startswith("file:"):
        return
    path = Path(u.database)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)  # the mode applies only when it is created
    os.close(fd)
    for p in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)):
        if p.exists():
            os.chmod(p, 0o600)


def make_engine(url: str, **kw: object) -> AsyncEngine:
    private_sqlite_file(url)
    engine = create_async_engine(url, **kw)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            # Deleted rows are overwritten with zeros, not left in free space for a forensic reader.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_url(async_url: str) -> str:
    """The synchronous twin of an async URL (Alembic, APScheduler's job store)."""
    url = make_url(async_url)
    driver = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg2"}[url.drivername]
    return url.set(drivername=driver).render_as_string(hide_password=False)


def insert_for(session: AsyncSession, model: Any) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_update`` (SQLite and PostgreSQL alike)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(model)


# Tables whose deleted rows link a chat (by keyed hash) to what it typed.
SCRUBBED_TABLES = ("conversation_states",)


async def scrub_deleted(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Make deleted rows unrecoverable from the database files, within a minute.

    SQLite: deleted cells are zeroed (secure_delete) in the pages, but older versions of every
    page stay in the write-ahead log until it is checkpointed: checkpoint and truncate it.
    PostgreSQL: dead row versions stay in the table's pages until a vacuum; VACUUM FULL rewrites
    the (small) table, so neither dead tuples nor their bytes in free space survive. Its own WAL
    files are outside the application's reach (see docs/reporter.md).
    """
    engine = sessionmaker.kw["bind"]
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "sqlite":
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            await conn.execute(text("SET lock_timeout = '2s'"))
            for table in SCRUBBED_TABLES:
                await conn.execute(text(f"VACUUM (FULL) {table}"))
