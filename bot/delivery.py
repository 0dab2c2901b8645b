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

On PostgreSQL several instances may deliver at once, so a channel with limits is paced through the
database, in the database's clock: the overall limit is a sliding window over the sends of all
instances (``delivery_sends``: each send counts from before it starts until a full period after
its answer), from which an instance takes as many slots as have room, under a lock on the
channel's ``delivery_pace`` row; a channel's claims are serialised by another such lock, a chat is
claimed only while no other worker holds a live row of it, and after each send the chat's row says
when the next send to it may start, for whichever worker serves it next. Each instance claims only
its share of the channel's rate (the live instances are counted at each claim), and claims again
once half of what it holds has gone out: claimed as if alone, it would hold rows and chats it could
not send before its lease runs out, hand them back, and keep the others from them meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Interval, Table, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.channels.base import UNLIMITED, DeliveryError, Limits, OutputChannel
from bot.tasks import cancel_quietly
from handlers.access import may_hear
from handlers.clock import Clock
from handlers.config import Config
from handlers.events import Reply
from handlers.i18n import Gettext
from handlers.uow import notify_staff
from storage.base import UTCDateTime
from storage.crypto import Sealer
from storage.models import Case, ChatIdentity, DeliverySend, Outbox, OutboxStatus, Role, Staff, StaffRole

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
# An instance with nothing to send claims again after poll_seconds, then less and less often
# (up to this), so that idle instances do not keep the claim lock and the database busy.
IDLE_BACKOFF = 0.2  # seconds
# Shared pacing (PostgreSQL): the overall window's sends are rows of delivery_sends, in the
# database's clock. A send counts from before it starts until a full period (plus this margin)
# after its answer was recorded, or, never answered (its instance was killed), until it is stale.
SHARED_MARGIN = 0.01  # seconds
SEND_STALE = CLAIM_LEASE  # a send is never in flight longer than a lease: the row would be taken over
WINDOW_POLL = 0.005  # seconds between looks at a full window whose every send is still in flight
SHARED_CHAT_MARGIN = 0.02  # seconds after the recorded answer to a chat's last send, whoever sent it
# Each instance says it delivers on a channel (a delivery_pace row "live:channel:token" with an
# expiry) at every claim; the channel's rate is shared by the live ones, and each claims only its
# share of what can go out within half a lease. An instance that claimed as if alone would hold
# rows (and their chats) it cannot send before its lease runs out, and hand them back.
ALIVE_FOR = 2 * CLAIM_LEASE

SENDS = cast(Table, DeliverySend.__table__)

CHAT_SENT = text(
    "INSERT INTO delivery_pace (name, next_at) VALUES (:name, COALESCE(:at, clock_timestamp()) + :gap) "
    "ON CONFLICT (name) DO UPDATE SET next_at = GREATEST(delivery_pace.next_at, excluded.next_at)"
).bindparams(bindparam("gap", type_=Interval()), bindparam("at", type_=UTCDateTime()))
# Locks one row of delivery_pace (made if missing) until the transaction ends; returns the
# database's time once the lock is held.
LOCK = text(
    "INSERT INTO delivery_pace (name, next_at) VALUES (:name, clock_timestamp()) "
    "ON CONFLICT (name) DO UPDATE SET next_at = excluded.next_at RETURNING clock_timestamp() AS now")
CHATS_DUE = text("SELECT name, next_at, clock_timestamp() AS now FROM delivery_pace WHERE name = ANY(:names)")
ALIVE = text(
    "INSERT INTO delivery_pace (name, next_at) VALUES (:name, clock_timestamp() + :alive) "
    "ON CONFLICT (name) DO UPDATE SET next_at = excluded.next_at"
).bindparams(bindparam("alive", type_=Interval()))
LIVE = text(
    "SELECT count(*) FROM delivery_pace WHERE name LIKE :prefix AND next_at > clock_timestamp()")
FORGET = text("DELETE FROM delivery_pace WHERE name LIKE :prefix AND next_at <= clock_timestamp()")


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
        self.not_before = 0.0  # set from the database: another instance's last send

    def ready_at(self, now: float) -> float:
        if len(self.times) < (self.times.maxlen or 1):
            return self.not_before
        start, answered = self.times[0]
        if answered is None:  # still in flight: look again shortly
            return max(now + 0.005, (start or 0.0) + self.period + self.margin, self.not_before)
        return max(answered + self.period + self.margin, self.not_before)

    def record(self, t: float) -> list[float | None]:
        entry: list[float | None] = [t, None]
        self.times.append(entry)
        return entry


