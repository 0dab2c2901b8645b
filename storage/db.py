"""Engines and sessions."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
import weakref
from collections import deque
from functools import lru_cache
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


Deferred = list[tuple[str, Any]]


def _run_deferred(cur: Any, deferred: Deferred) -> None:
    for operation, parameters in deferred:
        cur.execute(operation, parameters) if parameters is not None else cur.execute(operation)


def _run_statement(conn: Any, deferred: Deferred, operation: str, parameters: Any,
                   many: bool) -> tuple[Any, list[Any], int, int, bool]:
    """The writes deferred so far, then one statement, start to end, in the connection's own thread."""
    cur = conn._conn.cursor()
    try:
        _run_deferred(cur, deferred)
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


def _run_and_commit(conn: Any, deferred: Deferred) -> None:
    """The writes deferred so far and the commit, in the connection's own thread."""
    cur = conn._conn.cursor()
    try:
        _run_deferred(cur, deferred)
    finally:
        cur.close()
    conn._conn.commit()


# -- writes whose result nobody reads ---------------------------------------------------------
# A statement executed with this option (``deferred(statement)``) is not sent on its own on
# SQLite: it goes with the connection's next statement, or its commit, in the same hop to the
# connection's thread. Every hop inside a write transaction is a turn of the event loop while the
# one writer is held (2–3 ms under load), so a transaction's closing writes (the conversation
# state, the end of an inbox post) cost no hop of their own. Its result is empty (no rows, an
# unknown rowcount); an error it meets is raised by the statement or commit it went with. On
# other databases the option does nothing.
DEFERRED = "lianzu_deferred"


def deferred(statement: Any) -> Any:
    """``statement`` marked to be sent with the next one (see ``DEFERRED``): only for writes whose
    result is not read."""
    return statement.execution_options(**{DEFERRED: True})


_NOTHING = text("SELECT 1")


