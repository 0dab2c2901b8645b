"""Engines and sessions."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
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


# Tables whose deleted rows tie a chat to what it typed or when it wrote: rows keyed by a keyed
# hash of the chat (drafts, language choice, throttles), de-duplication keys (a WeCom event's holds
# its sender) and the sealed platform posts of the inbox (chat id and text, which the installation
# keys open). All small: their rows live seconds to hours (language choices and de-duplication
# keys: days).
SCRUBBED_TABLES = ("conversation_states", "inbox", "inbound_seen", "chat_preferences", "receipt_throttles",
                   "bind_throttles")
# Rewritten once an hour only (PostgreSQL): it holds two days of messages, so a rewrite locks every
# inbound update out for a while (about 0.3 s at 20,000 rows), and its rows are deleted in hourly
# batches anyway (their time is the hour). The others are rewritten every minute.
HOURLY_TABLES = ("inbound_seen",)
HOUR = 3600.0
_last_hourly: dict[str, float] = {}  # database URL → when its hourly tables were last rewritten


class ScrubIncomplete(RuntimeError):
    """Deleted rows may still be readable in the files; the next minute tries again."""


async def scrub_deleted(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Make deleted rows unrecoverable from the database files, within a minute.

    SQLite: deleted cells are zeroed (secure_delete) in the pages, but older versions of every
    page stay in the write-ahead log until it is checkpointed: checkpoint and truncate it. A
    reader still inside a transaction keeps frames of the log alive: that is reported
    (``ScrubIncomplete``), and the next run tries again.
    PostgreSQL: dead row versions stay in the tables' pages until a vacuum. A plain VACUUM first
    removes every dead version no transaction *of this database* can still see (it does not count
    its own snapshot, which VACUUM FULL would: a transaction open in another database on the server
    would then keep them); VACUUM FULL then rewrites each (small) table and its indexes and TOAST
    from the live rows alone, so no bytes of a removed version stay in free space either (the
    de-duplication keys once an hour, see ``HOURLY_TABLES``). Its own
    WAL files are outside the application's reach (see docs/reporter.md).
    """
    engine = sessionmaker.kw["bind"]
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "sqlite":
            log_busy, *_frames = (await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
            if log_busy:
                raise ScrubIncomplete("the write-ahead log is in use and was not truncated")
        else:
            await conn.execute(text("SET lock_timeout = '2s'"))
            await conn.execute(text(f"VACUUM {', '.join(SCRUBBED_TABLES)}"))
            url = engine.url.render_as_string(hide_password=True)
            hourly = time.monotonic() - _last_hourly.get(url, -HOUR) >= HOUR
            busy: list[str] = []
            for table in SCRUBBED_TABLES:  # one at a time: a busy table does not spare the others
                if table in HOURLY_TABLES and not hourly:
                    continue
                try:
                    await conn.execute(text(f"VACUUM (FULL) {table}"))
                except DBAPIError:  # the lock was not had within the timeout
                    await conn.rollback()
                    busy.append(table)
            if hourly and not set(busy) & set(HOURLY_TABLES):
                _last_hourly[url] = time.monotonic()
            if busy:
                raise ScrubIncomplete(f"not rewritten, busy: {', '.join(busy)}")
