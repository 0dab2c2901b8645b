"""Fixtures. The database comes from ``LIANZU_TEST_DATABASE_URL`` (a PostgreSQL URL whose
database name is used as a prefix for throwaway databases) or, unset, SQLite files.

Each test gets a fresh, migrated database copied from a template built once per run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import DEMO_ORG
from bot.channels.registry import forget_notes, platform_notes
from handlers.app import make_deps, make_dispatcher
from handlers.clock import ManualClock
from handlers.config import Config
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker, sync_url
from storage.orgfile import import_org, load_org_file
from tests.fakes import Chat

PG_URL = os.environ.get("LIANZU_TEST_DATABASE_URL")
TEST_KEYS = "t1:bGlhbnp1LXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes, tests only
TEST_SALT = "test-installation-salt-0123456789"
DROP_THREADS = 8  # concurrent DROP DATABASE on PostgreSQL (see _Templates.release)


def backend() -> str:
    return "postgresql" if PG_URL else "sqlite"


class _Templates:
    """Builds migrated template databases once per run and hands out fresh copies."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.made: dict[str, str] = {}
        self.created: list[str] = []
        self.run_id = uuid.uuid4().hex[:8]
        self._engine: Engine | None = None
        self._maker = ThreadPoolExecutor(1)
        self._next: dict[str, Future[str]] = {}  # kind → its next copy, being made
        self._dropper = ThreadPoolExecutor(1)
        self._released: list[str] = []
        self._dropped: set[str] = set()

    def _admin(self) -> Engine:
        """One pooled engine for the run: a new connection per test would fork a backend each time."""
        if self._engine is None:
            url = make_url(sync_url(PG_URL or "")).set(database="postgres")
            self._engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=DROP_THREADS + 2)
        return self._engine

    def template(self, kind: str) -> str:
        if kind in self.made:
            return self.made[kind]
        if PG_URL:
            name = f"{make_url(PG_URL).database}_{self.run_id}_tpl_{kind}"
            with self._admin().connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                c.execute(text(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite+aiosqlite:///{self.tmp / f'tpl_{kind}.db'}"
        migrate.upgrade(url)
        if kind == "demo":
            asyncio.run(_load_demo(url))
        self.made[kind] = url
        return url

    def _copy(self, tpl_name: str) -> str:
        name = f"{make_url(PG_URL or '').database}_{self.run_id}_{uuid.uuid4().hex[:10]}"
        with self._admin().connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tpl_name}"'))
        self.created.append(name)
        return name

    def fresh(self, kind: str) -> str:
        tpl = self.template(kind)
        if PG_URL:
            # Copying takes PostgreSQL a tenth of a second or more, mostly writing: the next test's
            # copy is made in the background while this test runs.
            tpl_name = make_url(tpl).database or ""
            ready = self._next.pop(kind, None)
            name = ready.result() if ready else self._copy(tpl_name)
            self._next[kind] = self._maker.submit(self._copy, tpl_name)
            return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        path = self.tmp / f"t_{uuid.uuid4().hex[:10]}.db"
        shutil.copyfile(make_url(tpl).database, path)  # type: ignore[arg-type]
        return f"sqlite+aiosqlite:///{path}"

    # PostgreSQL 15 forces a checkpoint for every DROP DATABASE and waits for it: hundreds of drops
    # one after another cost minutes. Concurrent drops share checkpoints, so copies are dropped in
    # batches, in the background while later tests run.

    def _drop(self, names: list[str]) -> None:
        def drop(name: str) -> None:
            with self._admin().connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self._dropped.add(name)

        with ThreadPoolExecutor(DROP_THREADS) as pool:
            list(pool.map(drop, names))

    def release(self, url: str) -> None:
        """The test that had this copy is over."""
        if not PG_URL:
            return
        self._released.append(make_url(url).database or "")
        if len(self._released) >= DROP_THREADS:
            batch, self._released = self._released, []
            self._dropper.submit(self._drop, batch)

    def drop_all(self) -> None:
        self._maker.shutdown(wait=True)  # the copies made ahead are in self.created, dropped too
        self._dropper.shutdown(wait=True)
        if not PG_URL or not self.created:
            return
        templates = {make_url(u).database for u in self.made.values()}
        self._drop([n for n in self.created if n not in templates and n not in self._dropped])
        self._drop([n for n in self.created if n in templates])
        self._admin().dispose()
        self._engine = None


async def _load_demo(url: str) -> None:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s, s.begin():
        await import_org(s, load_org_file(DEMO_ORG))
    await engine.dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    t = _Templates(tmp_path_factory.mktemp("db"))
    yield t
    t.drop_all()


@pytest.fixture
def db_url(templates: _Templates) -> Iterator[str]:
    """A fresh migrated database with no organisation."""
    url = templates.fresh("empty")
    yield url
    templates.release(url)


@pytest.fixture
def demo_db_url(templates: _Templates) -> Iterator[str]:
    """A fresh migrated database with the demo organisation loaded."""
    url = templates.fresh("demo")
    yield url
    templates.release(url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make_config(url: str, **kw: object) -> Config:
    return Config(database_url=url, installation_salt=TEST_SALT, encryption_keys=TEST_KEYS, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def deps(demo_db_url: str, clock: ManualClock) -> AsyncIterator[Deps]:
    """Dependencies on a demo-organisation database."""
    engine = make_engine(demo_db_url)
    cfg = make_config(demo_db_url)
    yield make_deps(cfg, make_sessionmaker(engine), clock, Sealer(cfg.keyring), platform_notes=platform_notes(),
                    forget_notes=forget_notes())
    await engine.dispose()


@pytest.fixture
def dispatcher(deps: Deps) -> Dispatcher:
    return make_dispatcher(deps)


@pytest.fixture
def session_factory(deps: Deps) -> async_sessionmaker[AsyncSession]:
    return deps.sessionmaker


@pytest.fixture
def chat(dispatcher: Dispatcher):  # type: ignore[no-untyped-def]
    """``chat("id")`` → a :class:`tests.fakes.Chat` for that sender on the memory channel."""

    def make(external_id: str = "reporter-1", **kw: object) -> Chat:
        return Chat(dispatcher=dispatcher, external_id=external_id, **kw)  # type: ignore[arg-type]

    return make


async def bind_staff(deps: Deps, login: str, external_id: str, channel: str = "memory") -> None:
    """Bind a chat identity to a demo staff member directly (the /bind flow has its own tests)."""
    from sqlalchemy import select

    from storage.models import ChatIdentity, Staff

    async with deps.sessionmaker() as s, s.begin():
        staff = await s.scalar(select(Staff).where(Staff.login == login))
        assert staff is not None, login
        if await s.scalar(select(ChatIdentity).where(ChatIdentity.channel == channel, ChatIdentity.external_id == external_id)):
            return
        s.add(ChatIdentity(staff_id=staff.id, channel=channel, external_id=external_id, bound_at=deps.clock.now()))


@pytest.fixture
def staff_chat(deps: Deps, dispatcher: Dispatcher):  # type: ignore[no-untyped-def]
    """``await staff_chat("o01-lead")`` → a Chat bound to that demo staff member."""

    async def make(login: str, channel: str = "memory") -> Chat:
        ext = f"staff-{login}"
        await bind_staff(deps, login, ext, channel)
        return Chat(dispatcher=dispatcher, external_id=ext, channel=channel)

    return make
