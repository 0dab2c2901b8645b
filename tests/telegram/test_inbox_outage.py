"""PostgreSQL unreachable for a while: every message gets an answer or is processed when the
database is back. The connection path is cut with a TCP proxy this test controls (the machine's
PostgreSQL keeps running); Telegram's webhook (with the inbox) and polling (direct) are both fed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.telegram.webhook import SECRET_HEADER
from handlers.app import make_deps, make_dispatcher
from handlers.clock import ManualClock
from handlers.deps import Deps
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from tests.conftest import backend, make_config
from tests.telegram.conftest import WEBHOOK_PATH, WEBHOOK_SECRET, Running, _run
from tests.telegram.standin import BotAPIStandIn, message

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="cuts the TCP path to PostgreSQL")
TRY_AGAIN = "请一分钟后重新发送"


class Proxy:
    """Forwards 127.0.0.1:port to the database server; ``cut()`` drops every connection and refuses
    new ones until ``restore()``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.up = True
        self.links: set[asyncio.StreamWriter] = set()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        if not self.up:  # cut while this link was being made
            writer.close()
            up_writer.close()
            return
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links -= {writer, up_writer}

    def cut(self) -> None:
        self.up = False
        for w in list(self.links):
            w.transport.abort()
        self.links.clear()

    def restore(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def proxied(demo_db_url: str, clock: ManualClock) -> AsyncIterator[tuple[Deps, Proxy]]:
    url = make_url(demo_db_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(via, pool_pre_ping=True)
    cfg = make_config(demo_db_url)
    yield make_deps(cfg, make_sessionmaker(engine), clock, Sealer(cfg.keyring)), proxy
    await proxy.stop()
    with contextlib.suppress(Exception):
        await engine.dispose()


async def post(running: Running, update: dict) -> int:  # type: ignore[type-arg]
    assert running.web is not None
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{running.web.port}{WEBHOOK_PATH}", json=update,
            headers={SECRET_HEADER: WEBHOOK_SECRET}) as r:
        return r.status


async def test_webhook_updates_during_an_outage_are_answered_once_the_database_is_back(
        proxied: tuple[Deps, Proxy], standin: BotAPIStandIn) -> None:
    deps, proxy = proxied
    chats = list(range(8100, 8117))
    async for running in _run(make_dispatcher(deps), standin, "webhook"):
        assert running.service.inbox is not None
        updates = {c: message(c, "/start", message_id=1) | {"update_id": 50_000 + c} for c in chats}
        proxy.cut()
        statuses = {c: await post(running, updates[c]) for c in chats}
        await running.service.inbox.drain()
        # Nothing could be stored: Telegram is told to send each again (any answer but 200 does that).
        assert all(s != 200 for s in statuses.values()), sorted(statuses.items())
        refused = list(statuses)
        assert all(standin.texts_to(c) == [] for c in chats)
        proxy.restore()
        for c in refused:  # Telegram's retry
            assert await post(running, updates[c]) == 200
        await running.service.inbox.drain()
        assert all(len(standin.texts_to(c)) == 1 for c in chats), {c: standin.texts_to(c) for c in chats}


async def test_an_outage_in_the_middle_of_the_work_is_finished_by_the_sweep(
        proxied: tuple[Deps, Proxy], standin: BotAPIStandIn) -> None:
    deps, proxy = proxied
    async for running in _run(make_dispatcher(deps), standin, "webhook"):
        inbox = running.service.inbox
        assert inbox is not None
        standin.hold_method["getFile"] = gate = asyncio.Event()  # stored and answered; the work waits
        fid = standin.add_file(b"%PDF-1.4 x", "documents/x.pdf")
        update = message(8200, None, message_id=3, document={"file_id": fid, "file_unique_id": "u",
                                                             "file_name": "x.pdf", "file_size": 10})
        update["update_id"] = 60_001
        assert await post(running, update) == 200
        await standin.wait_for(lambda: bool(standin.called("getFile")))
        proxy.cut()
        standin.hold_method.pop("getFile")
        gate.set()
        await inbox.drain()  # the dispatcher met the outage: kept, not answered
        assert standin.texts_to(8200) == []
        proxy.restore()
        assert await inbox.replay(stale_only=True) == 1  # the sweep's pass
        assert len(standin.texts_to(8200)) == 1


async def test_polling_messages_during_an_outage_are_told_to_try_again(
        proxied: tuple[Deps, Proxy], standin: BotAPIStandIn) -> None:
    deps, proxy = proxied
    async for running in _run(make_dispatcher(deps), standin, "polling"):
        proxy.cut()
        for c in range(8300, 8317):
            await running.deliver(message(c, "/start", message_id=1))
            texts = standin.texts_to(c)
            assert len(texts) == 1 and TRY_AGAIN in texts[0], texts
        proxy.restore()
        await running.deliver(message(8300, "/start", message_id=2))
        assert TRY_AGAIN not in standin.texts_to(8300)[-1]
