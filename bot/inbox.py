"""The inbox: what a platform posts to us (a WeCom callback, a Telegram webhook update) is stored
in the database, sealed, before the platform gets its 200, and worked from there.

WeCom does not send a callback again once it was answered, and Telegram does not re-send an
acknowledged update: a process killed between the answer and the end of the work would lose the
message silently. So the order is *store, answer, work, delete*. A row left behind (the process
died, or the database went away during the work) is worked again by the next start and by a
periodic sweep on any instance; the dispatcher's de-duplication makes a second run harmless.

Several instances may share the table, so a row is worked by one instance at a time: it carries a
claim (the instance's token and a lease), set when it is stored and renewed while the work goes
on. A sweep takes rows with one conditional ``UPDATE … RETURNING`` (on PostgreSQL over ``FOR
UPDATE SKIP LOCKED``) that only matches rows nobody holds: unclaimed, or whose lease ran out
(their instance died). An abandoned row is thus taken by exactly one instance, a live one by no
other.

The payload can identify an anonymous reporter (a chat id, a WeCom user id): it is sealed with
the installation's keys, keeps only the minute it arrived, and is deleted as soon as it has been
handled. Nothing of it is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, event, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.tasks import cancel_quietly
from handlers.clock import Clock
from storage.crypto import Sealer
from storage.db import deferred
from storage.models import InboxItem

log = logging.getLogger("lianzu.inbox")
Process = Callable[[dict[str, Any]], Awaitable[None]]
SWEEP_SECONDS = 10.0
# A claim holds this long unless renewed; renewed every third of it while the work goes on, so a
# late renewal (a busy loop, a slow database) does not yet let another instance in. Instances'
# clocks should agree to well within the slack. A restarted process finds its predecessor's rows
# again once their leases ran out.
CLAIM_LEASE = timedelta(seconds=30)
BATCH = 100  # rows taken by one pass of the sweep (worked one at a time, in order); rows stored at once
STOP_GRACE_SECONDS = 10.0

# The two statements of every post, run on a plain connection, without an ORM session: an
# INSERT … RETURNING of the posts arrived meanwhile (one transaction for all of them, see
# ``Inbox.accept``), one DELETE when a post's work is done (built once: a statement built per
# call costs more CPU than it takes to run).
_TABLE = cast(Table, InboxItem.__table__)
# Never read back: sent with the commit (storage.db.deferred).
_DONE = deferred(delete(_TABLE).where(_TABLE.c.id == bindparam("item_id")))


@dataclass
class _Working:
    """The row whose work runs in this context (``Inbox._work``), and whether it is gone."""

    item_id: int
    deleted: bool = False


_WORKING: ContextVar[_Working | None] = ContextVar("lianzu_inbox_row", default=None)


async def delete_with(session: AsyncSession) -> None:
    """Called by the work of a stored post: delete its row in ``session``'s transaction, so the
    work and the end of the row commit together, one write transaction instead of two (the
    separate DELETE waited for SQLite's one writer like any other). If that transaction does not
    commit, the inbox deletes the row after the work or keeps it for another try, as always.
    Outside an inbox's work: nothing."""
    working = _WORKING.get()
    if working is None or working.deleted:
        return
    await session.execute(_DONE, {"item_id": working.item_id})

    def committed(_session: Any) -> None:
        working.deleted = True

    event.listen(session.sync_session, "after_commit", committed, once=True)


def _first(result: CursorResult[Any]) -> Any:
    return result.scalar() if result.returns_rows else None


class StoreFailed(Exception):
    """The post could not be stored; the platform must be told to send it again."""


def _aad(channel: str) -> bytes:
    return f"inbox:{channel}".encode()


class Inbox:
    """The durable intake of one channel; also a service (``start`` replays, then sweeps)."""

    def __init__(self, channel: str, sessionmaker: async_sessionmaker[AsyncSession], sealer: Sealer, clock: Clock,
                 *, sweep_seconds: float = SWEEP_SECONDS, lease: timedelta = CLAIM_LEASE,
                 renew_seconds: float | None = None) -> None:
        self.channel = channel
        self.name = f"{channel} inbox"
        self.sessionmaker, self.sealer, self.clock = sessionmaker, sealer, clock
        bind = sessionmaker.kw.get("bind")
        self._engine: AsyncEngine | None = bind if isinstance(bind, AsyncEngine) else None
        self.sweep_seconds, self.lease = sweep_seconds, lease
        self.renew_seconds = lease.total_seconds() / 3 if renew_seconds is None else renew_seconds
        self.token = secrets.token_hex(16)  # this instance, in the rows it claims
        self._process: Process | None = None
        self._held: set[int] = set()  # rows claimed here and not yet done: their leases are renewed
        self._lost: set[int] = set()  # held rows whose claim another instance took over (lease ran out)
        self._failed: set[int] = set()  # rows whose work failed here, the claim maybe not released
        self._queued: set[int] = set()  # rows a sweep claimed and has not started yet
        # Posts waiting to be stored, and the task storing them (``accept``).
        self._arrived: list[tuple[dict[str, Any], dict[str, Any], asyncio.Future[None]]] = []
        self._storing: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None

    def serve(self, process: Process) -> None:
        """What handles one stored payload. It raises when the work should be tried again later
        (the database was unavailable, a download failed); failures after the point where a retry
        would be de-duplicated anyway (sending the answer) it logs and swallows."""
        self._process = process

    # -- intake -------------------------------------------------------------------------

    async def accept(self, payload: dict[str, Any]) -> None:
        """Store ``payload``, then work on it in the background; returns once it is stored (and
        committed). Raises ``StoreFailed`` when it could not be stored: answer the platform with
        an error so that it sends it again.

        Posts that arrive while others are being stored are stored together, in one transaction
        (group commit): a commit per post made the inbox the busiest writer of all, and SQLite
        has one. Each caller still returns only once its own row is committed."""
        kid, blob = self.sealer.seal(json.dumps(payload, separators=(",", ":")).encode(), aad=_aad(self.channel))
        now = self.clock.now()
        minute = now.replace(second=0, microsecond=0)
        # Stored claimed by this instance: no other's sweep takes it while it is worked here.
        row = dict(channel=self.channel, key_id=kid, sealed=blob, received_at=minute, attempts=0,
                   claimed_by=self.token, claimed_until=now + self.lease)
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._arrived.append((row, payload, stored))
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_arrived())
        await stored

    async def _store_arrived(self) -> None:
        """Store what arrived, a batch per transaction, until nothing waits; then start each
        stored post's work, in arrival order (even if its caller stopped waiting: it is stored)."""
        while self._arrived:
            batch, self._arrived = self._arrived[:BATCH], self._arrived[BATCH:]
            try:
                ids = await self._store([row for row, _, _ in batch])
            except Exception as exc:
                log.warning("%s post(s) not stored (%s): the platform is asked to send them again",
                            self.channel, type(exc).__name__)
                for _row, _payload, stored in batch:
                    if not stored.done():
                        stored.set_exception(StoreFailed())
                        stored.exception()  # retrieved here too: a caller may have stopped waiting
                continue
            for item_id, (_row, payload, stored) in zip(ids, batch, strict=True):
                self._held.add(item_id)
                task = asyncio.create_task(self._work(item_id, payload))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                if not stored.done():
                    stored.set_result(None)

    async def _store(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the rows in one statement and one transaction; their ids, in the rows' order.
        The order RETURNING gives is not promised, so each id is found by its sealed payload
        (unique: every seal has a random nonce)."""
        stmt = insert(_TABLE).values(rows).returning(_TABLE.c.id, _TABLE.c.sealed)
        if self._engine is not None:
            async with self._engine.begin() as conn:
                got = (await conn.execute(stmt)).all()
        else:
            async with self.sessionmaker() as s, s.begin():
                got = list((await s.execute(stmt)).all())
        ids = {bytes(sealed): item_id for item_id, sealed in got}
        return [ids[bytes(row["sealed"])] for row in rows]

    async def _work(self, item_id: int, payload: dict[str, Any]) -> None:
        self._held.add(item_id)
        working = _Working(item_id)
        reset = _WORKING.set(working)
        try:
            assert self._process is not None, "Inbox.serve() was not called"
            try:
                await self._process(payload)
            except Exception as exc:
                log.warning("%s inbox item %d not handled (%s): kept for another try",
                            self.channel, item_id, type(exc).__name__)
                self._failed.add(item_id)
                # Released: the next sweep of any instance tries it again.
                if await self._quietly(update(InboxItem).where(InboxItem.id == item_id,
                                                               InboxItem.claimed_by == self.token)
                                       .values(attempts=InboxItem.attempts + 1, claimed_by=None,
                                               claimed_until=None)):
                    self._failed.discard(item_id)
                return
            self._failed.discard(item_id)
            # Deleted whoever holds it now: the work is done, a second run would be de-duplicated.
            if not working.deleted:  # not already with the work's own transaction (delete_with)
                await self._quietly(_DONE, {"item_id": item_id})
        finally:
            _WORKING.reset(reset)
            self._held.discard(item_id)
            self._lost.discard(item_id)

    async def _one(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        """One statement in its own transaction; the first column of its first row, if any."""
        if self._engine is not None:
            async with self._engine.begin() as conn:
                return _first(await conn.execute(statement, params))
        async with self.sessionmaker() as s, s.begin():
            return _first(cast(CursorResult[Any], await s.execute(statement, params)))

    async def _quietly(self, statement: Any, params: dict[str, Any] | None = None) -> bool:
        try:
            await self._one(statement, params)
            return True
        except Exception as exc:  # the row stays; a retry is de-duplicated by the dispatcher
            log.warning("%s inbox row not updated (%s)", self.channel, type(exc).__name__)
            return False

    # -- claims -------------------------------------------------------------------------

    def _free(self, now: datetime) -> ColumnElement[bool]:
        """Rows this instance may take: nobody's, or their holder's lease ran out, or rows whose
        work failed here (their release may not have been written)."""
        cond = or_(InboxItem.claimed_until.is_(None), InboxItem.claimed_until < now)
        if self._failed:
            mine = (InboxItem.claimed_by == self.token) & InboxItem.id.in_(sorted(self._failed))
            cond = or_(cond, mine)
        if self._held:  # never twice here, whatever the clock says of their leases
            cond = cond & InboxItem.id.not_in(sorted(self._held))
        return cond

    async def _take(self) -> list[tuple[int, str, bytes]]:
        """Claim up to a batch of free rows of this channel, oldest first, atomically: a row two
        instances reach at once is taken by one of them."""
        now = self.clock.now()
        free = self._free(now)
        async with self.sessionmaker() as s, s.begin():
            pick = (select(InboxItem.id).where(InboxItem.channel == self.channel, free)
                    .order_by(InboxItem.id).limit(BATCH))
            if s.bind.dialect.name == "postgresql":
                # Rows another instance is claiming right now are skipped, not waited for; the
                # condition is checked again on each row the UPDATE takes.
                pick = pick.with_for_update(skip_locked=True)
            picked = pick.cte("picked")
            stmt = (update(InboxItem).where(InboxItem.id.in_(select(picked.c.id)), free)
                    .values(claimed_by=self.token, claimed_until=now + self.lease)
                    .returning(InboxItem.id, InboxItem.key_id, InboxItem.sealed)
                    .execution_options(synchronize_session=False))
            rows = sorted((i, k, b) for i, k, b in (await s.execute(stmt)).all())
        self._held.update(i for i, _, _ in rows)
        self._failed.difference_update(i for i, _, _ in rows)
        return rows

    async def _renew(self) -> None:
        """Extend the leases of the rows held here; a row whose claim another instance took
        meanwhile (this one's lease ran out) is not worked here any more, if not yet started."""
        held = sorted(self._held)
        if not held:
            return
        async with self.sessionmaker() as s, s.begin():
            kept = set((await s.scalars(
                update(InboxItem).where(InboxItem.id.in_(held), InboxItem.claimed_by == self.token)
                .values(claimed_until=self.clock.now() + self.lease).returning(InboxItem.id)
                .execution_options(synchronize_session=False))).all())
        self._lost.update(i for i in held if i not in kept and i in self._held)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                await self._renew()
            except Exception as exc:  # the database is away: the next renewal may still be in time
                log.warning("%s inbox claims not renewed (%s)", self.channel, type(exc).__name__)

    async def _release(self, ids: list[int]) -> None:
        """Give back rows claimed here but not worked (stopping): any instance may take them now."""
        if ids:
            await self._quietly(update(InboxItem).where(InboxItem.id.in_(ids), InboxItem.claimed_by == self.token)
                                .values(claimed_by=None, claimed_until=None))

    # -- recovery -----------------------------------------------------------------------

    async def replay(self, *, stale_only: bool = False) -> int:
        """Work every stored row of this channel that no instance holds (nobody's, or whose
        holder's lease ran out, or failed here), oldest first and one at a time (a person's
        messages keep their order). Returns how many were worked. ``stale_only`` is kept for
        callers: every pass takes the same rows, the claims tell which are free."""
        del stale_only
        rows = await self._take()
        self._queued.update(i for i, _, _ in rows)
        n = 0
        for item_id, kid, blob in rows:
            self._queued.discard(item_id)
            if item_id in self._lost:  # another instance took it over: it works it
                self._held.discard(item_id)
                self._lost.discard(item_id)
                continue
            try:
                payload = json.loads(self.sealer.open(kid, blob, aad=_aad(self.channel)))
            except Exception as exc:  # an unknown key is refused at start-up; anything else is damage
                log.error("%s inbox item %d cannot be opened (%s)", self.channel, item_id, type(exc).__name__)
                self._held.discard(item_id)  # its lease runs out: looked at again by a later sweep
                continue
            await self._work(item_id, payload)
            n += 1
        if n:
            log.info("%s inbox: %d stored item(s) worked", self.channel, n)
        return n

    async def _next_expiry(self) -> float | None:
        """Seconds until the first lease held elsewhere runs out (its row may then be abandoned)."""
        async with self.sessionmaker() as s:
            first = await s.scalar(select(func.min(InboxItem.claimed_until)).where(
                InboxItem.channel == self.channel, InboxItem.claimed_by != self.token))
        return None if first is None else (first - self.clock.now()).total_seconds()

    async def _run(self) -> None:
        while True:
            wait = self.sweep_seconds
            try:
                await self.replay()
                # A row held by a process that died (a restart: this one's predecessor) is taken
                # as soon as its lease runs out, not up to a sweep later.
                if (left := await self._next_expiry()) is not None:
                    wait = min(wait, max(left, 0.0) + 0.05)
            except Exception as exc:  # the database is away: try again at the next sweep
                log.warning("%s inbox sweep failed (%s)", self.channel, type(exc).__name__)
            await asyncio.sleep(wait)

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._run())
        self._keeper = asyncio.create_task(self._keep())

    async def stop(self) -> None:
        await cancel_quietly(self._loop)
        self._loop = None
        # Rows a sweep took but never started: any instance may take them at once.
        queued, self._queued = sorted(self._queued), set()
        self._held.difference_update(queued)
        await self._release(queued)
        # Work in progress may finish; what does not stays stored for the next start (or another
        # instance, once its lease has run out).
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=STOP_GRACE_SECONDS)
        await cancel_quietly(self._keeper)
        self._keeper = None

    async def drain(self) -> None:
        """Wait until the work in progress is done (tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