class SharedWindow:
    """One channel's overall window, shared by every instance through the database: a sliding
    window over the actual sends of all of them. Slots are taken a few at a time under a lock on
    the channel's pace row, as many as the window has room for at that moment, and used at once;
    a late wake-up then only delays a send, it never lets two land too close together, because a
    send counts from before it starts until a full period after its recorded answer."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], name: str, limits: Limits) -> None:
        self.sm, self.name = sm, name
        self.count = max(1, math.floor(limits.overall))
        self.span = timedelta(seconds=limits.overall_period * self.count / limits.overall + SHARED_MARGIN)
        self.tokens: deque[tuple[int, float]] = deque()  # taken slots (id, loop time it opens) not yet used
        self.answers: list[tuple[int, float]] = []  # (slot, loop time of its answer) not yet written
        # loop time - database time: lower bounds (read after `before`) and upper bounds (read
        # before `after`) from recent looks; the two clocks drift slowly, older looks are forgotten.
        self._offsets: deque[float] = deque(maxlen=50)
        self._uppers: deque[float] = deque(maxlen=50)
        self.taken = self.looks = 0  # counted for benchmarks
        # Slots taken at one look at most: the window divided among the instances delivering on
        # the channel. One that took every slot in sight would starve the others, who then hold
        # claimed rows past their leases and hand them back.
        self.share = self.count
        # A connection of its own: slots are taken at the pace of the sends, never queued behind
        # the worker's other transactions for one of the pool's.
        bind = sm.kw.get("bind")
        assert isinstance(bind, AsyncEngine), "a shared window needs the sessionmaker's engine"
        self.engine = bind
        self._conn: AsyncConnection | None = None
        self._connecting = asyncio.Lock()

    def to_db(self, t: float) -> datetime | None:
        """The latest database time that loop time ``t`` may be (None before the first look)."""
        return datetime.fromtimestamp(t - max(self._offsets), UTC) if self._offsets else None

    async def close(self) -> None:
        if self.tokens:  # slots taken but never used: free them for the other instances now
            ids, self.tokens = [t for t, _ in self.tokens], deque()
            with suppress(Exception):
                async with self.sm() as s, s.begin():
                    await s.execute(delete(SENDS).where(SENDS.c.id.in_(ids)))
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with suppress(Exception):
                await conn.close()

    async def take(self, wanted: int, deadline: float = math.inf) -> int | None:
        """A slot for one of ``wanted`` waiting sends (its delivery_sends id), once it is open;
        None if it would open only after ``deadline`` (loop time): the slot stays for the next."""
        loop = asyncio.get_running_loop()
        while not self.tokens:
            got, wait = await self._take(min(wanted, self.share))
            self.tokens.extend(got)
            if not got:
                if loop.time() + wait > deadline:
                    return None
                await asyncio.sleep(wait)
        if self.tokens[0][1] > deadline:
            return None
        token, opens = self.tokens.popleft()
        if (d := opens - loop.time()) > 0:  # later is harmless: the slot counts from its opening
            await asyncio.sleep(d)
        return token

    async def connect(self) -> AsyncConnection:
        """The window's own connection, opened (and the two clocks compared a few times) before
        the first slot is wanted: the first slots would otherwise wait for both."""
        async with self._connecting:  # the service loop and a send may both want it first
            return await self._connect()

    async def _connect(self) -> AsyncConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = await self.engine.connect()
        try:
            loop = asyncio.get_running_loop()
            async with conn.begin():
                for _ in range(3):
                    before = loop.time()
                    stamp = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one().timestamp()
                    self._offsets.append(before - stamp)
                    self._uppers.append(loop.time() - stamp)
        except BaseException:
            with suppress(Exception):
                await conn.close()
            raise
        self._conn = conn
        return conn

    async def _take(self, wanted: int) -> tuple[list[tuple[int, float]], float]:
        """Up to ``wanted`` slots now, or none and how long until one may be free."""
        self.looks += 1
        loop = asyncio.get_running_loop()
        conn = await self.connect()
        try:
            return await self._take_on(conn, wanted, loop)
        except BaseException:
            self._conn = None
            with suppress(Exception):
                await conn.close()
            raise

    async def _take_on(self, s: AsyncConnection, wanted: int,
                       loop: asyncio.AbstractEventLoop) -> tuple[list[tuple[int, float]], float]:
        sends = SENDS
        async with s.begin():
            before = loop.time()
            now = (await s.execute(LOCK, {"name": self.name})).scalar_one()
            after = loop.time()
            stamp = now.timestamp()
            self._offsets.append(before - stamp)
            self._uppers.append(after - stamp)
            lo, hi = max(self._offsets), min(self._uppers)
            if lo > hi:  # a clock stepped: start again from this look
                self._offsets.clear()
                self._uppers.clear()
                self._offsets.append(before - stamp)
                self._uppers.append(after - stamp)
                lo, hi = before - stamp, after - stamp
            if self.answers:
                # This instance's answers since its last look, each at a database time never
                # earlier than the real one (loop time - lo): its finishing transaction may still
                # be queued for a connection, and until written a slot counts as in flight.
                answers, self.answers = self.answers, []
                await s.execute(update(sends).where(sends.c.id == bindparam("tid"))
                                .values(answered_at=func.least(sends.c.answered_at, bindparam("t"))),
                                [{"tid": tid, "t": datetime.fromtimestamp(t - lo, UTC)} for tid, t in answers])
            await s.execute(delete(sends).where(
                sends.c.channel == self.name,
                or_(sends.c.answered_at <= now - self.span,
                    sends.c.answered_at.is_(None) & (sends.c.started_at <= now - SEND_STALE))))
            rows = (await s.execute(select(sends.c.answered_at).where(sends.c.channel == self.name))).scalars().all()
            # Room now, then one more slot as each answered send leaves the window (a slot opens
            # then; one never answered counts until stale). Only as many as are waiting.
            expiries = sorted(a + self.span for a in rows if a is not None)
            free = self.count - len(rows)
            skip = max(0, -free)  # over the limit (it was lowered): those leave first
            opens = [now] * max(0, min(free, wanted))
            opens += expiries[skip:skip + wanted - len(opens)]
            if not opens:  # every send in the window still in flight: answers come within milliseconds
                return [], WINDOW_POLL
            ids = (await s.execute(insert(sends).returning(sends.c.id, sort_by_parameter_order=True),
                                   [{"channel": self.name, "started_at": t} for t in opens])).scalars().all()
        self.taken += len(ids)
        # A slot opens at its database time, mapped to the latest loop time it may be.
        return [(i, t.timestamp() + hi) for i, t in zip(ids, opens, strict=True)], 0.0


class Pacer:
    """One channel's windows: overall, and per chat. With a ``shared`` window (several instances on
    one database) the overall limit is that window's, and a chat's sends are evenly spaced."""

    def __init__(self, limits: Limits, shared: SharedWindow | None = None) -> None:
        self.limits, self.shared = limits, shared
        self.overall = Window(limits.overall, limits.overall_period, MARGIN_OVERALL)
        self.chats: dict[str, Window] = {}
        self.lock = asyncio.Lock()  # first come, first served for the overall window
        self.waiting = 0

    def chat(self, address: str) -> Window:
        w = self.chats.get(address)
        if w is None:
            if len(self.chats) > 10_000:  # forget chats whose window is long past
                now = asyncio.get_running_loop().time()
                self.chats = {a: c for a, c in self.chats.items() if c.ready_at(now) > now}
            lim = self.limits
            if self.shared is None:
                w = Window(lim.per_chat, lim.per_chat_period, MARGIN_PER_CHAT)
            else:  # evenly spaced: the next instance to serve the chat knows only the last send
                w = Window(1, lim.per_chat_period / lim.per_chat, SHARED_CHAT_MARGIN)
            self.chats[address] = w
        return w

    async def acquire(self, address: str, not_before: float = 0.0, deadline: float = math.inf) -> Permit | None:
        """Wait until a send to ``address`` keeps both windows and record it as started now;
        the permit's ``answered`` is to be called once the platform has answered (or failed).
        None if the shared window has no slot for it before ``deadline`` (loop time)."""
        loop = asyncio.get_running_loop()
        chat = self.chat(address)
        chat.not_before = max(chat.not_before, not_before)
        while (d := chat.ready_at(loop.time()) - loop.time()) > 0:  # per chat first: no place held
            await asyncio.sleep(d)
        self.waiting += 1
        entered = False
        token = None
        try:
            async with self.lock:
                self.waiting, entered = self.waiting - 1, True
                if self.shared is not None:
                    # The shared window's slot counts from now: waiting for the chat after it
                    # (only if another queue shares the chat) costs room, never the limit.
                    token = await self.shared.take(1 + self.waiting, deadline)
                    if token is None:
                        return None
                    while (d := chat.ready_at(loop.time()) - loop.time()) > 0:
                        await asyncio.sleep(d)
                else:
                    # Overall, then per chat again (waiting only helps it; another queue may share the chat).
                    while (d := max(self.overall.ready_at(now := loop.time()), chat.ready_at(now)) - now) > 0:
                        await asyncio.sleep(d)
                t = loop.time()
                return Permit((self.overall.record(t), chat.record(t)), token, self.shared)
        finally:
            if not entered:  # cancelled while queued
                self.waiting -= 1


@dataclass
class Permit:
    """A send allowed by the windows: its entries (answered when the platform answers), and its
    slot of the shared window (a delivery_sends id) when the limit is shared."""

    entries: tuple[list[float | None], ...]
    token: int | None = None
    window: SharedWindow | None = None

    def answered(self) -> None:
        if self.entries[0][1] is not None:  # once: the first answer is the platform's
            return
        t = asyncio.get_running_loop().time()
        for e in self.entries:
            e[1] = t
        if self.window is not None and self.token is not None:
            self.window.answers.append((self.token, t))

    def answered_db(self) -> datetime | None:
        """When the platform answered, in the database's clock (never early), if known."""
        t = self.entries[0][1]
        return None if self.window is None or t is None else self.window.to_db(t)


