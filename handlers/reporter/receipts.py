"""Receipts: the reporter's only key. Shown once; only a slow hash is kept.

argon2id with the installation-wide salt (as GlobaLeaks does), so finding a tip from a receipt
is one hash plus one index lookup, never a scan over tips. Wrong receipts are throttled per
sender and globally, and the throttled answer never reveals whether a receipt exists.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime, timedelta
from enum import Enum

from argon2.low_level import Type, hash_secret_raw
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.identity import sender_key
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


def throttle_key(salt: bytes, channel: str, external_id: str) -> str:
    return sender_key(salt, channel, external_id, purpose="receipt-throttle")


async def _row(session: AsyncSession, key: str, now: datetime, window: timedelta) -> ReceiptThrottle:
    row = await session.get(ReceiptThrottle, key)
    if row is None:
        row = ReceiptThrottle(key=key, window_start=now, failures=0)
        session.add(row)
    elif row.window_start + window <= now:
        row.window_start, row.failures = now, 0
    return row


async def throttled_until(session: AsyncSession, key: str, *, now: datetime, window: timedelta,
                          per_sender: int, global_limit: int) -> datetime | None:
    """When this sender may try again, or None if they may try now."""
    for k, limit in ((key, per_sender), (GLOBAL_KEY, global_limit)):
        row = await session.get(ReceiptThrottle, k)
        if row is not None and row.window_start + window > now and row.failures >= limit:
            return row.window_start + window
    return None


async def record_failure(session: AsyncSession, key: str, *, now: datetime, window: timedelta) -> None:
    for k in (key, GLOBAL_KEY):
        row = await _row(session, k, now, window)
        row.failures += 1
