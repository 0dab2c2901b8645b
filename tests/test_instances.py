"""Several instances on one PostgreSQL database: three real ``lianzu run`` processes behind the
Telegram stand-in (webhook mode), a reporter and staff spread over them, one killed with SIGKILL
while notices go out; and exactly one scheduler owner, taken over when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.scheduler import Scheduler
from bot.telegram.webhook import SECRET_HEADER
from handlers.app import make_dispatcher
from handlers.deps import Deps
from handlers.i18n import N_
from storage.models import Case, ChatIdentity, InboxItem, Outbox, Staff
from tests.conftest import PG_URL, TEST_KEYS, TEST_SALT, bind_staff
from tests.telegram.conftest import WEBHOOK_PATH, WEBHOOK_SECRET, Running
from tests.telegram.standin import BotAPIStandIn, message
from tests.telegram.test_flows import tg_anonymous_tip

ROOT = Path(__file__).resolve().parent.parent
OVERALL = 8  # messages per second, all instances together (low: the limit is reached quickly)
NOTICES = 48
CHATS = 16


class TimedStandIn(BotAPIStandIn):
    """The Bot API stand-in, noting when each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str, str]] = []  # (monotonic, chat id, text)

    async def m_sendMessage(self, p: dict[str, Any], f: dict) -> web.Response:  # type: ignore[type-arg]
        self.arrivals.append((time.monotonic(), str(p.get("chat_id")), p.get("text", "")))
        return await super().m_sendMessage(p, f)


@dataclass
class Spread(Running):
    """Updates go to the instances in turn: no two consecutive ones to the same process."""

    ports: tuple[int, ...] = ()
    turn: int = 0
    sessionmaker: Any = None

    async def deliver(self, update: dict[str, Any], *, secret: str | None = WEBHOOK_SECRET) -> int:
        if "message" in update:
            m = update["message"]
            self.standin.incoming.add((int(m["chat"]["id"]), int(m["message_id"])))
        update.setdefault("update_id", next(self.standin.update_ids))
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        status = await post(port, update)
        await settled(self.sessionmaker)  # as a person waits for the answer before pressing on
        return status


async def settled(sessionmaker: Any) -> None:
    """Until the instances have worked off their inboxes: they answer the webhook once an update
    is stored, and work from the inbox after."""
    for _ in range(300):  # bounded: ~30 s
        async with sessionmaker() as s:
            if not await s.scalar(select(func.count()).select_from(InboxItem)):
                return
        await asyncio.sleep(0.05)


