"""Several workers on one PostgreSQL database keep the platform's limits together: a chat is
served by one worker at a time, the overall limit is a sliding window over the sends of all of
them, and a window slot held by a killed worker comes back within seconds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.base import DeliveryError, Limits
from bot.delivery import DeliveryWorker
from handlers.clock import SystemClock
from handlers.deps import Deps
from handlers.events import Reply
from storage.models import ChatIdentity, DeliverySend, Outbox, Staff
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="several instances share PostgreSQL, never a SQLite file")

OVERALL = 10  # messages per second, all workers together


@dataclass
class StrictChannel:
    """Enforces the limits in a strict sliding second the way a platform does (429 when exceeded),
    with a short pause before each answer, as a real network has."""

    name: str = "memory"
    delay: float = 0.005
    arrivals: list[tuple[float, str, str]] = field(default_factory=list)
    throttled: Counter[str] = field(default_factory=Counter)
    _all: deque[float] = field(default_factory=deque)
    _per: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    async def send(self, address: str, reply: Reply) -> None:
        now = time.monotonic()
        for q in (self._all, self._per[address]):
            while q and now - q[0] >= 1.0:
                q.popleft()
        if len(self._per[address]) >= 1:
            self.throttled["per chat"] += 1
            raise DeliveryError("429", retry_after=1)
        if len(self._all) >= OVERALL:
            self.throttled["overall"] += 1
            raise DeliveryError("429", retry_after=1)
        self._all.append(now)
        self._per[address].append(now)
        self.arrivals.append((now, address, reply.text))
        await asyncio.sleep(self.delay)


async def fill(deps: Deps, chats: int, messages: int) -> None:
    now = deps.clock.now()
    async with deps.sessionmaker() as s, s.begin():
        staff = (await s.scalars(select(Staff).order_by(Staff.id).limit(chats))).all()
        idents = [ChatIdentity(staff_id=st.id, channel="memory", external_id=f"c{st.id}", bound_at=now) for st in staff]
        s.add_all(idents)
        await s.flush()
        for i in range(messages):
            s.add(Outbox(channel="memory", identity_id=idents[i % chats].id, kind="load", payload={"text": f"m{i}"},
                         next_attempt_at=now, created_at=now))


def shared_worker(deps: Deps, channel: StrictChannel, lease: float = 10) -> DeliveryWorker:
    return DeliveryWorker(deps.sessionmaker, {"memory": channel}, deps.sealer, SystemClock(), deps.config,
                          limits={"memory": Limits(OVERALL, 1.0, 1, 1.0)}, poll_seconds=0.05, shared=True,
                          claim_lease=timedelta(seconds=lease))


async def test_two_workers_claiming_at_once_never_take_the_same_chat(deps: Deps, monkeypatch) -> None:
    await fill(deps, chats=12, messages=48)
    ch = StrictChannel()
    a, b = shared_worker(deps, ch), shared_worker(deps, ch)
    b_task: list[asyncio.Task[list]] = []  # type: ignore[type-arg]
    original = a._chats_not_before

    async def b_claims_meanwhile(s, channel, claimed):  # type: ignore[no-untyped-def]
        # B claims while A's claim is made but not yet committed, as two instances may.
        b_task.append(asyncio.create_task(b._claim(SystemClock().now(), {"memory": 200})))
        await asyncio.wait([b_task[0]], timeout=0.5)
        await original(s, channel, claimed)

    monkeypatch.setattr(a, "_chats_not_before", b_claims_meanwhile)
    got_a = await a._claim(SystemClock().now(), {"memory": 6})  # the first six chats' first rows
    got_b = await b_task[0]
    assert len(got_a) == 6 and got_b  # the other chats are B's
    chats_a, chats_b = {c.chat for c in got_a}, {c.chat for c in got_b}
    # Two workers serving one chat would each pace it alone: two sends less than a second apart.
    assert chats_a.isdisjoint(chats_b), sorted(chats_a & chats_b)


async def run_until_sent(deps: Deps, workers: list[DeliveryWorker], messages: int, *, started: bool = False) -> None:
    for w in workers if not started else []:
        await w.start()
    try:
        for _ in range(600):  # bounded: 60 s
            async with deps.sessionmaker() as s:
                sent = len((await s.scalars(select(Outbox.id).where(Outbox.status == "sent"))).all())
            if sent == messages:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # anything sent twice would arrive now
    finally:
        for w in workers:
            await w.stop()


async def test_three_workers_keep_both_limits_together(deps: Deps) -> None:
    ch = StrictChannel()
    await fill(deps, chats=15, messages=45)
    # Short leases: each worker claims a second's worth at a time, so all three take part, and
    # rows not sent in time are handed back and taken by another.
    workers = [shared_worker(deps, ch, lease=2) for _ in range(3)]
    await run_until_sent(deps, workers, 45)
    got = Counter(text for _t, _a, text in ch.arrivals)
    assert set(got) == {f"m{i}" for i in range(45)}  # nothing lost
    assert max(got.values()) == 1  # nothing twice
    assert not ch.throttled, dict(ch.throttled)  # neither limit exceeded, even once
    assert sum(1 for w in workers if w.sent) >= 2  # the work was shared


async def test_window_slots_of_a_killed_worker_come_back_within_seconds(deps: Deps) -> None:
    ch = StrictChannel()
    await fill(deps, chats=3, messages=3)
    # A killed worker took the whole window and never answered: its slots are stale after a lease.
    started = SystemClock().now() - timedelta(seconds=11)
    async with deps.sessionmaker() as s, s.begin():
        s.add_all(DeliverySend(channel="memory", started_at=started) for _ in range(OVERALL))
    await run_until_sent(deps, [shared_worker(deps, ch)], 3)
    assert len(ch.arrivals) == 3


async def test_live_workers_each_claim_their_share_and_hand_nothing_back(deps: Deps) -> None:
    ch = StrictChannel()
    # Three instances running before the notices exist, as after a deployment: each knows the
    # others are there when the notices come, and claims only what it can send in time. One that
    # claimed as if alone would hold rows (and their chats) past its lease and hand them back.
    workers = [shared_worker(deps, ch, lease=4) for _ in range(3)]
    for w in workers:
        await w.start()
    await asyncio.sleep(0.3)
    await fill(deps, chats=15, messages=45)
    await run_until_sent(deps, workers, 45, started=True)
    got = Counter(text for _t, _a, text in ch.arrivals)
    assert set(got) == {f"m{i}" for i in range(45)} and max(got.values()) == 1
    assert not ch.throttled, dict(ch.throttled)
    assert all(w.sent for w in workers), [w.sent for w in workers]  # all three took part
    assert [w.released for w in workers] == [0, 0, 0]
