"""Outbox delivery rate against Telegram's limits, through the real worker, to a local HTTP
stand-in that enforces them (429 with retry_after when exceeded). Target: ≥ 95 % of the
configured overall limit, 0 throttling errors."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.channels.base import DeliveryError
from bot.delivery import DeliveryWorker, Limits
from handlers.clock import SystemClock
from handlers.config import Config
from handlers.events import Reply
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import ChatIdentity, Outbox, Staff, StaffRole

OVERALL, PER_CHAT = 30, 1  # messages per second


class StandIn:
    """Counts messages and refuses (429) any that exceed the limits in a sliding second."""

    def __init__(self) -> None:
        self.ok = 0
        self.throttled = 0
        self.all: deque[float] = deque()
        self.per: dict[str, deque[float]] = defaultdict(deque)

    async def send(self, request: web.Request) -> web.Response:
        data = await request.json()
        now = time.monotonic()
        for q in (self.all, self.per[data["chat"]]):
            while q and now - q[0] >= 1.0:
                q.popleft()
        if len(self.all) >= OVERALL or len(self.per[data["chat"]]) >= PER_CHAT:
            self.throttled += 1
            return web.json_response({"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, status=429)
        self.all.append(now)
        self.per[data["chat"]].append(now)
        self.ok += 1
        return web.json_response({"ok": True})


class HttpChannel:
    name = "bench"

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session

    async def send(self, address: str, reply: Reply) -> None:
        async with self.session.post(self.url, json={"chat": address, "text": reply.text}) as r:
            if r.status == 429:
                raise DeliveryError("429", retry_after=(await r.json())["parameters"]["retry_after"])
            r.raise_for_status()


async def main(messages: int, chats: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    migrate.upgrade(url)
    cfg = Config(database_url=url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    clock = SystemClock()
    async with sm() as s, s.begin():
        idents = []
        for i in range(chats):
            st = Staff(login=f"b{i}", name=f"b{i}", role_rows=[StaffRole(role="field")])
            s.add(st)
            await s.flush()
            ident = ChatIdentity(staff_id=st.id, channel="bench", external_id=f"chat{i}", bound_at=clock.now())
            s.add(ident)
            idents.append(ident)
        await s.flush()
        for n in range(messages):
            s.add(Outbox(channel="bench", identity_id=idents[n % chats].id, kind="bench", payload={"text": f"m{n}"},
                         next_attempt_at=clock.now(), created_at=clock.now()))
    standin = StandIn()
    app = web.Application()
    app.router.add_post("/send", standin.send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        worker = DeliveryWorker(sm, {"bench": HttpChannel(f"http://127.0.0.1:{port}/send", http)}, Sealer(cfg.keyring),
                                clock, cfg, limits={"bench": Limits(OVERALL, 1.0, PER_CHAT, 1.0)}, poll_seconds=0.05)
        t = time.perf_counter()
        while True:
            await worker.drain_once()
            async with sm() as s:
                left = await s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
            if not left:
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t
    await runner.cleanup()
    await engine.dispose()
    rate = messages / elapsed
    print(f"delivered {messages} messages to {chats} chats in {elapsed:.1f} s: {rate:.1f} msg/s; "
          f"limit {OVERALL} msg/s → {rate / OVERALL:.1%} of the limit (target ≥ 95%); "
          f"throttling errors at the stand-in: {standin.throttled} (target 0)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--chats", type=int, default=60)
    a = ap.parse_args()
    asyncio.run(main(a.messages, a.chats))