async def post(port: int, update: dict[str, Any]) -> int:
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}) as r:
        return r.status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_instance(url: str, standin: BotAPIStandIn, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANZU_")}
    env.update(LIANZU_DATABASE_URL=url, LIANZU_INSTALLATION_SALT=TEST_SALT, LIANZU_ENCRYPTION_KEYS=TEST_KEYS,
               LIANZU_TELEGRAM_TOKEN=standin.token, LIANZU_TELEGRAM_API_URL=standin.url,
               LIANZU_TELEGRAM_MODE="webhook", LIANZU_TELEGRAM_WEBHOOK_URL="https://bot.example.org" + WEBHOOK_PATH,
               LIANZU_TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET, LIANZU_WEB_HOST="127.0.0.1", LIANZU_WEB_PORT=str(port),
               LIANZU_TELEGRAM_RATE_OVERALL=str(OVERALL), LIANZU_TELEGRAM_RATE_PER_CHAT="1",
               LIANZU_DEMO_ORG="false", LIANZU_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
                                                stdin=asyncio.subprocess.DEVNULL)


async def wait_up(port: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(1200):  # bounded: ~120 s for start-up on a busy machine
        assert proc.returncode is None, "an instance stopped during start-up"
        try:
            async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json={}) as r:
                if r.status == 401:  # listening, and checking the secret
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("an instance did not start")


def most_in_a_second(times: list[float]) -> int:
    window: deque[float] = deque()
    most = 0
    for t in sorted(times):
        window.append(t)
        while t - window[0] >= 1.0:
            window.popleft()
        most = max(most, len(window))
    return most


@pytest.mark.skipif(PG_URL is None, reason="several instances share PostgreSQL; a SQLite file serves one instance")
async def test_three_instances_share_the_work_and_survive_a_sigkill(deps: Deps) -> None:
    standin = TimedStandIn()
    await standin.start()
    url = deps.config.database_url
    ports = tuple(free_port() for _ in range(3))
    procs = [await start_instance(url, standin, p) for p in ports]
    try:
        await asyncio.gather(*(wait_up(port, proc) for port, proc in zip(ports, procs, strict=True)))
        run = Spread(service=_Service(make_dispatcher(deps)), standin=standin, ports=ports,
                     sessionmaker=deps.sessionmaker)  # type: ignore[arg-type]

        # A reporter's wizard, each step on the next instance: the conversation follows them.
        receipt = await tg_anonymous_tip(run.phone(700), run)
        assert len(receipt) == 16
        async with deps.sessionmaker() as s:
            case = (await s.scalars(select(Case))).one()

        # The same update posted to two instances is handled once.
        update = message(701, "/help", message_id=5)
        update["update_id"] = 99_000
        assert await post(ports[0], dict(update)) == 200
        assert await post(ports[1], dict(update)) == 200
        await settled(deps.sessionmaker)
        assert len(standin.texts_to(701)) == 1

        # A lead accepts the case and confirms a team, each press on another instance.
        await bind_staff(deps, "o02-lead", "702", channel="telegram")
        lead = run.phone(702)
        await lead.send(f"/case {case.reference}")
        await lead.press(N_("Accept (受理)"))
        await lead.press(N_("Propose a team"))
        await lead.press(N_("✔ Confirm"))

        # Notices to many staff chats, delivered by all three workers at the shared limit; one
        # instance is killed while they go out.
        async with deps.sessionmaker() as s, s.begin():
            staff = (await s.scalars(select(Staff).where(Staff.login != "o02-lead").order_by(Staff.id).limit(CHATS))).all()
            idents = [ChatIdentity(staff_id=st.id, channel="telegram", external_id=str(900_000 + n),
                                   bound_at=deps.clock.now()) for n, st in enumerate(staff)]
            s.add_all(idents)
            await s.flush()
            now = deps.clock.now()
            for i in range(NOTICES):
                s.add(Outbox(channel="telegram", identity_id=idents[i % CHATS].id, kind="load",
                             payload={"text": f"notice {i}"}, next_attempt_at=now, created_at=now))
        load = {str(900_000 + n) for n in range(CHATS)}
        for _ in range(200):  # bounded: ~20 s
            if sum(1 for _t, chat, _x in standin.arrivals if chat in load) >= NOTICES // 4:
                break
            await asyncio.sleep(0.1)
        procs[1].send_signal(signal.SIGKILL)
        await procs[1].wait()
        for _ in range(600):  # bounded: ~60 s; a dead worker's rows come back within its lease
            async with deps.sessionmaker() as s:
                left = await s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent",
                                                                                  Outbox.kind == "load"))
            if not left:
                break
            await asyncio.sleep(0.1)
        assert not left, f"{left} notices never went out"
        await asyncio.sleep(1.0)  # anything sent twice would arrive now

        got = Counter(text for _t, chat, text in standin.arrivals if chat in load)
        assert set(got) == {f"notice {i}" for i in range(NOTICES)}  # nothing lost
        # Only what the killed instance had in flight can go out twice (a send and its record are
        # not one act): at most one per chat it was serving, a handful at this rate.
        assert sum(n - 1 for n in got.values()) <= 3, got
        times = [t for t, chat, _x in standin.arrivals if chat in load]
        assert most_in_a_second(times) <= OVERALL  # the platform's limit, all instances together
        per_chat: dict[str, list[float]] = defaultdict(list)
        for t, chat, _x in standin.arrivals:
            if chat in load:
                per_chat[chat].append(t)
        assert max(most_in_a_second(ts) for ts in per_chat.values()) <= 1
        # The confirmed team's notices went out too (the lead's part of the flow).
        async with deps.sessionmaker() as s:
            pending = await s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending"))))
        assert pending == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await standin.stop()


@dataclass
class _Service:
    """What a Phone needs of a service: a dispatcher to read a chat's language with."""

    dispatcher: Any


async def test_one_scheduler_owner_and_a_stale_one_runs_nothing(deps: Deps, clock, chat) -> None:
    from tests.cases.conftest import tip_case

    await bind_staff(deps, "o02-lead", "staff-o02-lead")
    await tip_case(chat, deps)
    clock.advance(days=3)  # a reminder is due
    a = Scheduler(deps, owner="a", lease_seconds=10)
    b = Scheduler(deps, owner="b", lease_seconds=10)
    try:
        assert await a.campaign_once() and a.is_owner
        assert not await b.campaign_once() and not b.is_owner
        # "a" stalls (no renewal); once its lease has run out "b" takes over …
        clock.advance(seconds=11)
        assert await b.campaign_once() and b.is_owner
        # … and "a", still running its scheduler, finds every job fenced off.
        assert a.is_owner
        await a.jobs.minute()
        async with deps.sessionmaker() as s:
            assert not (await s.scalars(select(Outbox).where(Outbox.kind == "reminder"))).all()
        await b.jobs.minute()
        async with deps.sessionmaker() as s:
            assert (await s.scalars(select(Outbox).where(Outbox.kind == "reminder"))).all()
        # By its own clock "a" knows its lease may have run out: it steps down before any job.
        a._held_until = 0.0
        from bot import scheduler as sched_mod

        sched_mod._CURRENT[0] = a
        await sched_mod.run_minute()
        assert not a.is_owner
    finally:
        await a.stop()
        await b.stop()
