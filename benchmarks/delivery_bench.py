"""Outbox delivery rate against Telegram's limits, through the real worker, to a local HTTP
stand-in that enforces them in a strict sliding second (429 with retry_after when exceeded).
Each phase starts from a fresh database; phases are repeated and the minimum and median printed.
Target: ≥ 0.95 of the configured overall limit, 0 throttling errors, 0 duplicates, 0 missing."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter, defaultdict, deque
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
        self.received: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
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
            self.kinds["overall" if len(self.all) >= OVERALL else "per chat"] += 1
            return web.json_response({"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, status=429)
        self.all.append(now)
        self.per[data["chat"]].append(now)
        self.ok += 1
        self.received[data["text"]] += 1
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


async def phase(messages: int, chats: int) -> tuple[float, int, int, int]:
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
        await worker.start()  # the service loop, as `lianzu run` runs it
        while standin.ok < messages:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t
        await asyncio.sleep(0.5)  # anything sent twice would arrive now
        await worker.stop()
        async with sm() as s:
            unsent = await s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
    await runner.cleanup()
    await engine.dispose()
    missing = sum(1 for n in range(messages) if not standin.received[f"m{n}"])
    duplicates = sum(k - 1 for k in standin.received.values() if k > 1)
    fraction = messages / elapsed / OVERALL
    print(f"  {messages} messages to {chats} chats in {elapsed:.2f} s: {messages / elapsed:.1f} msg/s = "
          f"{fraction:.3f} of the limit; throttled {standin.throttled} {dict(standin.kinds)}, duplicates {duplicates}, "
          f"missing {missing}, rows not marked sent {unsent}")
    return fraction, standin.throttled, duplicates, missing


async def main(messages: int, chats: int, repeat: int) -> None:
    results = [await phase(messages, chats) for _ in range(repeat)]
    fr = [r[0] for r in results]
    print(f"fraction of the limit ({OVERALL} msg/s overall, {PER_CHAT}/s per chat), {repeat} runs: "
          f"min {min(fr):.3f}, median {statistics.median(fr):.3f} (target ≥ 0.95); "
          f"throttling errors {sum(r[1] for r in results)}, duplicates {sum(r[2] for r in results)}, "
          f"missing {sum(r[3] for r in results)} (target 0 each)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=600)
    ap.add_argument("--chats", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    asyncio.run(main(a.messages, a.chats, a.repeat))
