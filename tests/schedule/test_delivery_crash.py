"""A worker killed with SIGKILL during delivery loses nothing; it re-sends only what was in flight."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select

from handlers.deps import Deps
from storage.models import ChatIdentity, Outbox, Staff

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 240
CHATS = 12


async def test_sigkill_during_delivery_loses_nothing(deps: Deps) -> None:
    received: Counter[str] = Counter()

    async def send(request: web.Request) -> web.Response:
        data = await request.json()
        await asyncio.sleep(0.01)  # a platform takes a moment: kills land mid-flight
        received[data["text"]] += 1
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/send", send)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    now = deps.clock.now()
    async with deps.sessionmaker() as s, s.begin():
        staff = (await s.scalars(select(Staff).order_by(Staff.id).limit(CHATS))).all()
        idents = []
        for st in staff:
            ident = ChatIdentity(staff_id=st.id, channel="http", external_id=f"c{st.id}", bound_at=now)
            s.add(ident)
            idents.append(ident)
        await s.flush()
        for i in range(MESSAGES):
            s.add(Outbox(channel="http", identity_id=idents[i % CHATS].id, kind="load", payload={"text": f"m{i}"},
                         next_attempt_at=now, created_at=now))

    rnd = random.Random(11)
    kills = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _round in range(40):  # bounded
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.schedule.kill_worker",
                                                    deps.config.database_url, str(port), cwd=ROOT, env=env)
        # Kill it a random moment after it has started sending (start-up time varies with load).
        before = sum(received.values())
        for _tick in range(600):  # bounded: at most ~30 s for the process to start
            if sum(received.values()) > before or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(proc.wait(), timeout=rnd.uniform(0.05, 0.5))
        except TimeoutError:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1
        async with deps.sessionmaker() as s:
            left = await s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
        if not left and proc.returncode == 0:
            break
        await asyncio.sleep(1.1)  # let the dead worker's claims expire
    await runner.cleanup()

    assert kills >= 2, "the worker was never killed mid-run: the test proved nothing"
    assert set(received) == {f"m{i}" for i in range(MESSAGES)}  # nothing lost
    duplicates = sum(n - 1 for n in received.values())
    # Only messages in flight at a kill can be repeated: at most one per chat per kill.
    assert duplicates <= kills * CHATS, (duplicates, kills)
    print(f"{kills} kills, {duplicates} duplicates of {MESSAGES} messages")
