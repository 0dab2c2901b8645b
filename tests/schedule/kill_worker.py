"""A delivery worker process for the crash test: sends outbox rows to a local HTTP stand-in
until there is nothing left (or it is killed)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import aiohttp

from bot.delivery import DeliveryWorker, Limits
from handlers.clock import SystemClock
from handlers.config import Config
from handlers.events import Reply
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker


class HttpChannel:
    name = "http"

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session

    async def send(self, address: str, reply: Reply) -> None:
        async with self.session.post(self.url, json={"chat": address, "text": reply.text}) as r:
            r.raise_for_status()


async def main(db_url: str, port: int) -> None:
    cfg = Config(database_url=db_url)
    engine = make_engine(db_url)
    async with aiohttp.ClientSession() as http:
        w = DeliveryWorker(make_sessionmaker(engine), {"http": HttpChannel(f"http://127.0.0.1:{port}/send", http)},
                           Sealer(cfg.keyring), SystemClock(), cfg, limits={"http": Limits(400, 1.0, 400, 1.0)},
                           claim_lease=timedelta(seconds=1))
        idle = 0
        while idle < 20:
            idle = 0 if await w.drain_once() else idle + 1
            await asyncio.sleep(0.02)
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
