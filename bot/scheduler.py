"""Everything on a clock, with exactly one owner among running instances.

Each instance tries to take (or renew) a lease row every ``LEASE_RENEW``; the holder runs
APScheduler (AsyncIOScheduler with a SQLAlchemy job store on the synchronous twin of the
database URL); if the owner dies its lease expires and another instance takes over within
``LEASE_SECONDS`` plus one renewal.

APScheduler 3's job store must never be used by two schedulers at once, so an owner stops acting
as one as soon as it cannot be sure it still holds the lease: when a renewal fails, and when its
own monotonic clock says the lease may have run out since the last renewal (a stalled process).
Each job also checks, in its own transaction, that this instance holds the lease, locking the row
(PostgreSQL) so that no take-over can happen while the job runs.
Jobs read time from the injected clock, so tests move a clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.tasks import cancel_quietly
from handlers.deps import Deps
from handlers.dispatcher import purge_chat_rows
from handlers.reporter.receipts import purge_throttles
from handlers.reporter.tips import purge_orphan_attachments
from handlers.schedule import digest as digest_mod
from handlers.schedule.ticker import tick
from handlers.state import purge_expired
from storage.db import private_sqlite_file, scrub_deleted, sync_url
from storage.models import SchedulerLease

log = logging.getLogger("lianzu.scheduler")
LEASE_NAME = "scheduler"
LEASE_SECONDS = 10.0
LEASE_RENEW = 2.0
# An owner stops this long before its lease could have run out, by its own clock.
LEASE_SAFETY = 2.0


async def take_lease(sm: async_sessionmaker[AsyncSession], owner: str, now: datetime, seconds: float = LEASE_SECONDS) -> bool:
    """Take or renew the lease; True when ``owner`` holds it afterwards."""
    until = now + timedelta(seconds=seconds)
    async with sm() as s, s.begin():
        res = await s.execute(update(SchedulerLease).where(
            SchedulerLease.name == LEASE_NAME,
            (SchedulerLease.owner == owner) | (SchedulerLease.expires_at < now),
        ).values(owner=owner, expires_at=until))
        if res.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult; execute() is typed as Result
            return True
        if await s.get(SchedulerLease, LEASE_NAME) is None:
            try:
                async with s.begin_nested():
                    s.add(SchedulerLease(name=LEASE_NAME, owner=owner, expires_at=until))
                return True
            except IntegrityError:
                return False
    return False


async def release_lease(sm: async_sessionmaker[AsyncSession], owner: str) -> None:
    async with sm() as s, s.begin():
        await s.execute(update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME, SchedulerLease.owner == owner)
                        .values(expires_at=datetime(2000, 1, 1).astimezone()))


async def holds_lease(s: AsyncSession, owner: str, now: datetime) -> bool:
    """Inside a job's transaction: whether ``owner`` holds the lease; the row stays locked until
    the transaction ends (PostgreSQL), so the lease cannot change hands meanwhile."""
    row = await s.scalar(select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME).with_for_update())
    return row is not None and row.owner == owner and row.expires_at > now


def jobstore_url(async_url: str) -> str:
    """APScheduler's job store (synchronous). On SQLite it gets a file of its own: its writes
    block the event loop, and would deadlock with an aiosqlite transaction on the same file."""
    url = make_url(sync_url(async_url))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return url.set(database=url.database + "-jobs").render_as_string(hide_password=False)
    return url.render_as_string(hide_password=False)


class ClockJobs:
    """The jobs themselves, callable directly (tests) or by APScheduler (production)."""

    def __init__(self, deps: Deps, owner: str | None = None) -> None:
        self.deps, self.config, self.clock = deps, deps.config, deps.clock
        self.owner = owner  # set: jobs run only while this owner holds the lease

    async def _fenced(self, s: AsyncSession) -> bool:
        if self.owner is None or await holds_lease(s, self.owner, self.clock.now()):
            return True
        log.warning("clock job skipped: this instance no longer holds the scheduler lease")
        return False

    async def minute(self) -> None:
        async with self.deps.begin() as uow:
            if not await self._fenced(uow.session):
                return
            now = uow.now()
            result = await tick(uow)
            await purge_expired(uow.session, now)
            # Files of drafts that can no longer be continued are deleted, not kept.
            await purge_orphan_attachments(uow.session, now - timedelta(hours=self.config.draft_ttl_hours))
            await purge_throttles(uow.session, now, timedelta(minutes=self.config.receipt_window_minutes))
            await purge_chat_rows(uow.session, now)
        # Deleted drafts must not survive in the database files (WAL, dead rows) past this minute.
        try:
            await scrub_deleted(self.deps.sessionmaker)
        except Exception:  # busy now; the next minute tries again
            log.warning("scrubbing deleted rows failed; retried next minute", exc_info=True)
        if result.reminders or result.escalations:
            log.info("clock: %d reminders, %d escalations", result.reminders, result.escalations)

    async def daily_digest(self) -> int:
        now = self.clock.now()
        if self.config.digest_working_days_only and not self.deps.policy.calendar.is_workday(
                now.astimezone(self.config.tz).date()):
            return 0
        async with self.deps.begin() as uow:
            if not await self._fenced(uow.session):
                return 0
            return await digest_mod.send_digests(uow)


class Scheduler:
    """A Service: campaigns for the lease and runs APScheduler while it holds it."""

    name = "scheduler"

    def __init__(self, deps: Deps, *, owner: str | None = None, lease_seconds: float = LEASE_SECONDS, renew_seconds: float = LEASE_RENEW,
                 minute_seconds: float = 60.0) -> None:
        self.sm, self.config, self.clock = deps.sessionmaker, deps.config, deps.clock
        self.owner = owner or f"lianzu-{uuid.uuid4().hex[:12]}"
        self.lease_seconds, self.renew_seconds, self.minute_seconds = lease_seconds, renew_seconds, minute_seconds
        self.jobs = ClockJobs(deps, self.owner)
        self._held_until = 0.0  # loop time after which the lease may have run out
        self.aps: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def is_owner(self) -> bool:
        return self.aps is not None

    def _start_aps(self) -> None:
        private_sqlite_file(jobstore_url(self.config.database_url))
        store = SQLAlchemyJobStore(url=jobstore_url(self.config.database_url), tablename="apscheduler_jobs")
        aps = AsyncIOScheduler(jobstores={"default": store}, timezone=self.config.tz)
        # Jobs are stored by reference, so any owner can run them after a take-over.
        aps.add_job("bot.scheduler:run_minute", "interval", seconds=self.minute_seconds, id="minute",
                    replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=300)
        hh, mm = (int(x) for x in self.config.digest_time.split(":"))
        aps.add_job("bot.scheduler:run_digest", "cron", hour=hh, minute=mm, id="digest", replace_existing=True,
                    coalesce=True, max_instances=1, misfire_grace_time=3600)
        aps.start()
        self.aps = aps
        log.info("scheduler owner: %s", self.owner)

    def _stop_aps(self) -> None:
        if self.aps is not None:
            self.aps.shutdown(wait=False)
            self.aps = None

    def _expire_if_stale(self) -> None:
        """Stop acting as owner once the lease may have run out since the last renewal."""
        if self.aps is not None and asyncio.get_running_loop().time() >= self._held_until:
            log.warning("scheduler lease not renewed in time: stepping down")
            self._stop_aps()

    async def campaign_once(self) -> bool:
        asked = asyncio.get_running_loop().time()
        held = await take_lease(self.sm, self.owner, self.clock.now(), self.lease_seconds)
        if held:
            self._held_until = asked + self.lease_seconds - min(LEASE_SAFETY, self.lease_seconds / 2)
        if held and self.aps is None:
            _CURRENT[0] = self
            self._start_aps()
        elif not held and self.aps is not None:
            self._stop_aps()
        return held

    async def _campaign_guarded(self) -> None:
        try:
            # A renewal that hangs (the database unreachable) must not keep an owner running.
            async with asyncio.timeout(self.lease_seconds / 2):  # unlike 3.11's wait_for, never eats a cancel
                await self.campaign_once()
        except asyncio.CancelledError:
            raise
        except Exception:  # TimeoutError included
            log.exception("lease renewal failed")
            self._stop_aps()  # without a renewed lease, stop acting as owner
        self._expire_if_stale()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            await self._campaign_guarded()

    async def start(self) -> None:
        # The first campaign is part of starting: once start() returns, this instance knows whether
        # it owns the schedule (and an owner's job store exists), whatever the event loop does next.
        await self._campaign_guarded()
        self._task = asyncio.create_task(self._loop(), name="scheduler-lease")

    async def stop(self) -> None:
        await cancel_quietly(self._task)
        self._task = None
        self._stop_aps()
        await release_lease(self.sm, self.owner)


# APScheduler stores jobs by reference ("module:function"); these find the running owner.
_CURRENT: list[Scheduler | None] = [None]


def _owner() -> Scheduler | None:
    sched = _CURRENT[0]
    if sched is None:
        return None
    sched._expire_if_stale()
    return sched if sched.is_owner else None


async def run_minute() -> None:
    if (sched := _owner()) is not None:
        await sched.jobs.minute()


async def run_digest() -> None:
    if (sched := _owner()) is not None:
        await sched.jobs.daily_digest()
