"""The append-only audit trail: each entry carries the hash of the previous one, so an edited,
inserted or deleted row breaks the chain (:func:`verify`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry

GENESIS = "0" * 64
_LOCK_ID = 0x4C5A4155  # "LZAU": serialises appends on PostgreSQL


def entry_hash(prev_hash: str, at: datetime, actor_staff_id: int | None, actor_label: str, action: str,
               case_id: int | None, detail: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor_staff_id, actor_label, action, case_id, detail],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def append(session: AsyncSession, *, at: datetime, action: str, actor_staff_id: int | None = None,
                 actor_label: str = "", case_id: int | None = None, detail: dict[str, Any] | None = None) -> AuditEntry:
    detail = detail or {}
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    at = at.replace(microsecond=(at.microsecond // 1000) * 1000)  # every backend keeps milliseconds
    entry = AuditEntry(at=at, actor_staff_id=actor_staff_id, actor_label=actor_label, action=action,
                       case_id=case_id, detail=detail, prev_hash=prev,
                       hash=entry_hash(prev, at, actor_staff_id, actor_label, action, case_id, detail))
    session.add(entry)
    await session.flush()
    return entry


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    head: str = GENESIS  # hash of the newest entry: keep it (with the count) to detect truncation later


async def verify(session: AsyncSession, *, expect_count: int | None = None, expect_head: str | None = None) -> VerifyResult:
    """Walk the chain. The chain alone cannot show that the newest entries were deleted; given a
    count and head saved from an earlier run, that is caught too."""
    prev = GENESIS
    n = 0
    last_id = 0
    seen_head = expect_head is None
    for e in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all():
        n += 1
        if e.prev_hash != prev:
            return VerifyResult(False, n, e.id, f"entry {e.id} does not follow entry {last_id}: an entry is missing or was inserted")
        if e.hash != entry_hash(e.prev_hash, e.at, e.actor_staff_id, e.actor_label, e.action, e.case_id, e.detail):
            return VerifyResult(False, n, e.id, f"entry {e.id} was altered")
        prev, last_id = e.hash, e.id
        seen_head = seen_head or e.hash == expect_head
    if expect_count is not None and n < expect_count:
        return VerifyResult(False, n, None, f"{expect_count - n} of the newest entries are missing (expected at least {expect_count})", prev)
    if not seen_head:
        return VerifyResult(False, n, None, "the entry saved as head is no longer in the trail", prev)
    return VerifyResult(True, n, head=prev)
