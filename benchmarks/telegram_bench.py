"""Cost of the Telegram adapter per update: N private /help messages handled through the whole
webhook path (HTTP in, aiogram, translation, the neutral dispatcher, sendMessage out over HTTP to
the local Bot API stand-in) against the same N events given to the neutral dispatcher directly,
measured in the same run on a fresh SQLite database. Target: adapter path ≤ 2.5× the direct one.

    .venv/bin/python -m benchmarks.telegram_bench [-n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from bot.app import DEMO_ORG
from bot.telegram.service import TelegramService
from bot.web import WebServer
from handlers.app import make_deps, make_dispatcher
from handlers.clock import SystemClock
from handlers.config import Config
from handlers.events import InboundEvent, Sender
from storage import migrate
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.orgfile import import_org, load_org_file
from tests.telegram.standin import BotAPIStandIn, message

TARGET = 2.5
SECRET = "bench-secret"


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(migrate.upgrade, url)
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as s, s.begin():
            await import_org(s, load_org_file(DEMO_ORG))
        cfg = Config(database_url=url)
        deps = make_deps(cfg, make_sessionmaker(engine), SystemClock(), Sealer(cfg.keyring))
        dispatcher = make_dispatcher(deps)

        t0 = time.perf_counter()
        for i in range(n):
            await dispatcher.handle(InboundEvent(channel="bench", sender=Sender(channel="bench", external_id=str(i)),
                                                 text="/help", dedupe_key=f"d{i}"))
        direct = time.perf_counter() - t0

        standin = BotAPIStandIn()
        await standin.start()
        web = WebServer("127.0.0.1", 0)
        service = TelegramService(dispatcher, token=standin.token, api_url=standin.url, mode="webhook", web=web,
                                  webhook_url="https://x/telegram/webhook", webhook_secret=SECRET)
        await web.start()
        await service.start()
        hook = f"http://127.0.0.1:{web.port}/telegram/webhook"
        async with aiohttp.ClientSession() as http:
            t0 = time.perf_counter()
            for i in range(n):
                async with http.post(hook, json={"update_id": 10_000 + i, **message(100_000 + i, "/help")},
                                     headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as resp:
                    assert resp.status == 200
            adapter = time.perf_counter() - t0
        sent = len(standin.called("sendMessage"))
        await service.stop()
        await web.stop()
        await standin.stop()
        await engine.dispose()

    ratio = adapter / direct
    print(f"{n} updates: direct {direct / n * 1000:.2f} ms/update, through Telegram webhook "
          f"{adapter / n * 1000:.2f} ms/update, ratio {ratio:.2f}x (target <= {TARGET}x), "
          f"{sent} messages sent: {'OK' if ratio <= TARGET and sent == n else 'MISSED'}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=300)
    asyncio.run(main(p.parse_args().n))
