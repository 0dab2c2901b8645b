"""The outbox delivery worker: sends queued notices through the channels, within each
platform's limits, retrying with back-off, never losing a notice and never sending one twice
(except a message in flight when the process was killed).

Claiming is an UPDATE guarded by the row's status, so several workers (or a restarted one)
never take the same row; on PostgreSQL candidates are read with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy import or_, select, update
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
CLAIM_LEASE = timedelta(minutes=5)  # a row "sending" longer than this was in a crashed worker
BATCH = 200
# Stay a little under each limit: arrival times jitter, and platforms count in sliding windows.
SAFETY_OVERALL = 1.03
SAFETY_PER_CHAT = 1.15


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


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
        self._overall: dict[str, AsyncLimiter] = {}
        self._per_chat: dict[tuple[str, str], AsyncLimiter] = {}
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    # -- limits --------------------------------------------------------------------------

    async def _acquire(self, channel: str, address: str) -> None:
        # Evenly spaced (a bucket of one), with a small margin: platforms count in sliding
        # windows, so a burst that a leaky bucket allows would still be refused there.
        lim = self.limits.get(channel, UNLIMITED)
        if channel not in self._overall:
            self._overall[channel] = AsyncLimiter(1, lim.overall_period / lim.overall * SAFETY_OVERALL)
        key = (channel, address)
        if key not in self._per_chat:
            self._per_chat[key] = AsyncLimiter(1, lim.per_chat_period / lim.per_chat * SAFETY_PER_CHAT)
        await self._per_chat[key].acquire()
        await self._overall[channel].acquire()

    # -- claiming ------------------------------------------------------------------------

    async def claim(self, now: datetime, limit: int = BATCH) -> list[int]:
        due = or_(
            (Outbox.status == OutboxStatus.pending.value) & (Outbox.next_attempt_at <= now),
            (Outbox.status == OutboxStatus.sending.value) & (Outbox.locked_until < now),
        )
        claimed: list[int] = []
        async with self.sm() as s, s.begin():
            q = select(Outbox.id).where(due, Outbox.channel.in_(list(self.channels))).order_by(Outbox.id).limit(limit)
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            for oid in (await s.scalars(q)).all():
                res = await s.execute(update(Outbox).where(Outbox.id == oid, due).values(
                    status=OutboxStatus.sending.value, locked_until=now + self.claim_lease, attempts=Outbox.attempts + 1))
                if res.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult; execute() is typed as Result
                    claimed.append(oid)
        return claimed

    # -- sending -------------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Claim what is due and send it; returns how many were sent."""
        ids = await self.claim(self.clock.now())
        if not ids:
            return 0
        # Chats are served concurrently; one chat's notices go out one by one, in order.
        async with self.sm() as s:
            rows = (await s.execute(select(Outbox.id, Outbox.identity_id).where(Outbox.id.in_(ids)))).all()
        by_chat: dict[object, list[int]] = defaultdict(list)
        for oid, ident in sorted(rows):
            by_chat[ident if ident is not None else f"row{oid}"].append(oid)
        async def chat(queue: list[int]) -> int:  # the limiters, not a pool size, pace the sends
            return sum([await self._deliver(oid) for oid in queue])

        return sum(await asyncio.gather(*(chat(q) for q in by_chat.values())))

    async def _address(self, s: AsyncSession, row: Outbox) -> str | None:
        if row.identity_id is not None:
            ident = await s.get(ChatIdentity, row.identity_id)
            if ident is None or ident.blocked_at is not None:
                return None
            return ident.external_id
        if row.address_enc is not None and row.key_id:
            return self.sealer.open_text(row.key_id, row.address_enc)
        return None

    async def _deliver(self, oid: int) -> int:
        async with self.sm() as s:
            row = await s.get(Outbox, oid)
            if row is None or row.status != OutboxStatus.sending.value:
                return 0
            address = await self._address(s, row)
            channel = self.channels.get(row.channel)
            reply = Reply.model_validate(row.payload)
        if address is None or channel is None:
            await self._finish(oid, OutboxStatus.dead, "no address")
            return 0
        await self._acquire(row.channel, address)
        try:
            await channel.send(address, reply)
        except DeliveryError as exc:
            await self._failed(oid, str(exc), retry_after=exc.retry_after, permanent=exc.permanent)
            return 0
        except Exception as exc:  # a platform that is down: retry later, never lose it
            await self._failed(oid, f"{type(exc).__name__}: {exc}"[:500])
            return 0
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
        while True:
            try:
                if not await self.drain_once():
                    await asyncio.sleep(self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop error")
                await asyncio.sleep(self.poll_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-delivery")

    async def stop(self) -> None:
        await cancel_quietly(self._task)
        self._task = None

