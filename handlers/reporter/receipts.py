"""Receipts: the reporter's only key. Shown once; only a slow hash is kept.

argon2id with the installation-wide salt (as GlobaLeaks does), so finding a tip from a receipt
is one hash plus one index lookup, never a scan over tips. Attempts are limited per sender
(atomically), wrong receipts from everywhere make further wrong receipts slower, and the
throttled answer never reveals whether a receipt exists.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, cast

from argon2.low_level import Type, hash_secret_raw
from sqlalchemy import Table, and_, case, delete, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.identity import sender_key
from storage.base import UTCDateTime
from storage.db import insert_for
from storage.models import ReceiptThrottle, Tip

RECEIPT_DIGITS = 16
# OWASP minimum for argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
ARGON2_HASH_LEN = 32
GLOBAL_KEY = "*"


def new_receipt() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(RECEIPT_DIGITS))


def format_receipt(receipt: str) -> str:
    """Groups of four for reading aloud or copying by hand: 1234 5678 9012 3456."""
    return " ".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


class ReceiptProblem(Enum):
    letters = "letters"
    length = "length"


def normalize_receipt(text: str) -> str | ReceiptProblem:
    """Accept spaces, dashes and full-width digits; anything else is a clear mistake."""
    cleaned = re.sub(r"[\s\-_·.]", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if not cleaned.isdigit() or not cleaned.isascii():
        return ReceiptProblem.letters
    if len(cleaned) != RECEIPT_DIGITS:
        return ReceiptProblem.length
    return cleaned


def _hash(receipt: str, salt: bytes) -> str:
    raw = hash_secret_raw(
        secret=receipt.encode(), salt=salt, time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM, hash_len=ARGON2_HASH_LEN, type=Type.ID,
    )
    return raw.hex()


async def hash_receipt(receipt: str, salt: bytes) -> str:
    # ~20 ms of CPU and 19 MiB: off the event loop.
    return await asyncio.to_thread(_hash, receipt, salt)


async def find_tip(session: AsyncSession, receipt: str, salt: bytes) -> Tip | None:
    digest = await hash_receipt(receipt, salt)
    tip: Tip | None = await session.scalar(select(Tip).where(Tip.receipt_hash == digest))
    return tip


# -- throttling -------------------------------------------------------------------------
#
# Per sender (a keyed hash of channel + chat): at most ``per_sender`` attempts per window,
# reserved with one conditional upsert *before* the receipt is hashed, so simultaneous attempts
# from one chat cannot all slip through; a right receipt gives its reservation back.
# Over all senders: wrong receipts are counted, and above ``global_limit`` in a window every
# further wrong receipt costs its sender a growing wait (PRESSURE_WAIT, doubling per failure).
# Nobody is refused because of what others did: a chat with no recent failure is always heard.
# The arithmetic is in docs/reporter.md.

PRESSURE_WAIT = timedelta(seconds=30)
_TABLE = cast(Table, ReceiptThrottle.__table__)


def throttle_key(salt: bytes, channel: str, external_id: str) -> str:
    return sender_key(salt, channel, external_id, purpose="receipt-throttle")


def _upsert(session: AsyncSession) -> Any:
    return insert_for(session, ReceiptThrottle)


def _at(value: datetime) -> Any:
    return literal(value, type_=UTCDateTime())


async def reserve_attempt(session: AsyncSession, key: str, *, now: datetime, window: timedelta,
                          per_sender: int) -> datetime | None:
    """Reserve one attempt for this sender. None: go ahead (it counts unless refunded);
    otherwise the time from which they may try again. One statement, so it is atomic."""
    t = _TABLE
    expired = t.c.window_start <= now - window
    not_waiting = or_(t.c.blocked_until.is_(None), t.c.blocked_until <= now)
    stmt = _upsert(session).values(key=key, window_start=now, failures=1, blocked_until=None)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"window_start": case((expired, _at(now)), else_=t.c.window_start),
              "failures": case((expired, 1), else_=t.c.failures + 1)},
        where=and_(not_waiting, or_(expired, t.c.failures < per_sender)),
    ).returning(t.c.failures)
    if (await session.execute(stmt)).first() is not None:
        return None
    row = await session.get(ReceiptThrottle, key, populate_existing=True)
    assert row is not None  # the upsert found it and declined
    until = [row.blocked_until] if row.blocked_until is not None and row.blocked_until > now else []
    if row.failures >= per_sender and row.window_start + window > now:
        until.append(row.window_start + window)
    return max(until) if until else now


async def refund_attempt(session: AsyncSession, key: str) -> None:
    """A right receipt does not count against its sender."""
    t = _TABLE
    await session.execute(update(t).where(t.c.key == key, t.c.failures > 0).values(failures=t.c.failures - 1))


async def record_failure(session: AsyncSession, key: str, *, now: datetime, window: timedelta,
                         global_limit: int) -> None:
    """Count a wrong receipt overall; under pressure, its sender waits, longer each time."""
    t = _TABLE
    expired = t.c.window_start <= now - window
    stmt = _upsert(session).values(key=GLOBAL_KEY, window_start=now, failures=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.key],
        set_={"window_start": case((expired, _at(now)), else_=t.c.window_start),
              "failures": case((expired, 1), else_=t.c.failures + 1)},
    ).returning(t.c.failures)
    overall = (await session.execute(stmt)).scalar_one()
    if overall <= global_limit:
        return
    mine = await session.scalar(select(t.c.failures).where(t.c.key == key)) or 1
    wait = min(PRESSURE_WAIT * 2 ** (mine - 1), window)
    await session.execute(update(t).where(t.c.key == key).values(blocked_until=_at(now + wait)))


async def purge_throttles(session: AsyncSession, now: datetime, window: timedelta) -> int:
    """Rows whose window and wait are over say nothing any more: they go."""
    t = _TABLE
    res = await session.execute(delete(t).where(
        t.c.window_start <= now - window, or_(t.c.blocked_until.is_(None), t.c.blocked_until <= now)))
    return int(getattr(res, "rowcount", 0) or 0)
