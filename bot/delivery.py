"""The outbox delivery worker: sends queued notices through the channels, within each
platform's limits, retrying with back-off, never losing a notice and never sending one twice
(except a message in flight when the process was killed).

Claiming is one status-guarded ``UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED])
RETURNING``, so several workers (or a restarted one) never take the same row. A claim is a short
lease (seconds) and takes, per chat, only what can go out within about half of it; a row left
"sending" by a killed worker is therefore due again within seconds. A row whose lease ran out
before its turn is not sent but handed back (its attempt not counted).

Pacing is a sliding window over the actual send times, the way platforms count: per channel the
times of the last N sends (N = the overall limit per period), per chat the last sends to it; a send
waits until the oldest of each is a full period (plus a small margin) old. Each chat is served in
order by its own task; the chats queue fairly (first come, first served) for the channel's window.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import UNLIMITED, DeliveryError, Limits, OutputChannel
from bot.tasks import cancel_quietly
from handlers.clock import Clock
from handlers.config import Config
from handlers.events import Reply
from handlers.i18n import Gettext
from handlers.uow import notify_staff
from storage.crypto import Sealer
from storage.models import ChatIdentity, Outbox, OutboxStatus, Role, StaffRole

log = logging.getLogger("lianzu.delivery")

MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(seconds=10)  # a row "sending" longer than this was in a killed worker
BATCH = 200
# Added to every window: the platform sees a send a little after we start it, and not always
# equally late, so two sends exactly one period apart here may arrive less than one apart there.
MARGIN_OVERALL = 0.005  # seconds
MARGIN_PER_CHAT = 0.02  # costs nothing overall while several chats are waiting
# A claimed row is sent only while this fraction of its lease remains: never after another
# worker may have taken it over.
LEASE_GUARD = 0.2
CLAIM_SPACING = 0.1  # seconds between claims of the continuous loop


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


class Window:
    """At most ``count`` sends in any ``period`` seconds, by actual send time. A send counts from
    its start, and once answered from its answer: the platform saw it somewhere in between, so a
    send is allowed only a full period (plus the margin) after the answer to the one ``count``
    sends before it. Network jitter then cannot make two sends land too close together."""

    def __init__(self, count: float, period: float, margin: float) -> None:
        n = max(1, math.floor(count))
        self.margin = margin
        self.period = period * n / count  # e.g. 0.5 per second: one per 2 s
        self.times: deque[list[float | None]] = deque(maxlen=n)  # [start, answered or None]

    def ready_at(self, now: float) -> float:
        if len(self.times) < (self.times.maxlen or 1):
            return 0.0
        start, answered = self.times[0]
        if answered is None:  # still in flight: look again shortly
            return max(now + 0.005, (start or 0.0) + self.period + self.margin)
        return answered + self.period + self.margin

    def record(self, t: float) -> list[float | None]:
        entry: list[float | None] = [t, None]
        self.times.append(entry)
        return entry


class Pacer:
    """One channel's windows: overall, and per chat."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.overall = Window(limits.overall, limits.overall_period, MARGIN_OVERALL)
        self.chats: dict[str, Window] = {}
        self.lock = asyncio.Lock()  # first come, first served for the overall window

    def chat(self, address: str) -> Window:
        w = self.chats.get(address)
        if w is None:
            if len(self.chats) > 10_000:  # forget chats whose window is long past
                now = asyncio.get_running_loop().time()
                self.chats = {a: c for a, c in self.chats.items() if c.ready_at(now) > now}
            w = self.chats[address] = Window(self.limits.per_chat, self.limits.per_chat_period, MARGIN_PER_CHAT)
        return w

    async def acquire(self, address: str) -> Callable[[], None]:
        """Wait until a send to ``address`` keeps both windows and record it as started now;
        returns what to call once the platform has answered (or failed)."""
        loop = asyncio.get_running_loop()
        chat = self.chat(address)
        while (d := chat.ready_at(loop.time()) - loop.time()) > 0:  # per chat first: no place held
            await asyncio.sleep(d)
        async with self.lock:
            # Overall, then per chat again (waiting only helps it; another queue may share the chat).
            while (d := max(self.overall.ready_at(now := loop.time()), chat.ready_at(now)) - now) > 0:
                await asyncio.sleep(d)
            t = loop.time()
            entries = (self.overall.record(t), chat.record(t))

        def answered() -> None:
            for e in entries:
                e[1] = loop.time()
        return answered


