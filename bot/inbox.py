"""The inbox: what a platform posts to us (a WeCom callback, a Telegram webhook update) is stored
in the database, sealed, before the platform gets its 200, and worked from there.

WeCom does not send a callback again once it was answered, and Telegram does not re-send an
acknowledged update: a process killed between the answer and the end of the work would lose the
message silently. So the order is *store, answer, work, delete*. A row left behind (the process
died, or the database went away during the work) is worked again by the next start and by a
periodic sweep on any instance; the dispatcher's de-duplication makes a second run harmless.

The payload can identify an anonymous reporter (a chat id, a WeCom user id): it is sealed with
the installation's keys, keeps only the minute it arrived, and is deleted as soon as it has been
handled. Nothing of it is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.tasks import cancel_quietly
from handlers.clock import Clock
from storage.crypto import Sealer
from storage.models import InboxItem

log = logging.getLogger("lianzu.inbox")
Process = Callable[[dict[str, Any]], Awaitable[None]]
SWEEP_SECONDS = 10.0
# A row this old that no process of ours is working on was abandoned (its process died) or failed.
STALE_AFTER = timedelta(minutes=2)
STOP_GRACE_SECONDS = 10.0


class StoreFailed(Exception):
    """The post could not be stored; the platform must be told to send it again."""


def _aad(channel: str) -> bytes:
    return f"inbox:{channel}".encode()


class Inbox:
    """The durable intake of one channel; also a service (``start`` replays, then sweeps)."""

    def __init__(self, channel: str, sessionmaker: async_sessionmaker[AsyncSession], sealer: Sealer, clock: Clock,
                 *, sweep_seconds: float = SWEEP_SECONDS) -> None:
        self.channel = channel
        self.name = f"{channel} inbox"
        self.sessionmaker, self.sealer, self.clock = sessionmaker, sealer, clock
        self.sweep_seconds = sweep_seconds
        self._process: Process | None = None
        self._busy: set[int] = set()  # rows this process is working on: never taken twice here
        self._failed: set[int] = set()  # rows whose work failed here: the next sweep tries them again
        self.tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def serve(self, process: Process) -> None:
        """What handles one stored payload. It raises when the work should be tried again later
        (the database was unavailable, a download failed); failures after the point where a retry
        would be de-duplicated anyway (sending the answer) it logs and swallows."""
        self._process = process

    # -- intake -------------------------------------------------------------------------

    async def accept(self, payload: dict[str, Any]) -> None:
        """Store ``payload``, then work on it in the background. Raises ``StoreFailed`` when it
        could not be stored: answer the platform with an error so that it sends it again."""
        kid, blob = self.sealer.seal(json.dumps(payload, separators=(",", ":")).encode(), aad=_aad(self.channel))
        minute = self.clock.now().replace(second=0, microsecond=0)
        try:
            async with self.sessionmaker() as s, s.begin():
                # One INSERT … RETURNING, without the ORM's flush: on every webhook request.
                item_id = (await s.execute(insert(InboxItem).values(
                    channel=self.channel, key_id=kid, sealed=blob, received_at=minute).returning(InboxItem.id))).scalar_one()
        except Exception as exc:
            log.warning("%s post not stored (%s): the platform is asked to send it again",
                        self.channel, type(exc).__name__)
            raise StoreFailed from exc
        self._busy.add(item_id)
        task = asyncio.create_task(self._work(item_id, payload))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _work(self, item_id: int, payload: dict[str, Any]) -> None:
        self._busy.add(item_id)
        try:
            assert self._process is not None, "Inbox.serve() was not called"
            try:
                await self._process(payload)
            except Exception as exc:
                log.warning("%s inbox item %d not handled (%s): kept for another try",
                            self.channel, item_id, type(exc).__name__)
                self._failed.add(item_id)
                await self._quietly(update(InboxItem).where(InboxItem.id == item_id)
                                    .values(attempts=InboxItem.attempts + 1))
                return
            self._failed.discard(item_id)
            await self._quietly(delete(InboxItem).where(InboxItem.id == item_id))
        finally:
            self._busy.discard(item_id)

    async def _quietly(self, statement: Any) -> None:
        try:
            async with self.sessionmaker() as s, s.begin():
                await s.execute(statement)
        except Exception as exc:  # the row stays; a retry is de-duplicated by the dispatcher
            log.warning("%s inbox row not updated (%s)", self.channel, type(exc).__name__)

    # -- recovery -----------------------------------------------------------------------

    async def replay(self, *, stale_only: bool = False) -> int:
        """Work every stored row of this channel that nobody here is working on, oldest first and
        one at a time (a person's messages keep their order). Returns how many were worked."""
        cutoff = self.clock.now() - STALE_AFTER
        q = select(InboxItem.id, InboxItem.key_id, InboxItem.sealed).where(InboxItem.channel == self.channel)
        if stale_only:
            q = q.where(or_(InboxItem.received_at <= cutoff, InboxItem.id.in_(self._failed)))
        async with self.sessionmaker() as s:
            rows = (await s.execute(q.order_by(InboxItem.id))).all()
        n = 0
        for item_id, kid, blob in rows:
            if item_id in self._busy:
                continue
            try:
                payload = json.loads(self.sealer.open(kid, blob, aad=_aad(self.channel)))
            except Exception as exc:  # an unknown key is refused at start-up; anything else is damage
                log.error("%s inbox item %d cannot be opened (%s)", self.channel, item_id, type(exc).__name__)
                continue
            await self._work(item_id, payload)
            n += 1
        if n:
            log.info("%s inbox: %d stored item(s) worked again", self.channel, n)
        return n

    async def _run(self) -> None:
        stale_only = False  # the first pass, at start, takes everything left by a previous process
        while True:
            try:
                await self.replay(stale_only=stale_only)
                stale_only = True
            except Exception as exc:  # the database is away: try again at the next sweep
                log.warning("%s inbox sweep failed (%s)", self.channel, type(exc).__name__)
            await asyncio.sleep(self.sweep_seconds)

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel_quietly(self._loop)
        self._loop = None
        # Work in progress may finish; what does not stays stored for the next start.
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=STOP_GRACE_SECONDS)

    async def drain(self) -> None:
        """Wait until the work in progress is done (tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
