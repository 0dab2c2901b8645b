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
from concurrent.futures import ThreadPoolExecutor
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
DROP_THREADS = 8  # concurrent DROP DATABASE at the end of a PostgreSQL run (see _Templates.drop_all)


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

    def _admin(self) -> Engine:
        """One pooled engine for the run: a new connection per test would fork a backend each time."""
        if self._engine is None:
            url = make_url(sync_url(PG_URL or "")).set(database="postgres")
            self._engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=DROP_THREADS)
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

    def fresh(self, kind: str) -> str:
        tpl = self.template(kind)
        if PG_URL:
            tpl_name = make_url(tpl).database
            name = f"{make_url(PG_URL).database}_{self.run_id}_{uuid.uuid4().hex[:10]}"
            with self._admin().connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{tpl_name}"'))
            self.created.append(name)
            return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        path = self.tmp / f"t_{uuid.uuid4().hex[:10]}.db"
        shutil.copyfile(make_url(tpl).database, path)  # type: ignore[arg-type]
        return f"sqlite+aiosqlite:///{path}"

    def drop_all(self) -> None:
        if not PG_URL or not self.created:
            return
        eng = self._admin()

        def drop(name: str) -> None:
            with eng.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        # PostgreSQL 15 forces a checkpoint for every DROP DATABASE, and waits for it: one after
        # another, hundreds of drops cost minutes. Concurrent drops share the checkpoints.
        templates = {make_url(u).database for u in self.made.values()}
        copies = [n for n in self.created if n not in templates]
        with ThreadPoolExecutor(DROP_THREADS) as pool:
            list(pool.map(drop, copies))
            list(pool.map(drop, [n for n in self.created if n in templates]))
        eng.dispose()
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
def db_url(templates: _Templates) -> str:
    """A fresh migrated database with no organisation."""
    return templates.fresh("empty")


@pytest.fixture
def demo_db_url(templates: _Templates) -> str:
    """A fresh migrated database with the demo organisation loaded."""
    return templates.fresh("demo")


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
