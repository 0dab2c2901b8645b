"""Several instances share the inbox table: a stored post is worked by exactly one of them. A row
an instance is still working on is never taken by another's sweep, however old it is; a row whose
instance died is taken, once its lease has run out, by exactly one of the instances sweeping at
the same moment. Each instance here has its own engine on one database (SQLite file or
PostgreSQL), as separate ``lianzu run`` processes would."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.inbox import CLAIM_LEASE, Inbox
from handlers.clock import ManualClock
from storage.crypto import Sealer
from storage.db import make_engine, make_sessionmaker
from storage.models import InboxItem
from tests.conftest import make_config


class Instance:
    """One process's inbox with its own engine; records every payload it worked."""

    def __init__(self, url: str, clock: ManualClock, **kw: Any) -> None:
        self.engine: AsyncEngine = make_engine(url)
        self.inbox = Inbox("wecom", make_sessionmaker(self.engine), Sealer(make_config(url).keyring), clock, **kw)
        self.worked: list[str] = []
        self.gate: asyncio.Event | None = None  # set: the work waits for it (a hung download)
        self.fail = False
        self.inbox.serve(self.process)

    async def process(self, payload: dict[str, Any]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("the platform is away")
        self.worked.append(payload["m"])

    async def die(self) -> None:
        """Killed: nothing finishes, nothing is released."""
        for t in list(self.inbox.tasks):
            t.cancel()
        await asyncio.gather(*self.inbox.tasks, return_exceptions=True)
        await self.inbox.stop()


@pytest.fixture
async def instances(db_url: str, clock: ManualClock) -> AsyncIterator[Callable[..., Instance]]:
    made: list[Instance] = []

    def make(**kw: Any) -> Instance:
        made.append(Instance(db_url, clock, **kw))
        return made[-1]

    yield make
    for i in made:
        await i.inbox.stop()
        await i.engine.dispose()


async def rows(i: Instance) -> list[InboxItem]:
    async with i.inbox.sessionmaker() as s:
        return list((await s.scalars(select(InboxItem).order_by(InboxItem.id))).all())


async def test_a_row_being_worked_is_not_taken_by_another_instance_however_old(
        instances: Callable[..., Instance], clock: ManualClock) -> None:
    a, b = instances(renew_seconds=0.02), instances()
    await a.inbox.start()
    a.gate = asyncio.Event()
    await a.inbox.accept({"m": "hello"})
    await asyncio.sleep(0)
    clock.advance(minutes=10)  # far beyond the lease A took when storing it: only A's renewal keeps it
    deadline = asyncio.get_running_loop().time() + 10
    while not (r := await rows(a)) or r[0].claimed_until is None or r[0].claimed_until <= clock.now():
        assert asyncio.get_running_loop().time() < deadline, "A never renewed its claim"
        await asyncio.sleep(0.02)
    assert await b.inbox.replay() == 0  # B's sweep: the row is A's
    assert b.worked == []
    a.gate.set()
    await a.inbox.drain()
    assert a.worked == ["hello"] and b.worked == []
    assert await rows(a) == []


async def test_an_abandoned_row_is_taken_once_its_lease_ran_out_by_exactly_one_instance(
        instances: Callable[..., Instance], clock: ManualClock) -> None:
    a = instances()
    a.gate = asyncio.Event()  # A is mid-work on every post when it is killed
    posts = [f"m{n}" for n in range(40)]
    for m in posts:
        await a.inbox.accept({"m": m})
    await a.die()
    b, c = instances(), instances()
    clock.advance(CLAIM_LEASE - timedelta(seconds=1))
    assert await b.inbox.replay() == 0 and await c.inbox.replay() == 0  # A might still be alive
    clock.advance(seconds=2)
    # B and C sweep at the same moment: every row is worked, each by one of them, once.
    got = await asyncio.gather(b.inbox.replay(), c.inbox.replay())
    assert sum(got) == len(posts)
    assert Counter(b.worked + c.worked) == Counter(posts)
    assert sorted(b.worked, key=posts.index) == b.worked  # each in arrival order
    assert await rows(b) == []


async def test_a_failed_row_is_tried_again_by_whichever_instance_sweeps_next(
        instances: Callable[..., Instance]) -> None:
    a, b = instances(), instances()
    a.fail = True
    await a.inbox.accept({"m": "retry me"})
    await a.inbox.drain()
    assert a.worked == [] and len(await rows(a)) == 1 and (await rows(a))[0].attempts == 1
    assert await b.inbox.replay() == 1  # released by A: no need to wait for a lease
    assert b.worked == ["retry me"]
    assert await a.inbox.replay() == 0
    assert await rows(a) == []


async def test_rows_taken_by_a_sweep_and_not_started_are_given_back_when_it_stops(
        instances: Callable[..., Instance], clock: ManualClock) -> None:
    a = instances()
    a.gate = asyncio.Event()
    for m in ("one", "two", "three"):
        await a.inbox.accept({"m": m})
    await a.die()
    clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    b = instances()
    b.gate = asyncio.Event()  # B takes all three and hangs on the first
    await b.inbox.start()
    deadline = asyncio.get_running_loop().time() + 10
    while not all(r.claimed_by == b.inbox.token for r in await rows(b)):
        assert asyncio.get_running_loop().time() < deadline, "B's sweep took nothing"
        await asyncio.sleep(0.02)
    await b.inbox.stop()  # the first was being worked (its lease runs out); the other two are free now
    c = instances()
    assert await c.inbox.replay() == 2
    assert c.worked == ["two", "three"]


async def test_a_row_being_worked_is_not_taken_again_by_its_own_sweep_when_the_clock_jumps(
        instances: Callable[..., Instance], clock: ManualClock) -> None:
    a = instances()
    a.gate = asyncio.Event()
    await a.inbox.accept({"m": "once"})
    await asyncio.sleep(0)
    clock.advance(days=1)  # its lease has run out by the clock, but the work is going on here
    assert await asyncio.wait_for(a.inbox.replay(), 10) == 0
    a.gate.set()
    await a.inbox.drain()
    assert a.worked == ["once"]


async def test_posts_arriving_at_once_are_each_stored_before_their_answer_and_worked_as_themselves(
        instances: Callable[..., Instance]) -> None:
    """Posts stored together (one transaction for those that arrive while others are being
    stored): each caller returns only once its own row is committed (another instance reads it),
    and each row is worked with its own payload, once."""
    a, reader = instances(), instances()
    a.gate = asyncio.Event()  # the work waits: the rows must still be there when read
    sent = [f"post {n}" for n in range(40)]
    failing = "post 7"

    async def process(payload: dict[str, Any]) -> None:
        await a.process(payload)
        if payload["m"] == failing:
            raise ConnectionError("the platform is away")

    a.inbox.serve(process)

    async def post(m: str) -> str:
        await a.inbox.accept({"m": m})
        async with reader.inbox.sessionmaker() as s:  # another engine: only committed rows
            mine = [reader.inbox.sealer.open(r.key_id, r.sealed, aad=b"inbox:wecom")
                    for r in (await s.scalars(select(InboxItem))).all()]
        assert any(m.encode() in body for body in mine), f"{m} answered before it was stored"
        return m

    assert sorted(await asyncio.gather(*(post(m) for m in sent))) == sorted(sent)
    a.gate.set()
    await a.inbox.drain()
    assert Counter(a.worked) == Counter(sent)  # each its own payload, once
    # The one whose work failed is the one kept for another try: ids went to their own rows.
    left = await rows(a)
    assert [a.inbox.sealer.open(r.key_id, r.sealed, aad=b"inbox:wecom") for r in left] == [b'{"m":"post 7"}']
