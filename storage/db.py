"""Engines and sessions."""

from __future__ import annotations

import os
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.selectable import TextualSelect

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
POOL_SIZE = 15  # connections an engine holds at most


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


def _run_statement(conn: Any, operation: str, parameters: Any, many: bool) -> tuple[Any, list[Any], int, int, bool]:
    """One statement, start to end, in the connection's own thread."""
    cur = conn._conn.cursor()
    try:
        if many:
            cur.executemany(operation, parameters)
        elif parameters is None:
            cur.execute(operation)
        else:
            cur.execute(operation, parameters)
        if cur.description and not many:
            return cur.description, cur.fetchall(), -1, -1, cur.connection.in_transaction
        return None, [], cur.lastrowid, cur.rowcount, cur.connection.in_transaction
    finally:
        cur.close()


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _run(self, operation: str, parameters: Any, many: bool) -> None:
        adapted = self._adapt_connection
        assert isinstance(adapted, _OneHopConnection)
        try:
            description, rows, lastrowid, rowcount, adapted.in_transaction = self.await_(
                self._connection._execute(_run_statement, self._connection, operation, parameters, many))
        except Exception as error:
            adapted.in_transaction = True  # not known: let the rollback run
            adapted._handle_exception(error)
        self.description, self.lastrowid, self.rowcount = description, lastrowid, rowcount
        self._rows = deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(operation, seq_of_parameters, True)


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite as SQLAlchemy adapts it, but a statement is one hop to the connection's thread
    and back instead of four (cursor, execute, fetchall, close), and a commit or rollback with
    no transaction open (a unit of work that only read, the pool's reset after a commit) is none.
    Each hop wakes the event loop from another thread and hands the GIL over twice."""

    __slots__ = ("in_transaction",)

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.in_transaction = True  # not known until the first statement

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else _OneHopCursor(self)

    def execute(self, *args: Any, **kw: Any) -> Any:
        self.in_transaction = True  # not known: let the rollback run
        return super().execute(*args, **kw)

    def commit(self) -> None:
        if self.in_transaction:
            super().commit()
            self.in_transaction = False

    def rollback(self) -> None:
        if self.in_transaction:
            super().rollback()
            self.in_transaction = False


class _OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self) -> None:
        import aiosqlite

        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        if kw.get("async_fallback") or kw.get("async_creator_fn"):
            return super().connect(*arg, **kw)
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection)


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    private_sqlite_file(url)
    u = make_url(url)
    if u.drivername == "sqlite+aiosqlite" and "module" not in kw:
        kw["module"] = _OneHopDBAPI()
    if "poolclass" not in kw and u.database not in (None, "", ":memory:"):
        # As many connections kept as may be used at once (SQLAlchemy's default keeps 5 of 15):
        # under load the other ten were opened and closed again all the time, each a new
        # connection (on SQLite also a thread and its pragmas) for one statement or two.
        kw.setdefault("pool_size", POOL_SIZE)
        kw.setdefault("max_overflow", 0)
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
            # 32 MiB of page cache a connection, not 2: it only fills as pages are read.
            cur.execute("PRAGMA cache_size=-32768")
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


def insert_on_conflict(table: Table, *, index: tuple[str, ...], update: tuple[str, ...] = (),
                       returning: tuple[str, ...] = ()) -> TextClause | TextualSelect:
    """``INSERT … ON CONFLICT (index) DO NOTHING`` (no ``update``) or ``DO UPDATE SET`` the
    ``update`` columns from the row given, as one cacheable statement with every column of
    ``table`` a typed parameter of its own name. The dialects' own ON CONFLICT inserts
    (``insert_for``) have no cache key, so SQLAlchemy compiles them again at every execution;
    this text is the same SQL on SQLite (3.35+) and PostgreSQL and is compiled once. Build it
    once (at import) and execute it with a dict of every column's value."""
    cols = [c.name for c in table.columns]
    conflict = f"DO UPDATE SET {', '.join(f'{_q(c)} = excluded.{_q(c)}' for c in update)}" if update else "DO NOTHING"
    sql = (f"INSERT INTO {_q(table.name)} ({', '.join(_q(c) for c in cols)}) "
           f"VALUES ({', '.join(':' + c for c in cols)}) ON CONFLICT ({', '.join(_q(c) for c in index)}) {conflict}")
    if returning:
        sql += f" RETURNING {', '.join(_q(c) for c in returning)}"
    stmt = text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in table.columns))
    return stmt.columns(*(table.c[c] for c in returning)) if returning else stmt


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