@dataclass
class _Claimed:
    oid: int
    channel: str
    chat: object  # the identity, or the row itself when it has none
    attempts: int  # the claim's token: a takeover by another worker increments it
    until: datetime
    not_before: float = 0.0  # loop time: another instance's last send to the chat (shared pacing)
    # Read with the claim (one statement for the whole claim, not two per send): what to send, where.
    payload: dict[str, object] | None = None
    address: str | None = None
    sealed_address: tuple[str, bytes] | None = None  # (key id, sealed) of a row with no chat identity
    case_id: int | None = None  # the case a notice to staff names: need-to-know is checked again
    done: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())



class DeliveryWorker:
    name = "delivery"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], channels: dict[str, OutputChannel],
                 sealer: Sealer, clock: Clock, config: Config, *, limits: dict[str, Limits] | None = None,
                 poll_seconds: float = 1.0, max_attempts: int = MAX_ATTEMPTS,
                 claim_lease: timedelta = CLAIM_LEASE, shared: bool | None = None) -> None:
        self.sm, self.channels, self.sealer, self.clock, self.config = sessionmaker, channels, sealer, clock, config
        # Channel name → its platform's limits (bot.channels.registry.delivery_limits); others: UNLIMITED.
        self.limits = dict(limits or {})
        self.poll_seconds, self.max_attempts, self.claim_lease = poll_seconds, max_attempts, claim_lease
        # Pacing through the database: None decides by the database (PostgreSQL: shared).
        self.shared = shared
        self._pacers: dict[str, Pacer] = {}
        self._queues: dict[tuple[str, object], deque[_Claimed]] = {}
        self._serving: dict[tuple[str, object], _Claimed] = {}  # each chat's row being delivered
        self._chat_tasks: dict[tuple[str, object], asyncio.Task[None]] = {}
        self._outstanding: dict[str, int] = {name: 0 for name in channels}
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.token = secrets.token_hex(8)  # this instance, in its "live:" rows
        self._peers: dict[str, int] = {}  # channel → live instances delivering on it (self included)
        self._claims = 0
        self.released = 0  # claimed rows handed back unsent (counted for benchmarks)

    # -- limits --------------------------------------------------------------------------

    def _shares(self, channel: str) -> bool:
        """Whether ``channel``'s limits are kept together with other instances, through the database."""
        return bool(self.shared) and channel in self.limits

    def _pacer(self, channel: str) -> Pacer:
        if channel not in self._pacers:
            lim = self.limits.get(channel, UNLIMITED)
            shared = SharedWindow(self.sm, channel, lim) if self._shares(channel) else None
            self._pacers[channel] = Pacer(lim, shared)
        return self._pacers[channel]

    def _chat_gap(self, channel: str) -> timedelta:
        lim = self.limits[channel]
        return timedelta(seconds=lim.per_chat_period / lim.per_chat + SHARED_CHAT_MARGIN)

    def _soon(self, channel: str) -> tuple[int, int]:
        """How many rows this instance can send within half a lease: overall (its share of the
        channel's rate), and per chat."""
        lim, half = self.limits.get(channel, UNLIMITED), self.claim_lease.total_seconds() / 2
        peers = self._peers.get(channel, 1)
        return (max(1, math.floor(lim.overall / lim.overall_period * half / peers)),
                max(1, math.floor(lim.per_chat / lim.per_chat_period * half)))

    async def _alive(self, s: AsyncSession, channel: str) -> None:
        """Say this instance delivers on ``channel`` and count the instances that do."""
        prefix = f"live:{channel}:"
        await s.execute(ALIVE, {"name": prefix + self.token, "alive": ALIVE_FOR})
        self._claims += 1
        if self._claims % 100 == 1:  # instances that stopped long ago
            await s.execute(FORGET, {"prefix": prefix + "%"})
        peers = self._peers[channel] = max(1, int((await s.execute(LIVE, {"prefix": prefix + "%"})).scalar_one()))
        if (shared := self._pacer(channel).shared) is not None:
            shared.share = max(1, math.ceil(shared.count / peers))

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
            if self.shared is None:
                self.shared = pg  # several instances can share PostgreSQL, never a SQLite file
            for name in self.channels:
                if room.get(name, 0) <= 0:
                    continue
                if self._shares(name):
                    # Claims of a channel are serialised: a claim made meanwhile by another
                    # instance but not yet committed would be invisible to this one's check below,
                    # and both would take rows of one chat (SKIP LOCKED only skips the rows).
                    await s.execute(LOCK, {"name": f"claim:{name}"})
                    await self._alive(s, name)
                overall, per_chat = self._soon(name)
                n = min(room.get(name, 0), overall - self._outstanding.get(name, 0), BATCH)
                if n <= 0:
                    continue
                # Each chat's due or in-flight rows, in order: only its first few are claimed, so a
                # chat's backlog is never leased for longer than it takes to send.
                rank = func.row_number().over(partition_by=func.coalesce(Outbox.identity_id, -Outbox.id),
                                              order_by=Outbox.id)
                ranked = select(Outbox.id, rank.label("rn")).where(Outbox.channel == name, or_(pending, sending)).subquery()
                pick = (select(Outbox.id).where(Outbox.id.in_(select(ranked.c.id).where(ranked.c.rn <= per_chat)),
                                                Outbox.channel == name, due).order_by(Outbox.id).limit(n))
                if self._shares(name):
                    # A chat is served by one worker at a time: none of its rows is live elsewhere.
                    other = aliased(Outbox)
                    alone = ~exists().where(other.identity_id == Outbox.identity_id,
                                            other.status == OutboxStatus.sending.value,
                                            other.locked_until >= now)
                    # … or this worker's, which keeps the chats it serves fed, in order.
                    mine = self._own_chats(name, now)
                    pick = pick.where(or_(alone, Outbox.identity_id.in_(mine)) if mine else alone)
                else:
                    mine = []
                if pg:
                    pick = pick.with_for_update(skip_locked=True)
                # Picked once (a CTE), not once per row of the table: with fresh statistics the
                # planner may otherwise re-run the whole pick for every row it updates.
                picked = pick.cte("picked").prefix_with("MATERIALIZED")
                stmt = (update(Outbox).where(Outbox.id.in_(select(picked.c.id)), due)
                        .values(status=OutboxStatus.sending.value, locked_until=until, attempts=Outbox.attempts + 1)
                        .returning(Outbox.id, Outbox.identity_id, Outbox.attempts, Outbox.payload,
                                   Outbox.address_enc, Outbox.key_id, Outbox.case_id)
                        .execution_options(synchronize_session=False))
                rows = sorted((await s.execute(stmt)).all(), key=lambda r: r[0])
                got = [_Claimed(oid, name, ident if ident is not None else -oid, attempts, until, payload=payload,
                                sealed_address=(kid, enc) if ident is None and enc is not None and kid else None,
                                case_id=case_id)
                       for oid, ident, attempts, payload, enc, kid, case_id in rows]
                await self._addresses(s, got)
                if got and self._shares(name):
                    # A chat this worker kept serving is paced by its own window alone.
                    await self._chats_not_before(s, name, [c for c in got if c.chat not in mine])
                claimed += got
        return claimed

    def _own_chats(self, channel: str, now: datetime) -> list[int]:
        """The chats of ``channel`` this worker is serving under leases that will not run out
        before their rows are sent or handed back (no other worker can have taken them over)."""
        safe = now + self.claim_lease * LEASE_GUARD
        own = []
        for key, q in self._queues.items():
            ch, chat = key
            held = [*q, *([self._serving[key]] if key in self._serving else [])]
            if ch == channel and isinstance(chat, int) and chat > 0 and held and min(c.until for c in held) > safe:
                own.append(chat)
        return sorted(own)

    async def _chats_not_before(self, s: AsyncSession, channel: str, claimed: list[_Claimed]) -> None:
        """When each claimed chat may next be sent to, after other instances' sends (loop time)."""
        names = sorted({f"{channel}:{c.chat}" for c in claimed if isinstance(c.chat, int) and c.chat > 0})
        if not names:
            return
        rows = (await s.execute(CHATS_DUE, {"names": names})).all()
        t = asyncio.get_running_loop().time()
        due = {name: t + (next_at - db_now).total_seconds() for name, next_at, db_now in rows}
        for c in claimed:
            c.not_before = due.get(f"{channel}:{c.chat}", 0.0)

    async def _chat_sent(self, s: AsyncSession, row: Outbox, at: datetime | None) -> None:
        """After a send (or an attempt) answered at ``at`` (the database's clock, never early;
        None: now): the chat's next send waits its interval, whoever makes it."""
        if row.identity_id is not None and self._shares(row.channel):
            await s.execute(CHAT_SENT, {"name": f"{row.channel}:{row.identity_id}", "gap": self._chat_gap(row.channel),
                                        "at": at})

    async def _answered(self, s: AsyncSession, token: int | None, at: datetime | None = None) -> None:
        """The platform has answered the send of this shared-window slot at ``at`` (the
        database's clock, never early; None: now): it counts a full period from then, for every
        instance. The answer's own time, not this transaction's: the transaction may wait for a
        connection, and each moment added here would keep the slot from the next send."""
        if token is not None:
            sends = SENDS
            when = func.clock_timestamp() if at is None else func.least(bindparam("at", at, type_=UTCDateTime()),
                                                                        func.clock_timestamp())
            await s.execute(update(sends).where(sends.c.id == token)
                            .values(answered_at=func.least(sends.c.answered_at, when)))

    async def _release(self, c: _Claimed, token: int | None = None) -> None:
        """Hand back a row whose lease ran out before its turn, its attempt not counted (nor its
        window slot: nothing was sent)."""
        self.released += 1
        async with self.sm() as s, s.begin():
            if token is not None:
                await s.execute(delete(SENDS).where(SENDS.c.id == token))
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
                self._serving[key] = c
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
            self._serving.pop(key, None)
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

    async def _addresses(self, s: AsyncSession, claimed: list[_Claimed]) -> None:
        """The chat addresses of claimed rows sent to a chat identity (none if it blocked the bot)."""
        idents = sorted({c.chat for c in claimed if isinstance(c.chat, int) and c.chat > 0})
        if not idents:
            return
        found = {i: ext for i, ext, blocked in (await s.execute(
            select(ChatIdentity.id, ChatIdentity.external_id, ChatIdentity.blocked_at)
            .where(ChatIdentity.id.in_(idents)))).all() if blocked is None}
        for c in claimed:
            if isinstance(c.chat, int) and c.chat > 0:
                c.address = found.get(c.chat)

    async def _withheld(self, c: _Claimed) -> bool:
        """Need-to-know again at sending: a notice naming a case may wait in the outbox (an outage, a
        backlog) while its reader declares a conflict or the case moves to a unit they are conflicted
        on; such a notice is never sent. Read in a session of its own, after the claim committed, so
        the check never holds the claim's write lock."""
        if c.case_id is None or not (isinstance(c.chat, int) and c.chat > 0):
            return False
        async with self.sm() as s:
            sid = await s.scalar(select(ChatIdentity.staff_id).where(ChatIdentity.id == c.chat))
            staff = await s.get(Staff, sid) if sid is not None else None
            case = await s.get(Case, c.case_id)
            if staff is None or not staff.active:
                return True
            return case is not None and not await may_hear(s, self.sealer, staff, case)

    async def _deliver(self, c: _Claimed) -> int:
        # Still ours without looking: another worker takes a row over only once its lease has run
        # out, and it is sent only while a safe part of the lease remains (checked below).
        oid, address, channel = c.oid, c.address, self.channels.get(c.channel)
        if c.sealed_address is not None:
            address = self.sealer.open_text(*c.sealed_address)
        if address is None or channel is None:
            await self._finish(c, OutboxStatus.dead, "no address")
            return 0
        if await self._withheld(c):
            await self._finish(c, OutboxStatus.dead, "withheld: conflict")
            return 0
        reply = Reply.model_validate(c.payload)
        # A slot of the shared window that would open only after the lease is safe is left for
        # the next send (or instance): taking it and handing the row back would waste it.
        latest = asyncio.get_running_loop().time() + \
            (c.until - self.claim_lease * LEASE_GUARD - self.clock.now()).total_seconds()
        permit = await self._pacer(c.channel).acquire(address, c.not_before, latest)
        if permit is None:
            await self._release(c)
            return 0
        token = permit.token
        if self.clock.now() >= c.until - self.claim_lease * LEASE_GUARD:
            permit.answered()
            await self._release(c, token)  # another worker may take it over any moment: not ours to send
            return 0
        try:
            await channel.send(address, reply)
        except DeliveryError as exc:
            permit.answered()
            await self._failed(oid, str(exc), retry_after=exc.retry_after, permanent=exc.permanent, token=token,
                               at=permit.answered_db())
            return 0
        except Exception as exc:  # a platform that is down: retry later, never lose it
            permit.answered()
            await self._failed(oid, f"{type(exc).__name__}: {exc}"[:500], token=token, at=permit.answered_db())
            return 0
        finally:
            permit.answered()
        await self._finish(c, OutboxStatus.sent, None, token, permit.answered_db())
        self.sent += 1
        return 1

    async def _finish(self, c: _Claimed, status: OutboxStatus, error: str | None, token: int | None = None,
                      at: datetime | None = None) -> None:
        now = self.clock.now()
        values: dict[str, object] = {"status": status.value, "last_error": error, "locked_until": None}
        if status is OutboxStatus.sent:
            values["sent_at"] = now
        async with self.sm() as s, s.begin():
            await self._answered(s, token, at)
            await s.execute(update(Outbox).where(Outbox.id == c.oid).values(**values)
                            .execution_options(synchronize_session=False))
            if status is OutboxStatus.sent and isinstance(c.chat, int) and c.chat > 0 and self._shares(c.channel):
                await s.execute(CHAT_SENT, {"name": f"{c.channel}:{c.chat}", "gap": self._chat_gap(c.channel),
                                            "at": at})

    async def _failed(self, oid: int, error: str, *, retry_after: float | None = None, permanent: bool = False,
                      token: int | None = None, at: datetime | None = None) -> None:
        now = self.clock.now()
        async with self.sm() as s, s.begin():
            await self._answered(s, token, at)
            row = await s.get(Outbox, oid)
            if row is None:
                return
            row.last_error, row.locked_until = error[:500], None
            await self._chat_sent(s, row, at)
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
            await notify_staff(s, sid, render, about=None, sealer=self.sealer, kind="dead_letter", now=now,
                               default_language=self.config.default_language, dedupe_key=f"dead:{oid}")

    # -- service -------------------------------------------------------------------------

    async def run(self) -> None:
        """Claim continuously while earlier claims are still being sent, keeping about half a
        lease's worth of sends in hand per channel."""
        idle = 0.0
        while True:
            try:
                room = {}
                for name in self.channels:
                    # Claimed again once half of what is in hand has gone out: one claim per
                    # few seconds' sends, not one per send.
                    soon, out = self._soon(name)[0], self._outstanding.get(name, 0)
                    room[name] = soon - out if out <= soon // 2 else 0
                claimed = await self._claim(self.clock.now(), room) if any(v > 0 for v in room.values()) else []
                self._enqueue(claimed)
                for pacer in self._pacers.values():
                    if pacer.shared is not None and pacer.shared._conn is None:
                        await pacer.shared.connect()
                if not claimed and not any(self._outstanding.values()):
                    idle = min(2 * idle, max(self.poll_seconds, IDLE_BACKOFF)) if idle else self.poll_seconds
                    await asyncio.sleep(idle)
                    continue
                idle = 0.0
                self._progress.clear()
                with suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):  # unlike 3.11's wait_for, never eats a cancel
                        await self._progress.wait()
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
        for pacer in self._pacers.values():
            if pacer.shared is not None:
                await pacer.shared.close()