@dataclass
class _Claimed:
    oid: int
    channel: str
    chat: object  # the identity, or the row itself when it has none
    attempts: int  # the claim's token: a takeover by another worker increments it
    until: datetime
    done: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())



class DeliveryWorker:
    name = "delivery"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], channels: dict[str, OutputChannel],
                 sealer: Sealer, clock: Clock, config: Config, *, limits: dict[str, Limits] | None = None,
                 poll_seconds: float = 1.0, max_attempts: int = MAX_ATTEMPTS,
                 claim_lease: timedelta = CLAIM_LEASE) -> None:
        self.sm, self.channels, self.sealer, self.clock, self.config = sessionmaker, channels, sealer, clock, config
        # Channel name → its platform's limits (bot.channels.registry.delivery_limits); others: UNLIMITED.
        self.limits = dict(limits or {})
        self.poll_seconds, self.max_attempts, self.claim_lease = poll_seconds, max_attempts, claim_lease
        self._pacers: dict[str, Pacer] = {}
        self._queues: dict[tuple[str, object], deque[_Claimed]] = {}
        self._chat_tasks: dict[tuple[str, object], asyncio.Task[None]] = {}
        self._outstanding: dict[str, int] = {name: 0 for name in channels}
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    # -- limits --------------------------------------------------------------------------

    def _pacer(self, channel: str) -> Pacer:
        if channel not in self._pacers:
            self._pacers[channel] = Pacer(self.limits.get(channel, UNLIMITED))
        return self._pacers[channel]

    def _soon(self, channel: str) -> tuple[int, int]:
        """How many rows can go out within half a lease: overall, and per chat."""
        lim, half = self.limits.get(channel, UNLIMITED), self.claim_lease.total_seconds() / 2
        return (max(1, math.floor(lim.overall / lim.overall_period * half)),
                max(1, math.floor(lim.per_chat / lim.per_chat_period * half)))

    # -- claiming ------------------------------------------------------------------------

    async def claim(self, now: datetime, limit: int = BATCH) -> list[int]:
        """Claim due rows (for this process to send); returns their ids."""
        return [c.oid for c in await self._claim(now, {name: limit for name in self.channels})]

    async def _claim(self, now: datetime, room: dict[str, int]) -> list[_Claimed]:
        pending = (Outbox.status == OutboxStatus.pending.value) & (Outbox.next_attempt_at <= now)
        sending = Outbox.status == OutboxStatus.sending.value
        due = or_(pending, sending & (Outbox.locked_until < now))
        until = now + self.claim_lease
        claimed: list[_Claimed] = []
        async with self.sm() as s, s.begin():
            pg = s.bind.dialect.name == "postgresql"
            for name in self.channels:
                overall, per_chat = self._soon(name)
                n = min(room.get(name, 0), overall, BATCH)
                if n <= 0:
                    continue
                # Each chat's due or in-flight rows, in order: only its first few are claimed, so a
                # chat's backlog is never leased for longer than it takes to send.
                rank = func.row_number().over(partition_by=func.coalesce(Outbox.identity_id, -Outbox.id),
                                              order_by=Outbox.id)
                ranked = select(Outbox.id, rank.label("rn")).where(Outbox.channel == name, or_(pending, sending)).subquery()
                pick = (select(Outbox.id).where(Outbox.id.in_(select(ranked.c.id).where(ranked.c.rn <= per_chat)),
                                                Outbox.channel == name, due).order_by(Outbox.id).limit(n))
                if pg:
                    pick = pick.with_for_update(skip_locked=True)
                stmt = (update(Outbox).where(Outbox.id.in_(pick), due)
                        .values(status=OutboxStatus.sending.value, locked_until=until, attempts=Outbox.attempts + 1)
                        .returning(Outbox.id, Outbox.identity_id, Outbox.attempts)
                        .execution_options(synchronize_session=False))
                for oid, ident, attempts in sorted((await s.execute(stmt)).all()):
                    claimed.append(_Claimed(oid, name, ident if ident is not None else -oid, attempts, until))
        return claimed

    async def _release(self, c: _Claimed) -> None:
        """Hand back a row whose lease ran out before its turn, its attempt not counted."""
        async with self.sm() as s, s.begin():
            await s.execute(update(Outbox).where(Outbox.id == c.oid, Outbox.status == OutboxStatus.sending.value,
                                                 Outbox.attempts == c.attempts)
                            .values(status=OutboxStatus.pending.value, locked_until=None, attempts=Outbox.attempts - 1)
                            .execution_options(synchronize_session=False))

    # -- sending -------------------------------------------------------------------------

    def _enqueue(self, claimed: list[_Claimed]) -> None:
        # Chats are served concurrently; one chat's notices go out one by one, in order.
        for c in claimed:
            key = (c.channel, c.chat)
            self._queues.setdefault(key, deque()).append(c)
            self._outstanding[c.channel] = self._outstanding.get(c.channel, 0) + 1
            if key not in self._chat_tasks:
                self._chat_tasks[key] = asyncio.create_task(self._serve(key), name="outbox-chat")

    async def _serve(self, key: tuple[str, object]) -> None:
        q = self._queues[key]
        try:
            while q:
                c = q.popleft()
                n = 0
                try:
                    n = await self._deliver(c)
                except Exception:
                    log.exception("delivery of outbox %d failed", c.oid)  # its lease runs out: retried
                finally:
                    self._outstanding[c.channel] -= 1
                    self._progress.set()
                    if not c.done.done():
                        c.done.set_result(n)
        finally:
            self._chat_tasks.pop(key, None)
            if not q:
                self._queues.pop(key, None)

    async def drain_once(self) -> int:
        """Claim what is due and send it; returns how many were sent. Rows that become due
        meanwhile (a dead letter, a retry) wait for the next call."""
        total = 0
        while True:
            claimed = await self._claim(self.clock.now(), {name: BATCH for name in self.channels})
            self._enqueue(claimed)
            total += sum(await asyncio.gather(*(c.done for c in claimed)))
            # Claim again only where a claim stopped at a cap (a chat's backlog, the batch).
            per_channel: dict[str, int] = {}
            per_chat: dict[tuple[str, object], int] = {}
            for c in claimed:
                per_channel[c.channel] = per_channel.get(c.channel, 0) + 1
                per_chat[c.channel, c.chat] = per_chat.get((c.channel, c.chat), 0) + 1
            if not any(k >= min(self._soon(ch)[0], BATCH) for ch, k in per_channel.items()) and \
                    not any(k >= self._soon(ch)[1] for (ch, _), k in per_chat.items()):
                return total

    async def _address(self, s: AsyncSession, row: Outbox) -> str | None:
        if row.identity_id is not None:
            ident = await s.get(ChatIdentity, row.identity_id)
            if ident is None or ident.blocked_at is not None:
                return None
            return ident.external_id
        if row.address_enc is not None and row.key_id:
            return self.sealer.open_text(row.key_id, row.address_enc)
        return None

    async def _deliver(self, c: _Claimed) -> int:
        oid = c.oid
        async with self.sm() as s:
            row = await s.get(Outbox, oid)
            if row is None or row.status != OutboxStatus.sending.value or row.attempts != c.attempts:
                return 0  # no longer ours
            address = await self._address(s, row)
            channel = self.channels.get(row.channel)
            reply = Reply.model_validate(row.payload)
        if address is None or channel is None:
            await self._finish(oid, OutboxStatus.dead, "no address")
            return 0
        answered = await self._pacer(row.channel).acquire(address)
        if self.clock.now() >= c.until - self.claim_lease * LEASE_GUARD:
            answered()
            await self._release(c)  # another worker may take it over any moment: not ours to send
            return 0
        try:
            await channel.send(address, reply)
        except DeliveryError as exc:
            await self._failed(oid, str(exc), retry_after=exc.retry_after, permanent=exc.permanent)
            return 0
        except Exception as exc:  # a platform that is down: retry later, never lose it
            await self._failed(oid, f"{type(exc).__name__}: {exc}"[:500])
            return 0
        finally:
            answered()
        await self._finish(oid, OutboxStatus.sent, None)
        self.sent += 1
        return 1

    async def _finish(self, oid: int, status: OutboxStatus, error: str | None) -> None:
        now = self.clock.now()
        async with self.sm() as s, s.begin():
            row = await s.get(Outbox, oid)
            if row is None:
                return
            row.status, row.last_error, row.locked_until = status.value, error, None
            if status is OutboxStatus.sent:
                row.sent_at = now

    async def _failed(self, oid: int, error: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        now = self.clock.now()
        async with self.sm() as s, s.begin():
            row = await s.get(Outbox, oid)
            if row is None:
                return
            row.last_error, row.locked_until = error[:500], None
            if permanent:
                if row.identity_id is not None:
                    ident = await s.get(ChatIdentity, row.identity_id)
                    if ident is not None:
                        ident.blocked_at = now  # they blocked the bot: stop until they bind again
                row.status = OutboxStatus.dead.value
            elif row.attempts >= self.max_attempts:
                row.status = OutboxStatus.dead.value
                if row.kind != "dead_letter":
                    await self._tell_admins(s, row, now)
            else:
                row.status = OutboxStatus.pending.value
                wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(row.attempts)
                row.next_attempt_at = now + wait
        log.warning("delivery of outbox %d failed (%s)", oid, "permanent" if permanent else "will retry")

    async def _tell_admins(self, s: AsyncSession, row: Outbox, now: datetime) -> None:
        oid, kind, attempts = row.id, row.kind, row.attempts

        def render(_: Gettext) -> Reply:
            return Reply(text=_("A notice could not be delivered after {n} attempts (outbox {id}, {kind}). "
                                "Please check the channel.").format(n=attempts, id=oid, kind=kind))

        for sid in sorted(set((await s.scalars(select(StaffRole.staff_id).where(StaffRole.role == Role.admin.value))).all())):
            await notify_staff(s, sid, render, kind="dead_letter", now=now,
                               default_language=self.config.default_language, dedupe_key=f"dead:{oid}")

    # -- service -------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim continuously while earlier claims are still being sent, keeping about half a
        lease's worth of sends in hand per channel."""
        while True:
            try:
                room = {name: self._soon(name)[0] - self._outstanding.get(name, 0) for name in self.channels}
                claimed = await self._claim(self.clock.now(), room) if any(v > 0 for v in room.values()) else []
                self._enqueue(claimed)
                if not claimed and not any(self._outstanding.values()):
                    await asyncio.sleep(self.poll_seconds)
                    continue
                self._progress.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._progress.wait(), self.poll_seconds)
                await asyncio.sleep(CLAIM_SPACING)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop error")
                await asyncio.sleep(self.poll_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-delivery")

    async def stop(self) -> None:
        # Rows claimed but not sent stay leased: they are due again when the lease runs out.
        await cancel_quietly(self._task)
        self._task = None
        for task in list(self._chat_tasks.values()):
            await cancel_quietly(task)