async def send_deferred(session: AsyncSession) -> None:
    """Send the writes deferred so far now, not with the commit: what would fail at the commit
    fails here (before a reply that must arrive is sent, say). Other databases: nothing to do."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await session.execute(_NOTHING)


# -- SQLite's one writer, taken in turns ---------------------------------------------------
# SQLite lets one connection write at a time. A connection that finds the file locked polls for
# it (busy timeout), sleeping 1, 2, 5, 10 … 100 ms between tries: under load most of a write's
# time was spent asleep while the lock was free (an inbox INSERT waited 20 ms at the median and
# 134 ms at p90 for statements of 1 ms), and the order was whoever woke first. So the writers of
# one process take turns on an asyncio lock per database file instead, in arrival order, from
# their first write to their commit or rollback; the file lock is then free whenever a turn
# starts. Other processes on the same file (a CLI import) still meet the busy timeout.
WRITER_WAIT_SECONDS = 10.0  # then the statement goes on and meets the busy timeout, as before
_WRITES = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*"
                     r"(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|SAVEPOINT|BEGIN|WITH\b.*?\b(?:INSERT|UPDATE|DELETE)|VACUUM)\b",
                     re.IGNORECASE | re.DOTALL)
_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=4096)
def _writes(operation: str) -> bool:
    """Whether a statement may write (or opens a transaction that will): a turn is taken first."""
    return _WRITES.match(operation) is not None


def _turn(path: str | None) -> asyncio.Lock | None:
    """The lock of one database file in this event loop (``None``: a private in-memory database)."""
    if path is None:
        return None
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    lock = turns.get(path)
    if lock is None:
        lock = turns[path] = asyncio.Lock()
    return lock


async def _take(lock: asyncio.Lock) -> bool:
    try:
        async with asyncio.timeout(WRITER_WAIT_SECONDS):
            await lock.acquire()
        return True
    except TimeoutError:
        return False


def _file_of(arg: tuple[Any, ...], kw: dict[str, Any]) -> str | None:
    database = str(arg[0] if arg else kw.get("database", ""))
    if database in ("", ":memory:") or "mode=memory" in database:
        return None
    return os.path.realpath(database.removeprefix("file:").split("?")[0]) if not kw.get("uri") else database


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("deferred",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        super().__init__(adapt_connection)
        self.deferred = False  # set for the next execute (``DEFERRED``)

    def _run(self, operation: str, parameters: Any, many: bool) -> None:
        adapted = self._adapt_connection
        assert isinstance(adapted, _OneHopConnection)
        if self.deferred and not many:
            self.deferred = False
            adapted.deferred.append((operation, parameters))
            self.description, self.lastrowid, self.rowcount = None, -1, -1
            self._rows = deque()
            # SQLAlchemy's async connection insists that an execution awaited something; a
            # finished future is awaited without a turn of the event loop.
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            self.await_(done)
            return
        pending, adapted.deferred = adapted.deferred, []
        if adapted.turn is None and (pending or _writes(operation)):
            adapted.take_turn()
        try:
            description, rows, lastrowid, rowcount, adapted.in_transaction = self.await_(
                self._connection._execute(_run_statement, self._connection, pending, operation, parameters, many))
        except Exception as error:
            adapted.in_transaction = True  # not known: let the rollback run (it ends the turn)
            adapted._handle_exception(error)
        if not adapted.in_transaction:
            adapted.end_turn()  # a statement that committed itself (autocommit, DDL)
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

    __slots__ = ("in_transaction", "path", "turn", "deferred")

    def __init__(self, dbapi: Any, connection: Any, path: str | None = None) -> None:
        super().__init__(dbapi, connection)
        self.in_transaction = True  # not known until the first statement
        self.deferred: Deferred = []  # writes to send with the next statement or the commit
        self.path = path  # the database file: whose writer turns this connection takes
        self.turn: asyncio.Lock | None = None  # held from the first write to commit or rollback

    def take_turn(self) -> None:
        lock = _turn(self.path)
        if lock is not None and self.await_(_take(lock)):
            self.turn = lock

    def end_turn(self) -> None:
        turn, self.turn = self.turn, None
        if turn is not None:
            turn.release()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else _OneHopCursor(self)

    def execute(self, *args: Any, **kw: Any) -> Any:
        self.in_transaction = True  # not known: let the rollback run
        return super().execute(*args, **kw)

    def commit(self) -> None:
        try:
            if self.deferred:
                pending, self.deferred = self.deferred, []
                if self.turn is None:
                    self.take_turn()
                try:
                    self.await_(self._connection._execute(_run_and_commit, self._connection, pending))
                except Exception as error:
                    self.in_transaction = True  # not known: let the rollback run (it ends the turn)
                    self._handle_exception(error)
                self.in_transaction = False
            elif self.in_transaction:
                super().commit()
                self.in_transaction = False
        finally:
            if not self.in_transaction:
                self.end_turn()

    def rollback(self) -> None:
        self.deferred = []  # never sent
        try:
            if self.in_transaction:
                super().rollback()
                self.in_transaction = False
        finally:
            self.end_turn()  # whatever happened, the transaction is over

    def close(self) -> None:
        self.deferred = []
        try:
            super().close()
        finally:
            self.end_turn()

    def terminate(self) -> None:
        try:
            super().terminate()
        finally:
            self.end_turn()


class _OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self) -> None:
        import aiosqlite

        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        if kw.get("async_fallback") or kw.get("async_creator_fn"):
            return super().connect(*arg, **kw)
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection, _file_of(arg, kw))


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
    if engine.dialect.name == "sqlite" and isinstance(kw.get("module"), _OneHopDBAPI):

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _defer(_conn: Any, cursor: Any, _statement: str, _parameters: Any, context: Any, many: bool) -> None:
            if not many and context is not None and context.execution_options.get(DEFERRED) \
                    and isinstance(cursor, _OneHopCursor):
                cursor.deferred = True

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
