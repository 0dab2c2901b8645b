"""The outbox is delivered reliably: retries, retry_after, blocked users, dead letters, no duplicates."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from bot.channels.base import DeliveryError
from bot.channels.memory import CollectingChannel
from bot.delivery import DeliveryWorker
from handlers.deps import Deps
from handlers.events import Reply
from storage.models import ChatIdentity, Outbox, Staff
from tests.conftest import bind_staff


@dataclass
class FlakyChannel:
    """Fails the first `failures` sends with the given error, then records."""

    failures: int
    error: DeliveryError | Exception
    name: str = "memory"
    sent: list[tuple[str, Reply]] = field(default_factory=list)

    async def send(self, address: str, reply: Reply) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.sent.append((address, reply))


async def queue(deps: Deps, login: str, text: str, key: str) -> None:
    await bind_staff(deps, login, f"staff-{login}")
    async with deps.begin() as uow:
        staff = await uow.session.scalar(select(Staff).where(Staff.login == login))
        await uow.outbox.to_staff(staff.id, lambda _: Reply(text=text), about=None, kind="test", dedupe_key=key)


def worker(deps: Deps, channel) -> DeliveryWorker:  # type: ignore[no-untyped-def]
    return DeliveryWorker(deps.sessionmaker, {"memory": channel}, deps.sealer, deps.clock, deps.config, max_attempts=3)


async def test_each_notice_is_sent_once(deps: Deps) -> None:
    ch = CollectingChannel()
    for i in range(5):
        await queue(deps, "o02-lead", f"n{i}", f"k{i}")
    await queue(deps, "o02-lead", "n0", "k0")  # queued twice by mistake: still once
    w = worker(deps, ch)
    assert await w.drain_once() == 5
    assert await w.drain_once() == 0
    assert [r.text for _a, r in ch.sent] == [f"n{i}" for i in range(5)]
    assert {a for a, _r in ch.sent} == {"staff-o02-lead"}


async def test_a_platform_that_is_down_loses_nothing(deps: Deps, clock) -> None:
    ch = FlakyChannel(2, ConnectionError("platform down"))
    await queue(deps, "o02-lead", "hello", "k")
    w = worker(deps, ch)
    assert await w.drain_once() == 0
    assert await w.drain_once() == 0  # not due yet: backing off
    clock.advance(seconds=6)
    assert await w.drain_once() == 0
    clock.advance(seconds=11)
    assert await w.drain_once() == 1
    assert [r.text for _a, r in ch.sent] == ["hello"]


async def test_retry_after_is_honoured(deps: Deps, clock) -> None:
    ch = FlakyChannel(1, DeliveryError("429", retry_after=30))
    await queue(deps, "o02-lead", "hello", "k")
    w = worker(deps, ch)
    await w.drain_once()
    clock.advance(seconds=29)
    assert await w.drain_once() == 0
    clock.advance(seconds=2)
    assert await w.drain_once() == 1


async def test_a_user_who_blocked_the_bot_is_marked_and_not_retried(deps: Deps, clock) -> None:
    ch = FlakyChannel(1, DeliveryError("403 blocked", permanent=True))
    await queue(deps, "o02-lead", "hello", "k")
    w = worker(deps, ch)
    await w.drain_once()
    async with deps.sessionmaker() as s:
        assert (await s.scalars(select(Outbox))).one().status == "dead"
        assert (await s.scalars(select(ChatIdentity))).one().blocked_at is not None
    clock.advance(hours=1)
    assert await w.drain_once() == 0 and ch.sent == []


async def test_dead_letter_after_max_attempts_tells_the_admins(deps: Deps, clock) -> None:
    await bind_staff(deps, "admin", "staff-admin")
    ch = FlakyChannel(3, ConnectionError("down"))
    await queue(deps, "o02-lead", "hello", "k")
    w = worker(deps, ch)
    for _ in range(3):
        await w.drain_once()
        clock.advance(minutes=10)
    async with deps.sessionmaker() as s:
        rows = (await s.scalars(select(Outbox).order_by(Outbox.id))).all()
    assert rows[0].status == "dead" and rows[0].attempts == 3
    assert rows[-1].kind == "dead_letter"
    assert await w.drain_once() == 1  # the admin's notice goes out
    assert "could not be delivered" in ch.sent[-1][1].text or "无法送达" in ch.sent[-1][1].text


async def test_a_row_left_sending_by_a_crashed_worker_is_taken_over(deps: Deps, clock) -> None:
    ch = CollectingChannel()
    await queue(deps, "o02-lead", "hello", "k")
    crashed = worker(deps, ch)
    assert len(await crashed.claim(clock.now())) == 1  # claimed, then the process died
    other = worker(deps, ch)
    assert await other.drain_once() == 0  # still leased to the dead worker
    clock.advance(minutes=6)
    assert await other.drain_once() == 1
    assert len(ch.sent) == 1


async def test_two_workers_never_take_the_same_row(deps: Deps) -> None:
    for i in range(20):
        await queue(deps, "o02-lead", f"n{i}", f"k{i}")
    a, b = worker(deps, CollectingChannel()), worker(deps, CollectingChannel())
    ids_a = await a.claim(deps.clock.now())
    ids_b = await b.claim(deps.clock.now())
    assert set(ids_a).isdisjoint(ids_b) and len(ids_a) + len(ids_b) == 20
