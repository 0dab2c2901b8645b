"""Receipts: the only key an (anonymous) reporter holds to their tip.

Only argon2id(receipt, installation salt) is stored, so finding a tip costs one slow hash
and one unique-index lookup, never a scan. Wrong receipts are throttled per sender (a keyed
hash of the chat) and globally; the throttled answer never depends on whether a receipt exists.
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

from storage.models import ReceiptThrottle, Tip

RECEIPT_DIGITS = 16
GROUP = 4
# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): slow for guessing, fast enough for one lookup.
ARGON2_MEMORY_KIB = 19456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
ARGON2_HASH_LEN = 32
GLOBAL_KEY = "*"
_SEPARATORS = re.compile(r"[\s\-_.·—–]+")


class ReceiptFormat(Enum):
    ok = "ok"
    not_digits = "not_digits"
    wrong_length = "wrong_length"


def new_receipt() -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(RECEIPT_DIGITS))


def grouped(receipt: str) -> str:
    return " ".join(receipt[i : i + GROUP] for i in range(0, len(receipt), GROUP))


def normalize(typed: str) -> tuple[ReceiptFormat, str]:
    """Spaces and dashes are allowed; full-width digits are folded to ASCII."""
    s = _SEPARATORS.sub("", typed or "")
    s = s.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    if not s or not s.isascii() or not s.isdigit():
        return ReceiptFormat.not_digits, ""
    if len(s) != RECEIPT_DIGITS:
        return ReceiptFormat.wrong_length, ""
    return ReceiptFormat.ok, s


def receipt_hash(receipt: str, salt: bytes) -> str:
    return hash_secret_raw(
        secret=receipt.encode(), salt=salt, time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM, hash_len=ARGON2_HASH_LEN, type=Type.ID,
    ).hex()


async def hash_receipt(receipt: str, salt: bytes) -> str:
    # Off the event loop: argon2id takes tens of milliseconds on purpose.
    return await asyncio.to_thread(receipt_hash, receipt, salt)


async def find_tip(session: AsyncSession, receipt: str, salt: bytes) -> Tip | None:
    h = await hash_receipt(receipt, salt)
    return await session.scalar(select(Tip).where(Tip.receipt_hash == h))


class Throttle:
    def __init__(self, session: AsyncSession, now: datetime, window: timedelta,
                 per_sender: int, global_limit: int) -> None:
        self.session, self.now, self.window = session, now, window
        self.limits = {"sender": per_sender, "global": global_limit}

    async def _row(self, key: str) -> ReceiptThrottle:
        row = await self.session.get(ReceiptThrottle, key)
        if row is None:
            row = ReceiptThrottle(key=key, window_start=self.now, failures=0)
            self.session.add(row)
        elif row.window_start + self.window <= self.now:
            row.window_start, row.failures = self.now, 0
        return row

    async def blocked(self, sender_key: str) -> bool:
        s = await self.session.get(ReceiptThrottle, sender_key)
        g = await self.session.get(ReceiptThrottle, GLOBAL_KEY)
        return any(
            row is not None and row.window_start + self.window > self.now and row.failures >= limit
            for row, limit in ((s, self.limits["sender"]), (g, self.limits["global"]))
        )

    async def failed(self, sender_key: str) -> None:
        for key in (sender_key, GLOBAL_KEY):
            row = await self._row(key)
            row.failures += 1
        await self.session.flush()

    def retry_after(self) -> timedelta:
        return self.window
